// TLSA records (RFC 6698 §2), as the resolver returns their RDATA and as zone files and dig write
// them ("3 1 1 <hex>"), with the names of the fields' values DANE for SMTP uses (RFC 7672).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

// The values RFC 7218 names; other numbers are valid on the wire and simply unusable.
namespace tlsa {
inline constexpr std::uint8_t pkix_ta = 0, pkix_ee = 1, dane_ta = 2, dane_ee = 3;  // usage
inline constexpr std::uint8_t cert = 0, spki = 1;                                  // selector
inline constexpr std::uint8_t full = 0, sha256 = 1, sha512 = 2;                    // matching type
}  // namespace tlsa

struct TlsaRecord {
    std::uint8_t usage = 0;
    std::uint8_t selector = 0;
    std::uint8_t matching_type = 0;
    std::vector<std::uint8_t> data;  // certificate association data
    bool operator==(const TlsaRecord&) const = default;
};

// RDATA: three octets and at least one byte of data; SHA-256 data must be 32 bytes, SHA-512 64.
Parsed<TlsaRecord> parse_tlsa_rdata(std::span<const std::uint8_t> rdata);
// Presentation: three decimal numbers 0-255 and the data in hex, which may be split by whitespace.
Parsed<TlsaRecord> parse_tlsa_text(std::string_view text);

std::vector<std::uint8_t> to_rdata(const TlsaRecord& record);
std::string to_string(const TlsaRecord& record);  // "3 1 1 ABCD..."

// Whether the numbers are ones DANE for SMTP acts on: usage 2 or 3, selector 0 or 1, matching 0-2.
bool dane_usable(const TlsaRecord& record) noexcept;

}  // namespace tierwatch

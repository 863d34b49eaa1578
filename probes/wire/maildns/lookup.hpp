// The DNS questions the mail DNS checks ask and the answers they are fed, as plain values: the
// caller resolves them with whatever client it has (c-ares on the loop, a test's table).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/address.hpp"
#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

enum class MailDnsType : std::uint8_t { txt, a, aaaa, mx, ptr };
std::string_view to_string(MailDnsType type) noexcept;  // "TXT", "A", ...

struct MailDnsQuery {
    std::string name;  // no trailing dot
    MailDnsType type = MailDnsType::txt;
    bool operator==(const MailDnsQuery&) const = default;
};

struct MxHost {
    std::uint16_t preference = 0;
    std::string exchange;  // no trailing dot; "" or "." is a null MX (RFC 7505)
    bool operator==(const MxHost&) const = default;
};

// The answer to one MailDnsQuery. No data is status ok with empty lists.
struct MailDnsAnswer {
    enum class Status : std::uint8_t { ok, nxdomain, error };  // error: SERVFAIL, timeout, refused
    Status status = Status::ok;
    std::vector<TxtStrings> txt;       // TXT
    std::vector<IpAddress> addresses;  // A / AAAA
    std::vector<MxHost> mx;            // MX
    std::vector<std::string> names;    // PTR
    std::string error_detail;          // what failed ("SERVFAIL", "timeout"), for details
    bool authentic = false;            // the resolver's AD bit: it validated the answer (DNSSEC)
};

}  // namespace tierwatch

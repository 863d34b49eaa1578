// DANE for SMTP (RFC 7672, RFC 7671): the TLSA records of _port._tcp.host compared with the
// certificate chain the server presented after STARTTLS, sans-io (DER in, verdict out), and the
// renewal warning: the certificate is due and no record for a next key is published yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probes/mail_domain/reasons.hpp"
#include "probes/wire/maildns/tlsa.hpp"

namespace tierwatch {

using DerCertificate = std::vector<std::uint8_t>;

// What a TLSA record with this selector and matching type holds for `certificate`: the DER itself
// or its SubjectPublicKeyInfo, as is or hashed. nullopt when the DER does not parse or a field is
// a number DANE does not define.
std::optional<std::vector<std::uint8_t>> tlsa_association(const DerCertificate& certificate,
                                                          std::uint8_t selector,
                                                          std::uint8_t matching_type);

struct TlsaMatch {
    std::size_t record = 0;       // index into the records
    std::size_t certificate = 0;  // index into the chain, 0 = the server's own certificate
    bool operator==(const TlsaMatch&) const = default;
};

struct DaneOptions {
    std::chrono::days renewal_window{30};  // warn when the certificate expires within this
};

struct DaneCheck {
    RecordState state = RecordState::ok;
    std::optional<MailDnsReason> reason;  // tlsa_missing, tlsa_mismatch, tlsa_next_key_missing
    std::string detail;
    std::vector<TlsaMatch> matches;
    std::size_t usable_records = 0;                 // usage 2/3, selector 0/1, matching 0/1/2
    std::optional<std::int64_t> seconds_to_expiry;  // of the server's certificate
    bool ok() const noexcept { return state == RecordState::ok; }
};

// Usage 3 (DANE-EE) matches the server's certificate only; usage 2 (DANE-TA) any certificate of
// the chain that the server's certificate chains up to by signature. PKIX usages (0, 1) are not
// for SMTP and are skipped. `chain` is leaf first, as the server sent it.
DaneCheck check_dane(std::span<const TlsaRecord> records, std::span<const DerCertificate> chain,
                     std::chrono::system_clock::time_point now, const DaneOptions& options = {});

}  // namespace tierwatch

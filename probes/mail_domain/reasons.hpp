// The reasons a mail DNS record is not ok, one closed set with a default state each. mail_domain
// reports them per record (its probe succeeds; the records carry the findings); dane judges its
// TLSA records with them and fails its probe with the matching FailureReason (tlsa_missing,
// tlsa_mismatch, dnssec in probes/net/result.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tierwatch {

// How a record fact grades: ok, drift an operator should fix (warning), or mail being refused.
enum class RecordState : std::uint8_t { ok, warning, critical };
std::string_view to_string(RecordState state) noexcept;

enum class MailDnsReason : std::uint8_t {
    dns_error,      // the lookup failed (SERVFAIL, timeout): nothing is known
    no_mx,          // no MX record, or a null MX
    mx_unexpected,  // an MX host outside the configured names
    spf_missing,
    spf_invalid,           // syntax, several records, missing include or redirect target
    spf_too_many_lookups,  // more than 10 DNS-querying terms (or 2 void lookups)
    spf_not_covered,       // an MTA's outbound address gets fail, softfail or neutral
    dmarc_missing,
    dmarc_invalid,
    dkim_missing,
    dkim_invalid,         // the record or its key does not parse
    dkim_revoked,         // empty p=
    dkim_weak_key,        // RSA under 1024 bits
    mta_sts_missing,      // no _mta-sts TXT record
    mta_sts_invalid,      // the TXT record or the policy file does not parse
    mta_sts_fetch,        // the policy could not be fetched over verified HTTPS
    mta_sts_mx_mismatch,  // an MX host matches no mx: pattern of the policy
    tlsrpt_missing,
    tlsrpt_invalid,
    tlsa_missing,           // no TLSA record at _port._tcp.host
    tlsa_mismatch,          // no usable TLSA record matches the presented chain
    tlsa_next_key_missing,  // matches now, but the certificate is due and no record for a next key
    dnssec,                 // require_dnssec and the answer lacks the AD bit
};
inline constexpr std::size_t mail_dns_reason_count = 23;

std::string_view to_string(MailDnsReason reason) noexcept;
std::optional<MailDnsReason> parse_mail_dns_reason(std::string_view name) noexcept;
const std::array<MailDnsReason, mail_dns_reason_count>& all_mail_dns_reasons() noexcept;

// Issue 13's grading: what makes receivers refuse mail now is critical (no MX, an MTA that SPF
// does not cover or a broken SPF evaluation, a DANE mismatch, an enforced MTA-STS policy without
// the MX); record drift is a warning, and so is a record answer that lost its DNSSEC validation
// (senders fall back to unauthenticated delivery; the dane check's own `dnssec` fails its probe).
RecordState default_state(MailDnsReason reason) noexcept;

}  // namespace tierwatch

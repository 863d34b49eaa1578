// The per-record verdicts of a mail domain: one fact per record (mx, spf, dmarc, dkim:<selector>,
// mta_sts, tls_rpt), each ok, warning or critical with a failure reason and a detail saying what
// exactly is wrong. What the prober reports, the status panel shows and the JSON carries. The
// judges are sans-io: they take the DNS answers (and the fetched MTA-STS policy) as plain values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/mail_domain/reasons.hpp"
#include "probes/wire/maildns/address.hpp"
#include "probes/wire/maildns/lookup.hpp"
#include "probes/wire/maildns/spf.hpp"

namespace tierwatch {

enum class RecordKind : std::uint8_t { mx, spf, dmarc, dkim, mta_sts, tls_rpt };
std::string_view to_string(RecordKind kind) noexcept;  // "mx", "spf", ... "tls_rpt"

struct RecordVerdict {
    RecordKind kind = RecordKind::mx;
    std::string selector;  // dkim only
    RecordState state = RecordState::ok;
    std::optional<MailDnsReason> reason;  // set unless ok
    std::string detail;

    std::string name() const;  // "spf", "dkim:s2024"
    bool ok() const noexcept { return state == RecordState::ok; }
};

struct DomainVerdict {
    std::string domain;
    std::vector<RecordVerdict> records;  // in the order above, one per configured DKIM selector
    RecordState worst() const noexcept;
};

// MX: present, not a null MX, and (when `expected` is not empty) every host one of the expected
// names (case-insensitive, trailing dots ignored).
RecordVerdict judge_mx(const MailDnsAnswer& mx, std::span<const std::string> expected = {});

// SPF: one evaluation per MTA outbound address, each of which must pass. An empty list is ok
// when the record evaluates (the caller evaluates a documentation address to check syntax and
// lookups, and passes `coverage_required = false`).
struct SpfCoverage {
    IpAddress address;
    SpfResult result;
};
RecordVerdict judge_spf(std::span<const SpfCoverage> coverage, bool coverage_required = true);

// DMARC: the TXT answer at _dmarc.<domain>.
RecordVerdict judge_dmarc(const MailDnsAnswer& txt);

// DKIM: the TXT answer at <selector>._domainkey.<domain>; the key parsed and sized.
RecordVerdict judge_dkim(std::string_view selector, const MailDnsAnswer& txt);

// MTA-STS: the _mta-sts TXT answer, the policy fetch (body, or why it failed) and the domain's MX
// hosts, each of which must match a policy pattern (critical when the mode is enforce).
struct MtaStsFetch {
    bool fetched = false;  // false: `error` says why (status, TLS verification, size, timeout)
    std::string body;
    std::string error;
};
RecordVerdict judge_mta_sts(const MailDnsAnswer& txt, const std::optional<MtaStsFetch>& policy,
                            std::span<const MxHost> mx);

// TLS-RPT: the TXT answer at _smtp._tls.<domain>.
RecordVerdict judge_tls_rpt(const MailDnsAnswer& txt);

}  // namespace tierwatch

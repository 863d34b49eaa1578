// Per-record verdicts of a mail domain (see verdict.hpp).
#include "probes/mail_domain/verdict.hpp"

#include <algorithm>

#include "probes/mail_domain/dkim_key.hpp"
#include "probes/wire/maildns/dkim.hpp"
#include "probes/wire/maildns/dmarc.hpp"
#include "probes/wire/maildns/mta_sts.hpp"
#include "probes/wire/maildns/tlsrpt.hpp"

namespace tierwatch {

namespace {

RecordVerdict ok(RecordKind kind, std::string detail) {
    return RecordVerdict{kind, {}, RecordState::ok, std::nullopt, std::move(detail)};
}

RecordVerdict failed(RecordKind kind, MailDnsReason reason, std::string detail) {
    return RecordVerdict{kind, {}, default_state(reason), reason, std::move(detail)};
}

std::string failure_text(const MailDnsAnswer& answer) {
    return answer.error_detail.empty() ? std::string("the lookup failed")
                                       : "the lookup failed: " + answer.error_detail;
}

std::string_view strip_dot(std::string_view name) {
    while (name.ends_with('.')) name.remove_suffix(1);
    return name;
}

// The one record of a tag-list TXT set that starts with `version`, parsed; a verdict instead when
// the lookup failed, none is published, several are, or it does not parse.
template <class Record, class Parse>
std::optional<RecordVerdict> single_record(RecordKind kind, const MailDnsAnswer& txt,
                                           std::string_view version, MailDnsReason missing,
                                           MailDnsReason invalid, Parse parse, Record& record) {
    if (txt.status == MailDnsAnswer::Status::error)
        return failed(kind, MailDnsReason::dns_error, failure_text(txt));
    const std::vector<std::string> records = txt.status == MailDnsAnswer::Status::nxdomain
                                                 ? std::vector<std::string>()
                                                 : records_with_version(txt.txt, version);
    if (records.empty()) {
        return failed(kind, missing,
                      txt.status == MailDnsAnswer::Status::nxdomain
                          ? "the name does not exist"
                          : "no TXT record starts with " + std::string(version));
    }
    if (records.size() > 1) {
        return failed(kind, invalid,
                      std::to_string(records.size()) + " records start with " +
                          std::string(version) + "; there must be one");
    }
    Parsed<Record> parsed = parse(records.front());
    if (!parsed.ok()) return failed(kind, invalid, parsed.error);
    record = std::move(parsed.value);
    return std::nullopt;
}

}  // namespace

std::string_view to_string(RecordKind kind) noexcept {
    switch (kind) {
        case RecordKind::mx:
            return "mx";
        case RecordKind::spf:
            return "spf";
        case RecordKind::dmarc:
            return "dmarc";
        case RecordKind::dkim:
            return "dkim";
        case RecordKind::mta_sts:
            return "mta_sts";
        case RecordKind::tls_rpt:
            return "tls_rpt";
    }
    return "?";
}

std::string RecordVerdict::name() const {
    std::string out(to_string(kind));
    if (kind == RecordKind::dkim) out += ':' + selector;
    return out;
}

RecordState DomainVerdict::worst() const noexcept {
    RecordState state = RecordState::ok;
    for (const RecordVerdict& record : records) state = std::max(state, record.state);
    return state;
}

RecordVerdict judge_mx(const MailDnsAnswer& mx, std::span<const std::string> expected) {
    if (mx.status == MailDnsAnswer::Status::error)
        return failed(RecordKind::mx, MailDnsReason::dns_error, failure_text(mx));
    if (mx.status == MailDnsAnswer::Status::nxdomain)
        return failed(RecordKind::mx, MailDnsReason::no_mx, "the domain does not exist");
    if (mx.mx.empty()) return failed(RecordKind::mx, MailDnsReason::no_mx, "no MX record");
    std::vector<MxHost> hosts = mx.mx;
    std::sort(hosts.begin(), hosts.end(), [](const MxHost& a, const MxHost& b) {
        return a.preference != b.preference ? a.preference < b.preference : a.exchange < b.exchange;
    });
    std::string listed;
    for (const MxHost& host : hosts) {
        if (strip_dot(host.exchange).empty()) {
            return failed(RecordKind::mx, MailDnsReason::no_mx,
                          "a null MX (RFC 7505): the domain accepts no mail");
        }
        if (!listed.empty()) listed += ", ";
        listed += std::to_string(host.preference) + ' ' + std::string(strip_dot(host.exchange));
        const bool known =
            expected.empty() ||
            std::any_of(expected.begin(), expected.end(), [&](const std::string& name) {
                return iequals(strip_dot(name), strip_dot(host.exchange));
            });
        if (!known) {
            return failed(RecordKind::mx, MailDnsReason::mx_unexpected,
                          std::string(strip_dot(host.exchange)) + " (preference " +
                              std::to_string(host.preference) +
                              ") is not one of the expected MX hosts");
        }
    }
    return ok(RecordKind::mx, listed);
}

RecordVerdict judge_spf(std::span<const SpfCoverage> coverage, bool coverage_required) {
    if (coverage.empty()) return ok(RecordKind::spf, "no outbound address to check");
    std::string covered;
    for (const SpfCoverage& entry : coverage) {
        const SpfResult& r = entry.result;
        const std::string address = to_string(entry.address);
        switch (r.problem) {
            case SpfProblem::none:
                break;
            case SpfProblem::no_record:
                return failed(RecordKind::spf, MailDnsReason::spf_missing, r.detail);
            case SpfProblem::dns_error:
                return failed(RecordKind::spf, MailDnsReason::dns_error, r.detail);
            case SpfProblem::too_many_lookups:
            case SpfProblem::too_many_void_lookups:
                return failed(RecordKind::spf, MailDnsReason::spf_too_many_lookups, r.detail);
            default:
                return failed(RecordKind::spf, MailDnsReason::spf_invalid, r.detail);
        }
        if (coverage_required && r.verdict != SpfVerdict::pass) {
            return failed(RecordKind::spf, MailDnsReason::spf_not_covered,
                          address + " is not covered (" + std::string(to_string(r.verdict)) +
                              "): " + r.detail);
        }
        if (!covered.empty()) covered += "; ";
        covered += coverage_required ? address + " by " + r.mechanism + " in " + r.domain
                                     : "evaluates in " + std::to_string(r.lookups) + " DNS lookups";
    }
    return ok(RecordKind::spf, coverage_required ? "covers " + covered : covered);
}

RecordVerdict judge_dmarc(const MailDnsAnswer& txt) {
    DmarcRecord record;
    if (auto verdict =
            single_record(RecordKind::dmarc, txt, "v=DMARC1", MailDnsReason::dmarc_missing,
                          MailDnsReason::dmarc_invalid, parse_dmarc, record)) {
        return *verdict;
    }
    std::string detail = "p=" + std::string(to_string(record.policy));
    if (record.subdomain_policy)
        detail += " sp=" + std::string(to_string(*record.subdomain_policy));
    if (record.percent != 100) detail += " pct=" + std::to_string(record.percent);
    return ok(RecordKind::dmarc, detail);
}

RecordVerdict judge_dkim(std::string_view selector, const MailDnsAnswer& txt) {
    auto with_selector = [&](RecordVerdict verdict) {
        verdict.selector = std::string(selector);
        return verdict;
    };
    if (txt.status == MailDnsAnswer::Status::error) {
        return with_selector(failed(RecordKind::dkim, MailDnsReason::dns_error, failure_text(txt)));
    }
    if (txt.status == MailDnsAnswer::Status::nxdomain || txt.txt.empty()) {
        return with_selector(failed(RecordKind::dkim, MailDnsReason::dkim_missing,
                                    "no key record at " + std::string(selector) + "._domainkey"));
    }
    if (txt.txt.size() > 1) {
        return with_selector(
            failed(RecordKind::dkim, MailDnsReason::dkim_invalid,
                   std::to_string(txt.txt.size()) + " TXT records; there must be one"));
    }
    const Parsed<DkimKeyRecord> parsed = parse_dkim_key(join_txt(txt.txt.front()));
    if (!parsed.ok())
        return with_selector(failed(RecordKind::dkim, MailDnsReason::dkim_invalid, parsed.error));
    const DkimKeyCheck check = check_dkim_key(parsed.value);
    switch (check.strength) {
        case DkimKeyStrength::ok:
            return with_selector(
                ok(RecordKind::dkim,
                   check.detail + (parsed.value.testing() ? ", testing (t=y)" : "")));
        case DkimKeyStrength::weak:
            return with_selector(
                failed(RecordKind::dkim, MailDnsReason::dkim_weak_key, check.detail));
        case DkimKeyStrength::revoked:
            return with_selector(
                failed(RecordKind::dkim, MailDnsReason::dkim_revoked, check.detail));
        case DkimKeyStrength::unparsable:
            break;
    }
    return with_selector(failed(RecordKind::dkim, MailDnsReason::dkim_invalid, check.detail));
}

RecordVerdict judge_mta_sts(const MailDnsAnswer& txt, const std::optional<MtaStsFetch>& policy,
                            std::span<const MxHost> mx) {
    MtaStsTxt record;
    if (auto verdict =
            single_record(RecordKind::mta_sts, txt, "v=STSv1", MailDnsReason::mta_sts_missing,
                          MailDnsReason::mta_sts_invalid, parse_mta_sts_txt, record)) {
        return *verdict;
    }
    if (!policy)
        return failed(RecordKind::mta_sts, MailDnsReason::mta_sts_fetch,
                      "the policy was not fetched");
    if (!policy->fetched)
        return failed(RecordKind::mta_sts, MailDnsReason::mta_sts_fetch, policy->error);
    const Parsed<MtaStsPolicy> parsed = parse_mta_sts_policy(policy->body);
    if (!parsed.ok())
        return failed(RecordKind::mta_sts, MailDnsReason::mta_sts_invalid,
                      "policy: " + parsed.error);
    const MtaStsPolicy& p = parsed.value;
    const std::string summary = "id " + record.id + ", mode " + std::string(to_string(p.mode)) +
                                ", max_age " + std::to_string(p.max_age);
    if (p.mode != MtaStsMode::none) {
        for (const MxHost& host : mx) {
            const bool matched = std::any_of(
                p.mx.begin(), p.mx.end(),
                [&](const std::string& pattern) { return mx_matches(pattern, host.exchange); });
            if (matched) continue;
            RecordVerdict verdict =
                failed(RecordKind::mta_sts, MailDnsReason::mta_sts_mx_mismatch,
                       "MX " + std::string(strip_dot(host.exchange)) +
                           " matches no mx: pattern of the policy (" + summary + ")");
            // Only an enforced policy makes senders refuse the MX; testing only reports it.
            if (p.mode == MtaStsMode::testing) verdict.state = RecordState::warning;
            return verdict;
        }
    }
    return ok(RecordKind::mta_sts, summary);
}

RecordVerdict judge_tls_rpt(const MailDnsAnswer& txt) {
    TlsRptRecord record;
    if (auto verdict =
            single_record(RecordKind::tls_rpt, txt, "v=TLSRPTv1", MailDnsReason::tlsrpt_missing,
                          MailDnsReason::tlsrpt_invalid, parse_tlsrpt, record)) {
        return *verdict;
    }
    std::string detail = "rua=";
    for (std::size_t i = 0; i < record.rua.size(); ++i) detail += (i ? "," : "") + record.rua[i];
    return ok(RecordKind::tls_rpt, detail);
}

}  // namespace tierwatch

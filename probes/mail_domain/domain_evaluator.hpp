// The whole mail_domain check as one sans-io state machine: it names each DNS lookup (and the one
// HTTPS fetch of the MTA-STS policy) it needs, is fed the answers, and ends with the domain's
// per-record verdicts. The prober only resolves and fetches:
//   MailDomainEvaluator e(settings);
//   while (e.need() != MailDomainEvaluator::Need::done) {
//       if (e.need() == Need::dns) e.feed(co_await resolve(e.query()));
//       else e.feed_policy(co_await fetch(e.policy_url()));
//   }
//   e.verdict();
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/mail_domain/settings/mail_domain_settings.hpp"
#include "probes/mail_domain/verdict.hpp"
#include "probes/wire/maildns/spf.hpp"

namespace tierwatch {


class MailDomainEvaluator {
public:
    enum class Need : std::uint8_t { dns, policy, done };

    explicit MailDomainEvaluator(MailDomainSettings settings);

    Need need() const noexcept { return need_; }
    const MailDnsQuery& query() const noexcept { return query_; }       // when need() is dns
    std::string policy_url() const;                                     // when need() is policy
    void feed(const MailDnsAnswer& answer);                             // answers query()
    void feed_policy(const MtaStsFetch& fetch);                         // answers policy_url()
    const DomainVerdict& verdict() const noexcept { return verdict_; }  // once done

private:
    enum class Step : std::uint8_t { mx, spf, dmarc, dkim, mta_sts, mta_sts_policy, tls_rpt, done };

    void enter(Step step);  // sets up the step's first query, skipping steps with nothing to do
    void ask(std::string name, MailDnsType type);
    void start_spf();
    // Adds a record's verdict, judged from the answer for `name` (require_dnssec applied).
    void add(RecordVerdict verdict, const MailDnsAnswer& answer, const std::string& name);
    IpAddress spf_address() const;

    MailDomainSettings settings_;
    Need need_ = Need::dns;
    Step step_ = Step::mx;
    std::size_t index_ = 0;  // the SPF address or DKIM selector in hand
    MailDnsQuery query_;
    std::optional<SpfEvaluator> spf_;
    std::vector<SpfCoverage> coverage_;
    std::vector<MxHost> mx_;
    MailDnsAnswer mta_sts_txt_;
    MailDnsAnswer spf_txt_;  // the domain's own TXT answer, for require_dnssec
    DomainVerdict verdict_;
};

}  // namespace tierwatch

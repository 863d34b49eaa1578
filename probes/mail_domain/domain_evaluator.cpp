// The mail_domain check as one sans-io state machine (see domain_evaluator.hpp).
#include "probes/mail_domain/domain_evaluator.hpp"

#include <algorithm>
#include <utility>

#include "probes/wire/maildns/dkim.hpp"

namespace tierwatch {

MailDomainEvaluator::MailDomainEvaluator(MailDomainSettings settings)
    : settings_(std::move(settings)) {
    while (settings_.domain.ends_with('.')) settings_.domain.pop_back();
    verdict_.domain = settings_.domain;
    enter(Step::mx);
}

std::string MailDomainEvaluator::policy_url() const {
    return "https://mta-sts." + settings_.domain + "/.well-known/mta-sts.txt";
}

void MailDomainEvaluator::ask(std::string name, MailDnsType type) {
    query_ = MailDnsQuery{std::move(name), type};
    need_ = Need::dns;
}

// With no outbound address configured, SPF is still evaluated (syntax, includes, lookup count)
// for a documentation address (RFC 5737) whose coverage nobody expects.
IpAddress MailDomainEvaluator::spf_address() const {
    return settings_.outbound.empty() ? IpAddress{false, {192, 0, 2, 0}}
                                      : settings_.outbound[index_];
}

void MailDomainEvaluator::start_spf() {
    spf_.emplace(settings_.domain, spf_address());
    ask(spf_->query().name, spf_->query().type);
}

// With require_dnssec a record the resolver did not validate is `dnssec` whatever it says: a
// forged answer looks the same. A record already wrong keeps its own reason, with the note added;
// a failed lookup (dns_error) says nothing about signatures.
void MailDomainEvaluator::add(RecordVerdict verdict, const MailDnsAnswer& answer, const std::string& name) {
    if (settings_.require_dnssec && !answer.authentic && answer.status != MailDnsAnswer::Status::error) {
        const std::string why = "the answer for " + name + " is not DNSSEC-validated (no AD bit from the resolver)";
        if (verdict.ok()) {
            verdict.reason = MailDnsReason::dnssec;
            verdict.detail = why;
        } else {
            verdict.detail += "; " + why;
        }
        verdict.state = std::max(verdict.state, default_state(MailDnsReason::dnssec));
    }
    verdict_.records.push_back(std::move(verdict));
}

void MailDomainEvaluator::enter(Step step) {
    step_ = step;
    index_ = 0;
    switch (step) {
        case Step::mx:
            ask(settings_.domain, MailDnsType::mx);
            return;
        case Step::spf:
            start_spf();
            return;
        case Step::dmarc:
            ask("_dmarc." + settings_.domain, MailDnsType::txt);
            return;
        case Step::dkim:
            if (settings_.dkim_selectors.empty()) return enter(Step::mta_sts);
            ask(dkim_key_name(settings_.dkim_selectors.front(), settings_.domain),
                MailDnsType::txt);
            return;
        case Step::mta_sts:
            if (!settings_.mta_sts) return enter(Step::tls_rpt);
            ask("_mta-sts." + settings_.domain, MailDnsType::txt);
            return;
        case Step::mta_sts_policy:
            need_ = Need::policy;
            return;
        case Step::tls_rpt:
            if (!settings_.tls_rpt) return enter(Step::done);
            ask("_smtp._tls." + settings_.domain, MailDnsType::txt);
            return;
        case Step::done:
            need_ = Need::done;
            return;
    }
}

void MailDomainEvaluator::feed(const MailDnsAnswer& answer) {
    if (need_ != Need::dns) return;
    switch (step_) {
        case Step::mx:
            mx_ = answer.status == MailDnsAnswer::Status::ok ? answer.mx : std::vector<MxHost>();
            add(judge_mx(answer, settings_.expected_mx), answer, query_.name);
            return enter(Step::spf);
        case Step::spf:
            if (query_.name == settings_.domain && query_.type == MailDnsType::txt) spf_txt_ = answer;
            spf_->feed(answer);
            if (!spf_->done()) return ask(spf_->query().name, spf_->query().type);
            coverage_.push_back(SpfCoverage{spf_address(), spf_->result()});
            if (++index_ < settings_.outbound.size()) {
                spf_.emplace(settings_.domain, spf_address());
                return ask(spf_->query().name, spf_->query().type);
            }
            add(judge_spf(coverage_, !settings_.outbound.empty()), spf_txt_, settings_.domain);
            return enter(Step::dmarc);
        case Step::dmarc:
            add(judge_dmarc(answer), answer, query_.name);
            return enter(Step::dkim);
        case Step::dkim:
            add(judge_dkim(settings_.dkim_selectors[index_], answer), answer, query_.name);
            if (++index_ < settings_.dkim_selectors.size()) {
                return ask(dkim_key_name(settings_.dkim_selectors[index_], settings_.domain),
                           MailDnsType::txt);
            }
            return enter(Step::mta_sts);
        case Step::mta_sts: {
            mta_sts_txt_ = answer;
            // Judged without a policy, a sound TXT record only lacks the fetch: go and fetch it.
            RecordVerdict alone = judge_mta_sts(answer, std::nullopt, mx_);
            if (alone.reason == MailDnsReason::mta_sts_fetch) return enter(Step::mta_sts_policy);
            add(std::move(alone), answer, query_.name);
            return enter(Step::tls_rpt);
        }
        case Step::tls_rpt:
            add(judge_tls_rpt(answer), answer, query_.name);
            return enter(Step::done);
        case Step::mta_sts_policy:
        case Step::done:
            return;
    }
}

void MailDomainEvaluator::feed_policy(const MtaStsFetch& fetch) {
    if (need_ != Need::policy) return;
    add(judge_mta_sts(mta_sts_txt_, fetch, mx_), mta_sts_txt_, "_mta-sts." + settings_.domain);
    enter(Step::tls_rpt);
}

}  // namespace tierwatch

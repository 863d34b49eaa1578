// The mail_domain prober: drives MailDomainEvaluator (domain_evaluator.hpp) with the c-ares
// client on [daemon] nameservers and one HTTPS fetch of the MTA-STS policy, all under the
// probe's one deadline, and reports one state measurement per record. The lookups whose names
// the settings fix are asked together; every answer is kept for the probe, so the SPF
// evaluation of each further MTA costs no query.
//
// One probe per domain, not per node: the records belong to the domain, so probing them once per
// MTA would only repeat the same queries. The target is carried by the first node of the check's
// roles (every output places a target on a node or an NLB) and named by the domain; the nodes of
// the roles are the MTAs whose outbound addresses SPF must cover (the settings' `outbound`,
// filled at load).
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <vector>

#include "probes/mail_domain/settings/mail_domain_settings.hpp"
#include "probes/mail_domain/verdict.hpp"
#include "probes/net/dns_client.hpp"
#include "probes/net/probe.hpp"

namespace tierwatch {

// One value per record (label `record`: mx, spf, dmarc, dkim:<selector>, mta_sts, tls_rpt), the
// record's state: 0 ok, 1 warning (drift to fix), 2 critical (receivers refuse mail). The
// result's detail names each record that is not ok, its failure reason and what is wrong.
inline constexpr MeasurementKind mail_domain_record_measurement{
    "mail_domain_record", MeasurementUnit::state, "record", "tierwatch_mail_domain_record_state",
    "The state of each mail DNS record of the domain: 0 ok, 1 warning, 2 critical (mail_domain).",
    "mail record", "", "mail record", nullptr, false};
inline constexpr std::array<const MeasurementKind*, 1> mail_domain_measurements{&mail_domain_record_measurement};

// The probe's result is a failure only when the evaluation itself cannot run; a record's state,
// however bad, is a measurement graded by its value.
boost::asio::awaitable<ProbeResult> probe_mail_domain(const ProbeRequest& target, const MailDomainSettings& settings, ProbeContext& context);

// ---- sans-io -------------------------------------------------------------------------------

// The questions whose names the settings alone fix (MX, the domain's TXT where SPF starts, DMARC,
// each DKIM key, MTA-STS, TLS-RPT): the prober asks them all at once before the evaluator, whose
// SPF includes depend on answers, asks for them one by one.
std::vector<MailDnsQuery> independent_queries(const MailDomainSettings& settings);

// The c-ares client's answer as the evaluator's plain value: a client error (timeout) or an
// rcode other than NOERROR and NXDOMAIN is `error` with its name; the records of `type`.
MailDnsAnswer mail_dns_answer(const DnsAnswer& answer, MailDnsType type);
DnsType dns_type(MailDnsType type) noexcept;

// The verdict as the result's measurements (one per record, in order) and detail: each record
// that is not ok as "<record> <reason>: <what is wrong>", joined by "; ".
void report_verdict(const DomainVerdict& verdict, ProbeResult& result);

}  // namespace tierwatch

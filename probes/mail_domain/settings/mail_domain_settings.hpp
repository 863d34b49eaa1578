// The mail_domain protocol's typed settings and their reader: the domain whose mail DNS records
// are judged, the DKIM selectors, the expected MX names and which optional records to check. The
// configuration core hands a mail_domain check's table to read_mail_domain_settings() and fills
// `outbound` from the nodes of the check's roles; the prober (probes/mail_domain) reads the
// result. Plain values, no network code.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/protocol/protocols.hpp"
#include "probes/wire/maildns/address.hpp"

namespace tierwatch {

class Section;

struct MailDomainSettings {
    std::string domain;                       // without a trailing dot
    std::vector<IpAddress> outbound;          // every MTA's outbound address: SPF must cover each
    std::vector<std::string> dkim_selectors;  // one dkim:<selector> verdict each
    std::vector<std::string> expected_mx;     // empty: any MX host is fine
    bool mta_sts = true;                      // check MTA-STS (TXT and the policy over HTTPS)
    bool tls_rpt = true;                      // check the TLS-RPT record
    // Every record's answer must carry the AD bit (a validating resolver proved it signed). Off
    // by default: most mail domains are unsigned, and MTA-STS exists for them.
    bool require_dnssec = false;
};

// The keys read_mail_domain_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> mail_domain_settings_keys() noexcept;
// Refuses, for any protocol but mail_domain, a mail_domain key it would ignore.
void reject_foreign_mail_domain_keys(const Section& s, Protocol protocol);
// A mail_domain check's settings: `domain` is required; `dkim_selectors` and `expected_mx` are
// lists of DNS names without repeats; `mta_sts` and `tls_rpt` default to true, `require_dnssec`
// (read here, refused on other protocols by the core) to false. `outbound` is
// left empty (the core fills it).
MailDomainSettings read_mail_domain_settings(const Section& s);

}  // namespace tierwatch

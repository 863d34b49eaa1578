// Reads the mail_domain protocol's keys of a check (see mail_domain_settings.hpp).
#include "probes/mail_domain/settings/mail_domain_settings.hpp"

#include <algorithm>
#include <array>

#include "config/toml/section.hpp"
#include "probes/wire/dns_message.hpp"
#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

namespace {

using detail::in_quotes;

constexpr std::array<std::string_view, 5> mail_domain_only_keys{"domain", "dkim_selectors", "expected_mx",
                                                                "mta_sts", "tls_rpt"};

std::string without_trailing_dot(std::string name) {
    if (name.ends_with('.')) name.pop_back();
    return name;
}

// The longest name put in front of the domain: "_smtp._tls." (TLS-RPT).
constexpr std::size_t longest_domain_prefix = 11;

// A list of DNS names (each checked, a trailing dot dropped, lower-cased), refusing a name given
// twice. `suffix` is what the name is queried under (a DKIM selector's "._domainkey.<domain>").
std::vector<std::string> read_names(const Section& s, std::string_view key, std::string_view suffix = {}) {
    const std::string quoted_key = in_quotes(key);
    auto names = s.get_list<std::string>(key, [&](const std::string& name) {
        const std::string problem =
            suffix.empty() ? dns_name_problem(name) : dns_name_problem(name + std::string(suffix));
        return problem.empty() ? problem : quoted_key + " entry " + in_quotes(name) + ": " + problem;
    });
    std::vector<std::string> out;
    if (!names) return out;
    for (auto& name : *names) {
        std::string bare = to_lower(without_trailing_dot(std::move(name)));
        if (std::find(out.begin(), out.end(), bare) != out.end()) {
            s.fail(key, quoted_key + " lists " + in_quotes(bare) + " twice");
        }
        out.push_back(std::move(bare));
    }
    return out;
}

}  // namespace

std::span<const std::string_view> mail_domain_settings_keys() noexcept { return mail_domain_only_keys; }

void reject_foreign_mail_domain_keys(const Section& s, Protocol protocol) {
    if (protocol != Protocol::mail_domain) {
        s.reject_keys_for(mail_domain_only_keys, "protocol mail_domain", to_string(protocol));
    }
}

MailDomainSettings read_mail_domain_settings(const Section& s) {
    MailDomainSettings settings;
    if (s.has("nlbs")) {
        s.fail("nlbs", "\"nlbs\" does not apply to protocol \"mail_domain\": its \"roles\" name the MTAs whose "
                       "outbound addresses SPF must cover");
    }
    const auto domain = s.get<std::string>("domain", [](const std::string& name) {
        const std::string problem = dns_name_problem(name, longest_domain_prefix);
        return problem.empty() ? problem : "\"domain\": " + problem;
    });
    if (!domain) s.fail("a mail_domain check needs \"domain\": the mail domain whose records it judges, e.g. \"example.com\"");
    settings.domain = to_lower(without_trailing_dot(*domain));
    settings.dkim_selectors = read_names(s, "dkim_selectors", "._domainkey." + settings.domain);
    settings.expected_mx = read_names(s, "expected_mx");
    settings.mta_sts = s.flag("mta_sts").value_or(settings.mta_sts);
    settings.tls_rpt = s.flag("tls_rpt").value_or(settings.tls_rpt);
    settings.require_dnssec = s.flag("require_dnssec").value_or(settings.require_dnssec);
    return settings;
}

}  // namespace tierwatch

// Loads tierwatch's TOML configuration into validated structs, naming file:line:column for every error.
#include "config/config.hpp"

#include "config/alerting.hpp"
#include "config/toml/section.hpp"
#include "probes/dane/settings/dane_settings.hpp"
#include "probes/dnsbl/settings/dnsbl_settings.hpp"
#include "probes/fcrdns/settings/fcrdns_settings.hpp"
#include "probes/mail_domain/settings/mail_domain_settings.hpp"
#include "probes/wire/maildns/address.hpp"
#include "probes/http/settings/http_settings.hpp"
#include "probes/ldap/settings/ldap_settings.hpp"
#include "probes/mail/settings/mail_settings.hpp"
#include "probes/roundtrip/settings/roundtrip_settings.hpp"
#include "probes/tcp/settings/tcp_settings.hpp"



#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <toml++/toml.h>
#include <utility>

namespace tierwatch {

namespace {

// Protocols the spec promises for later; named so such a config is refused plainly, not as a typo.
constexpr std::array<std::string_view, 0> planned_protocols{};

// The alerting sections (group, tiers, pager, maintenance, flapping) are read by parse_alerting().
constexpr std::array<std::string_view, 10> top_level_keys{
    "daemon", "defaults", "node", "nlb", "check", "group", "tiers", "pager", "maintenance", "flapping",
};
constexpr std::array<std::string_view, 10> daemon_keys{
    "listen", "state_dir", "max_in_flight", "per_host_max_in_flight", "dns_refresh", "nameservers", "log_level",
    "api_token_file", "tls_cert_file", "tls_key_file",
};
constexpr std::array<std::string_view, 11> defaults_keys{
    "interval",  "timeout",    "rise",         "fall",            "ca_file",          "cert_warning",
    "cert_critical", "tls_resume", "cert_refresh", "latency_warning", "latency_critical",
};
constexpr std::array<std::string_view, 6> node_keys{"name", "role", "zone", "address", "fqdn", "public_address"};
constexpr std::array<std::string_view, 2> nlb_keys{"name", "fqdn"};

// Keys meaningful only for some protocols; setting one elsewhere would be silently ignored.
constexpr std::array<std::string_view, 8> tls_only_keys{
    "ca_file", "tls_verify", "tls_verify_hostname", "tls_server_name",
    "tls_resume", "cert_refresh", "cert_warning", "cert_critical",
};
constexpr std::array<std::string_view, 1> starttls_only_keys{"starttls"};
// Read by the dane and mail_domain settings readers, each with its own default.
constexpr std::array<std::string_view, 1> dnssec_only_keys{"require_dnssec"};
// A dane check judges the chain by its TLSA records, never by a CA (RFC 7672 §3.1.1: DANE-EE
// ignores names and expiry), and must see the chain on every probe, so nothing is resumed.
constexpr std::array<std::string_view, 4> dane_decides_keys{"ca_file", "tls_verify", "tls_verify_hostname",
                                                            "tls_resume"};
constexpr std::array<std::string_view, 13> check_common_keys{
    "name", "protocol", "port", "roles", "nlbs", "interval", "timeout", "rise", "fall",
    "latency_warning", "latency_critical", "username", "password_file",
};

constexpr std::array<std::string_view, 7> log_levels{"trace", "debug", "info", "warn", "error", "critical", "off"};

constexpr std::size_t max_password_bytes = 64 * 1024;

using detail::did_you_mean;
using detail::in_quotes;
using detail::joined;
using detail::contains;

// True when `text` is host:port or [v6]:port with a port in 1..65535.
bool is_host_port(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) {
            return false;  // brackets are for IPv6 literals only
        }
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return false;  // an IPv6 literal must be bracketed, or its port is ambiguous
        }
    }
    const auto bad_host_char = [](char c) { return c == ' ' || c == '\t' || c == '[' || c == ']' || c == '/'; };
    if (host.empty() || std::any_of(host.begin(), host.end(), bad_host_char)) {
        return false;
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    return ec == std::errc{} && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

// TLS settings of a dane check: no CA verification, no name check, no resumed session.
TlsSettings dane_decides(TlsSettings tls) {
    tls.verify = false;
    tls.verify_hostname = false;
    tls.resume = false;
    return tls;
}

// The least interval of the DNS checks (dnsbl, fcrdns, dane, mail_domain) that do not set their own.
constexpr Duration slow_dns_interval = std::chrono::minutes(5);

// An IPv4 or IPv6 address, no port, no zone id (the configuration layer has no Asio).
bool is_ip_literal(const std::string& text) {
    unsigned char storage[16];
    return ::inet_pton(AF_INET, text.c_str(), storage) == 1 || ::inet_pton(AF_INET6, text.c_str(), storage) == 1;
}

// Where a setting's value was written, so a conflict can be reported at the line to change.
template <class T>
struct Sourced {
    T value{};
    std::optional<SourceLocation> set_at;  // nullopt: built-in default
    bool here = false;                     // written in the section being read, not inherited
};

// The settings a check inherits from [defaults] (and [defaults] from the built-in values).
struct Inherited {
    Sourced<Duration> interval;
    Sourced<Duration> timeout;
    Sourced<std::uint32_t> rise;
    Sourced<std::uint32_t> fall;
    Sourced<std::optional<Duration>> latency_warning;
    Sourced<std::optional<Duration>> latency_critical;
    Sourced<Duration> cert_warning;
    Sourced<Duration> cert_critical;
    Sourced<std::filesystem::path> ca_file;
    Sourced<bool> tls_resume;
    Sourced<Duration> cert_refresh;

    // The header's CheckDefaults, written nowhere (so errors fall back to the section reading them).
    static Inherited built_in() {
        const CheckDefaults d;
        return Inherited{
            .interval = {d.interval, std::nullopt, false},
            .timeout = {d.timeout, std::nullopt, false},
            .rise = {d.rise, std::nullopt, false},
            .fall = {d.fall, std::nullopt, false},
            .latency_warning = {d.latency_warning, std::nullopt, false},
            .latency_critical = {d.latency_critical, std::nullopt, false},
            .cert_warning = {d.cert_warning, std::nullopt, false},
            .cert_critical = {d.cert_critical, std::nullopt, false},
            .ca_file = {d.ca_file, std::nullopt, false},
            .tls_resume = {d.tls_resume, std::nullopt, false},
            .cert_refresh = {d.cert_refresh, std::nullopt, false},
        };
    }

    CheckDefaults values() const {
        return CheckDefaults{
            .interval = interval.value,
            .timeout = timeout.value,
            .rise = rise.value,
            .fall = fall.value,
            .ca_file = ca_file.value,
            .cert_warning = cert_warning.value,
            .cert_critical = cert_critical.value,
            .tls_resume = tls_resume.value,
            .cert_refresh = cert_refresh.value,
            .latency_warning = latency_warning.value,
            .latency_critical = latency_critical.value,
        };
    }
};

// Overrides `field` with the section's own value for `key`, read by `reader`, if it has one.
template <class T, class Reader>
void overlay(Sourced<T>& field, const Section& section, std::string_view key, Reader reader) {
    auto value = std::invoke(reader, section, key);
    field.here = value.has_value();
    if (value) {
        field.value = std::move(*value);
        field.set_at = section.where(key);
    }
}

Inherited read_inherited(const Section& section, Inherited in) {
    overlay(in.interval, section, "interval", &Section::duration);
    overlay(in.timeout, section, "timeout", &Section::duration);
    overlay(in.rise, section, "rise", &Section::count);
    overlay(in.fall, section, "fall", &Section::count);
    overlay(in.latency_warning, section, "latency_warning", &Section::duration);
    overlay(in.latency_critical, section, "latency_critical", &Section::duration);
    overlay(in.cert_warning, section, "cert_warning", &Section::duration_or_zero);
    overlay(in.cert_critical, section, "cert_critical", &Section::duration_or_zero);
    overlay(in.ca_file, section, "ca_file", &Section::path);
    overlay(in.tls_resume, section, "tls_resume", &Section::flag);
    overlay(in.cert_refresh, section, "cert_refresh", &Section::duration);
    return in;
}

// Where a conflict between two settings belongs: the one this section wrote itself, else the
// inherited one's origin (a pair inherited whole was already checked where it was written).
template <class A, class B>
SourceLocation conflict_location(const Section& section, const Sourced<A>& a, const Sourced<B>& b) {
    const auto& origin = (a.here || !b.here) ? a.set_at : b.set_at;
    return origin.value_or(section.where());
}

void require_not_above(const Section& section, const Sourced<Duration>& lower, std::string_view lower_key,
                       const Sourced<Duration>& upper, std::string_view upper_key, std::string_view why) {
    if (lower.value > upper.value) {
        throw ConfigError(conflict_location(section, lower, upper),
                          std::string(lower_key) + " " + format_duration(lower.value) + " is above " +
                              std::string(upper_key) + " " + format_duration(upper.value) + std::string(why));
    }
}

void validate_inherited(const Section& section, const Inherited& in) {
    require_not_above(section, in.timeout, "timeout", in.interval, "interval",
                      " (a target must never overlap itself)");
    require_not_above(section, in.cert_critical, "cert_critical", in.cert_warning, "cert_warning",
                      " (critical is the nearer expiry)");
    if (in.latency_warning.value && in.latency_critical.value) {
        const auto unwrap = [](const Sourced<std::optional<Duration>>& s) {
            return Sourced<Duration>{*s.value, s.set_at, s.here};
        };
        require_not_above(section, unwrap(in.latency_warning), "latency_warning", unwrap(in.latency_critical),
                          "latency_critical", "");
    }
}
// Records `name`, or fails at its second occurrence naming the first.
void claim_name(std::map<std::string, SourceLocation, std::less<>>& seen, const Section& section,
                std::string_view kind, const std::string& name) {
    const auto [it, inserted] = seen.emplace(name, section.where("name"));
    if (!inserted) {
        section.fail("name", "duplicate " + std::string(kind) + " name " + in_quotes(name) + " (first defined at " +
                                 it->second.to_string() + ")");
    }
}

// A secret from the file named by `key`, without the final newline editors add; empty when the
// key is absent. An empty file is an error: it is never what the operator meant.
Secret read_secret(const Section& s, std::string_view key) {
    const auto file = s.secret_path(key);
    if (!file) return {};
    std::string secret = read_or_throw(s.where(key), key, *file, max_password_bytes);
    if (secret.ends_with('\n')) {
        secret.pop_back();
        if (secret.ends_with('\r')) secret.pop_back();
    }
    if (secret.empty()) s.fail(key, std::string(key) + " " + in_quotes(file->string()) + " is empty");
    return Secret(std::move(secret));
}

DaemonSettings read_daemon(const Section& s) {
    s.reject_unknown_keys(daemon_keys);
    const auto address_problem = [](std::string_view key) {
        return [key](const std::string& value) {
            return is_host_port(value) ? std::string()
                                       : "invalid address " + in_quotes(value) + " for " + in_quotes(key) +
                                             " (expected host:port or [v6]:port)";
        };
    };
    DaemonSettings d;
    d.listen = s.get<std::string>("listen", address_problem("listen")).value_or(d.listen);
    d.state_dir = s.path("state_dir").value_or(d.state_dir);
    if (const auto max_in_flight = s.count("max_in_flight")) {
        d.max_in_flight = *max_in_flight;
        d.max_in_flight_explicit = true;
    }
    d.per_host_max_in_flight = s.count("per_host_max_in_flight").value_or(d.per_host_max_in_flight);
    d.dns_refresh = s.duration("dns_refresh").value_or(d.dns_refresh);
    d.nameservers = s.get_list<std::string>("nameservers", address_problem("nameservers")).value_or(d.nameservers);
    d.log_level = s.get<std::string>("log_level", [](const std::string& value) {
                       return contains(log_levels, value) ? std::string()
                                                          : "invalid log_level " + in_quotes(value) +
                                                                " (expected one of: " + joined(log_levels) + ")";
                   }).value_or(d.log_level);
    d.api_token = read_secret(s, "api_token_file");
    // Either may be a systemd credential, as LoadCredential= is the usual way to hand over a key pair.
    d.tls_cert_file = s.secret_path("tls_cert_file").value_or("");
    d.tls_key_file = s.secret_path("tls_key_file").value_or("");
    if (d.tls_cert_file.empty() != d.tls_key_file.empty()) {
        s.fail(d.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file",
               "a TLS listener needs both \"tls_cert_file\" and \"tls_key_file\"");
    }
    return d;
}

Node read_node(const Section& s) {
    s.reject_unknown_keys(node_keys);
    Node node;
    node.name = s.required_text("name");
    node.role = s.required_text("role");
    node.zone = s.text("zone").value_or("default");
    node.address = s.required_text("address");
    node.fqdn = s.text("fqdn").value_or("");
    node.public_address = s.get<std::string>("public_address", [](const std::string& value) {
                               return is_ip_literal(value) ? std::string()
                                                           : "invalid \"public_address\" " + in_quotes(value) +
                                                                 " (expected an IPv4 or IPv6 address, no port, no name)";
                           }).value_or("");
    node.where = s.where();
    return node;
}

Nlb read_nlb(const Section& s) {
    s.reject_unknown_keys(nlb_keys);
    Nlb nlb;
    nlb.name = s.required_text("name");
    nlb.fqdn = s.required_text("fqdn");
    nlb.where = s.where();
    return nlb;
}

Protocol read_protocol(const Section& s) {
    const std::string name = s.required_text("protocol");
    if (const ProtocolTraits* found = find_protocol(name)) return found->protocol;
    std::vector<std::string_view> supported;
    for (const auto& entry : all_protocols()) supported.push_back(entry.name);
    if (contains(planned_protocols, name)) {
        s.fail("protocol", "protocol " + in_quotes(name) + " is not supported by this build yet (supported: " +
                               joined(supported) + ")");
    }
    s.fail("protocol", "unknown protocol " + in_quotes(name) + " (expected one of: " + joined(supported) + ")" +
                           did_you_mean(name, supported));
}


// Every node of an ldap_replication check's roles: the probe of each one compares it with the rest.
std::vector<ReplicationMember> replication_members(const Section& s, const Check& check,
                                                   const std::vector<Node>& nodes) {
    std::vector<ReplicationMember> members;
    for (const Node& node : nodes) {
        if (std::find(check.roles.begin(), check.roles.end(), node.role) != check.roles.end()) {
            members.push_back({node.name, node.address, node.fqdn});
        }
    }
    if (members.size() < 2) {
        s.fail("roles", "[[check]] " + in_quotes(check.name) + " (protocol \"ldap_replication\") needs at least two "
                        "nodes in its roles to compare, found " + std::to_string(members.size()));
    }
    return members;
}



using NameSet = std::set<std::string, std::less<>>;

// What a check's roles and nlbs may name: everything the file defines.
struct Targets {
    NameSet roles;
    NameSet nlbs;
};

// A list of names, each one `known` and listed once.
std::vector<std::string> read_references(const Section& s, std::string_view key, std::string_view kind,
                                         const NameSet& known, std::string_view missing_why) {
    NameSet listed;
    return s.get_list<std::string>(key, [&](const std::string& name) {
                if (!known.contains(name)) {
                    return std::string(kind) + " " + in_quotes(name) + " " + std::string(missing_why) +
                           did_you_mean(name, known);
                }
                return listed.insert(name).second ? std::string()
                                                  : std::string(kind) + " " + in_quotes(name) + " is listed twice";
            }).value_or(std::vector<std::string>{});
}

// A round trip's deadline (submit to found in INBOX). A delivery takes far longer than a greeting,
// so [defaults]' timeout is not inherited: the check's own `timeout` when it sets one, else
// latency_critical plus a margin (so a slow delivery is graded critical, not cut off as a
// timeout), else two minutes; never beyond the interval, as a target must not overlap itself.
Duration roundtrip_timeout(const Section& s, const Inherited& in) {
    constexpr Duration margin = std::chrono::seconds(30);
    constexpr Duration without_latency = std::chrono::minutes(2);
    const auto& critical = in.latency_critical.value;
    if (in.timeout.here) {
        if (critical && in.timeout.value <= *critical) {
            s.fail("timeout", "timeout " + format_duration(in.timeout.value) + " is not above latency_critical " +
                                  format_duration(*critical) +
                                  " (a delivery that slow would fail as a timeout instead of being graded)");
        }
        return in.timeout.value;
    }
    // With latency_critical at the interval (the SPEC's 5m and 5m), a delivery that slow is a
    // timeout: critical either way.
    const Duration wanted = critical ? *critical + margin : without_latency;
    return std::min(wanted, in.interval.value);
}

// Where a leg's host leads, now that nodes and NLBs are known: the check's own NLB or one of its
// nodes means "through the target being probed"; any other [[node]] means that node's address;
// anything else is an IP literal or a name for the system resolver, the same for every target.
void resolve_roundtrip_leg(RoundtripLeg& leg, const Check& check, const std::vector<Node>& nodes,
                           const std::vector<Nlb>& nlbs) {
    const auto listed = [](const std::vector<std::string>& names, const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    const auto named = [&](const std::string& name, const std::string& fqdn) {
        return leg.host == name || (!fqdn.empty() && leg.host == fqdn);
    };
    leg.via_target = std::any_of(nlbs.begin(), nlbs.end(), [&](const Nlb& nlb) {
                         return listed(check.nlbs, nlb.name) && named(nlb.name, nlb.fqdn);
                     }) ||
                     std::any_of(nodes.begin(), nodes.end(), [&](const Node& node) {
                         return listed(check.roles, node.role) && named(node.name, node.fqdn);
                     });
    leg.address = leg.host;
    if (leg.via_target) {
        return;
    }
    const auto node = std::find_if(nodes.begin(), nodes.end(),
                                   [&](const Node& candidate) { return named(candidate.name, candidate.fqdn); });
    if (node != nodes.end()) {
        leg.address = node->address;
        if (!node->fqdn.empty()) {
            leg.host = node->fqdn;  // the name its certificate carries
        }
    }
}

// The outbound address (public_address, else address) of every node of the check's roles, in
// node order without repeats: what a mail_domain check's SPF record must cover. A node known only
// by name is refused here rather than resolved per probe: its mail leaves from a public address
// the operator knows, and SPF is about that address, not the one tierwatch reaches it on.
std::vector<IpAddress> outbound_addresses(const Section& s, const Check& check, const std::vector<Node>& nodes) {
    std::vector<IpAddress> out;
    for (const Node& node : nodes) {
        if (std::find(check.roles.begin(), check.roles.end(), node.role) == check.roles.end()) continue;
        const std::string& text = node.public_address.empty() ? node.address : node.public_address;
        const auto address = parse_ip(text);
        if (!address) {
            s.fail("roles", "[[check]] " + in_quotes(check.name) + " (protocol \"mail_domain\") needs the outbound "
                            "address of node " + in_quotes(node.name) + ", whose address " + in_quotes(text) +
                            " is a name: set its \"public_address\" to the address its mail leaves from");
        }
        if (std::find(out.begin(), out.end(), *address) == out.end()) out.push_back(*address);
    }
    return out;
}

// One row per family of protocol settings (probes/<p>/settings): the keys it reads, their refusal
// on the protocols it does not serve, which protocols it serves, the reader that fills its part
// of the check, and that part as the prober receives it (Check::settings). A protocol with keys
// of its own is one row here and one member of Check.
struct SettingsFamily {
    std::span<const std::string_view> (*keys)() noexcept;
    void (*reject_foreign)(const Section& s, Protocol protocol);
    bool (*serves)(Protocol protocol);
    void (*read)(const Section& s, Check& check);
    ProtocolSettings (*own)(const Check& check);
};

constexpr std::array<SettingsFamily, 9> settings_families{{
    {tcp_settings_keys, reject_foreign_tcp_keys,
     [](Protocol p) { return traits(p).family == ProtocolFamily::tcp; },
     [](const Section& s, Check& c) { c.tcp = read_tcp_settings(s, c.protocol); },
     [](const Check& c) -> ProtocolSettings { return &c.tcp; }},
    {http_settings_keys, reject_foreign_http_keys,
     [](Protocol p) { return traits(p).family == ProtocolFamily::web; },
     [](const Section& s, Check& c) { c.http = read_http_settings(s); },
     [](const Check& c) -> ProtocolSettings { return &c.http; }},
    {mail_settings_keys, reject_foreign_mail_keys, is_mail_protocol,
     [](const Section& s, Check& c) { c.mail = read_mail_settings(s, c.protocol); },
     [](const Check& c) -> ProtocolSettings { return &c.mail; }},
    {ldap_settings_keys, reject_foreign_ldap_keys, is_ldap_family,
     [](const Section& s, Check& c) { c.ldap = read_ldap_settings(s, c.protocol); },
     [](const Check& c) -> ProtocolSettings { return &c.ldap; }},
    {roundtrip_settings_keys, reject_foreign_roundtrip_keys,
     [](Protocol p) { return p == Protocol::roundtrip; },
     [](const Section& s, Check& c) { c.roundtrip = read_roundtrip_settings(s); },
     [](const Check& c) -> ProtocolSettings { return &c.roundtrip; }},
    {dnsbl_settings_keys, reject_foreign_dnsbl_keys,
     [](Protocol p) { return p == Protocol::dnsbl; },
     [](const Section& s, Check& c) { c.dnsbl = read_dnsbl_settings(s); },
     [](const Check& c) -> ProtocolSettings { return &c.dnsbl; }},
    {fcrdns_settings_keys, reject_foreign_fcrdns_keys,
     [](Protocol p) { return p == Protocol::fcrdns; },
     [](const Section& s, Check& c) { c.fcrdns = read_fcrdns_settings(s); },
     [](const Check& c) -> ProtocolSettings { return &c.fcrdns; }},
    {dane_settings_keys, reject_foreign_dane_keys,
     [](Protocol p) { return p == Protocol::dane; },
     [](const Section& s, Check& c) {
         c.dane = read_dane_settings(s);
         s.reject_keys_for(dane_decides_keys, "protocols that trust a CA (a dane check trusts its TLSA records)",
                           to_string(c.protocol));
     },
     [](const Check& c) -> ProtocolSettings { return &c.dane; }},
    {mail_domain_settings_keys, reject_foreign_mail_domain_keys, checks_a_domain,
     [](const Section& s, Check& c) { c.mail_domain = read_mail_domain_settings(s); },
     [](const Check& c) -> ProtocolSettings { return &c.mail_domain; }},
}};

}  // namespace

ProtocolSettings Check::settings() const noexcept {
    for (const SettingsFamily& family : settings_families) {
        if (family.serves(protocol)) return family.own(*this);
    }
    return std::monostate{};
}

namespace {

Check read_check(const Section& s, const Inherited& defaults, const Targets& targets) {
    Check check;
    check.name = s.required_text("name");
    check.protocol = read_protocol(s);
    check.where = s.where();

    std::vector<std::string_view> known(check_common_keys.begin(), check_common_keys.end());
    known.insert(known.end(), tls_only_keys.begin(), tls_only_keys.end());
    known.insert(known.end(), starttls_only_keys.begin(), starttls_only_keys.end());
    known.insert(known.end(), dnssec_only_keys.begin(), dnssec_only_keys.end());
    for (const SettingsFamily& family : settings_families) {
        known.insert(known.end(), family.keys().begin(), family.keys().end());
    }
    s.reject_unknown_keys(known);
    for (const SettingsFamily& family : settings_families) family.reject_foreign(s, check.protocol);
    if (!supports_starttls(check.protocol)) {
        s.reject_keys_for(starttls_only_keys, "protocols smtp, submission, lmtp, imap, pop3, ldap, ldap_replication",
                          to_string(check.protocol));
    }
    if (!checks_dnssec(check.protocol)) {
        s.reject_keys_for(dnssec_only_keys, "protocols dane and mail_domain", to_string(check.protocol));
    }
    for (const SettingsFamily& family : settings_families) {
        if (family.serves(check.protocol)) family.read(s, check);
    }
    if (!check.uses_tls()) {
        s.reject_keys_for(tls_only_keys,
                          "protocols with TLS (tls, https, smtps, imaps, pop3s, ldaps) and checks with starttls = true",
                          to_string(check.protocol));
    }

    const auto port = s.integer("port", 1, 65535);
    if (check.protocol == Protocol::roundtrip) {
        check.port = check.roundtrip.submit.port;  // the target's label; each leg has its own port
    } else if (!port && !traits(check.protocol).default_port) {
        s.fail("missing required key \"port\" in [[check]] " + in_quotes(check.name) + " (protocol " +
               in_quotes(to_string(check.protocol)) + " has no default port)");
    }
    if (check.protocol != Protocol::roundtrip) {
        check.port = port ? static_cast<std::uint16_t>(*port) : *traits(check.protocol).default_port;
    }

    check.roles = read_references(s, "roles", "role", targets.roles, "is not the role of any [[node]]");
    check.nlbs = read_references(s, "nlbs", "nlb", targets.nlbs, "is not defined by any [[nlb]]");
    if (check.roles.empty() && check.nlbs.empty()) {
        s.fail("[[check]] " + in_quotes(check.name) + " has neither \"roles\" nor \"nlbs\", so it would probe nothing");
    }

    Inherited in = read_inherited(s, defaults);
    if (checks_slow_dns_facts(check.protocol) && !in.interval.here) {
        // Block-list entries, reverse DNS, TLSA and mail records change over hours: unless the check
        // sets its own interval, looking every few seconds only loads the servers asked.
        in.interval.value = std::max<Duration>(in.interval.value, slow_dns_interval);
    }
    validate_inherited(s, in);
    check.interval = in.interval.value;
    check.timeout = in.timeout.value;
    check.rise = in.rise.value;
    check.fall = in.fall.value;
    check.latency_warning = in.latency_warning.value;
    check.latency_critical = in.latency_critical.value;
    check.cert_warning = in.cert_warning.value;
    check.cert_critical = in.cert_critical.value;
    if (check.protocol == Protocol::roundtrip) {
        check.timeout = roundtrip_timeout(s, in);
    }

    check.tls.ca_file = in.ca_file.value;
    check.tls.verify = s.flag("tls_verify").value_or(check.tls.verify);
    check.tls.verify_hostname = s.flag("tls_verify_hostname").value_or(check.tls.verify_hostname);
    check.tls.server_name = s.text("tls_server_name").value_or("");
    check.tls.resume = in.tls_resume.value;
    check.tls.cert_refresh = in.cert_refresh.value;
    if (check.protocol == Protocol::dane) check.tls = dane_decides(check.tls);
    if (check.uses_tls() && check.tls.verify) {
        require_readable(in.ca_file.set_at.value_or(s.where()), "ca_file", check.tls.ca_file);
    }

    check.username = s.text("username").value_or("");
    check.password = read_secret(s, "password_file");
    // Half a login is a mistake that would otherwise only show as a skipped login step.
    if (check.protocol == Protocol::roundtrip && (check.username.empty() || check.password.empty())) {
        s.fail(check.username.empty() ? "username" : "password_file",
               "[[check]] " + in_quotes(check.name) + " (protocol \"roundtrip\") needs \"username\" (the probe "
               "mailbox) and \"password_file\" to submit and fetch");
    }
    if (check.protocol == Protocol::roundtrip) {
        // Sender and recipient of the probe message: MAIL FROM:<username>, RCPT TO:<username>.
        const std::string& address = check.username;
        const std::size_t at = address.find('@');
        const bool valid = at != std::string::npos && at > 0 && at + 1 < address.size() &&
                           address.find_first_of(" <>\"", 0) == std::string::npos &&
                           control_character_problem("username", address).empty();
        if (!valid) {
            s.fail("username", "\"username\" of a roundtrip check is the probe mailbox's address (like "
                               "probe@example.com), got " + in_quotes(address));
        }
    }
    if (is_mail_protocol(check.protocol) && check.username.empty() != check.password.empty()) {
        s.fail(check.username.empty() ? "password_file" : "username",
               "[[check]] " + in_quotes(check.name) + " needs both \"username\" and \"password_file\" to log in");
    }
    if (is_ldap_family(check.protocol)) {
        if (s.has("username")) {
            s.fail("username", "\"username\" does not apply to LDAP checks: set \"bind_dn\"");
        }
        if (check.ldap.bind_dn.empty() != check.password.empty()) {
            s.fail(check.ldap.bind_dn.empty() ? "password_file" : "bind_dn",
                   "[[check]] " + in_quotes(check.name) + " needs both \"bind_dn\" and \"password_file\" to bind");
        }
    }
    return check;
}

Config read_config(const toml::table& root, const ConfigContext& context) {
    const Section top(context, root, "the top-level table");
    top.reject_unknown_keys(top_level_keys);

    Config config;
    config.file = context.file;
    const auto table_section = [&](std::string_view key) -> std::optional<Section> {
        const toml::node* node = root.get(key);
        if (!node) {
            return std::nullopt;
        }
        const std::string title = "[" + std::string(key) + "]";
        return Section(context, top.expect<toml::table>(*node, in_quotes(key) + " (written " + title + ")"), title);
    };
    if (const auto daemon = table_section("daemon")) {
        config.daemon = read_daemon(*daemon);
    }

    Inherited defaults = Inherited::built_in();
    if (const auto section = table_section("defaults")) {
        section->reject_unknown_keys(defaults_keys);
        defaults = read_inherited(*section, defaults);
        validate_inherited(*section, defaults);
    }
    config.defaults = defaults.values();

    // Nodes and NLBs first whatever the file's order: checks refer to them.
    Targets targets;
    std::map<std::string, SourceLocation, std::less<>> node_names;
    for_each_entry(top, "node", [&](const toml::table& table, std::size_t index) {
        const Section s(context, table, entry_title("node", table, index));
        config.nodes.push_back(read_node(s));
        claim_name(node_names, s, "node", config.nodes.back().name);
        targets.roles.insert(config.nodes.back().role);
    });
    std::map<std::string, SourceLocation, std::less<>> nlb_names;
    for_each_entry(top, "nlb", [&](const toml::table& table, std::size_t index) {
        const Section s(context, table, entry_title("nlb", table, index));
        config.nlbs.push_back(read_nlb(s));
        claim_name(nlb_names, s, "nlb", config.nlbs.back().name);
        targets.nlbs.insert(config.nlbs.back().name);
    });
    std::map<std::string, SourceLocation, std::less<>> check_names;
    for_each_entry(top, "check", [&](const toml::table& table, std::size_t index) {
        const Section s(context, table, entry_title("check", table, index));
        config.checks.push_back(read_check(s, defaults, targets));
        if (Check& check = config.checks.back(); check.protocol == Protocol::roundtrip) {
            resolve_roundtrip_leg(check.roundtrip.submit, check, config.nodes, config.nlbs);
            resolve_roundtrip_leg(check.roundtrip.fetch, check, config.nodes, config.nlbs);
        }
        if (Check& check = config.checks.back(); checks_a_domain(check.protocol)) {
            check.mail_domain.outbound = outbound_addresses(s, check, config.nodes);
        }
        if (config.checks.back().protocol == Protocol::ldap_replication) {
            config.checks.back().ldap.members = replication_members(s, config.checks.back(), config.nodes);
        }
        claim_name(check_names, s, "check", config.checks.back().name);
    });
    config.alerting = std::make_shared<const AlertingConfig>(parse_alerting(root, context.file, config));
    return config;
}

}  // namespace

std::optional<Shard> parse_shard(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    Shard shard;
    const auto number = [](std::string_view digits, std::uint32_t& out) {
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
        return error == std::errc() && end == digits.data() + digits.size() && !digits.empty();
    };
    if (!number(text.substr(0, slash), shard.index) || !number(text.substr(slash + 1), shard.count) ||
        shard.count == 0 || shard.index >= shard.count) {
        return std::nullopt;
    }
    return shard;
}

Config parse_config(std::string_view text, const std::filesystem::path& file) {
    const ConfigContext context = ConfigContext::of(file);
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(context.file));
    } catch (const toml::parse_error& e) {
        const auto& begin = e.source().begin;
        throw ConfigError(SourceLocation{context.file, begin.line, begin.column}, std::string(e.description()));
    }
    return read_config(root, context);
}

Config load_config(const std::filesystem::path& file) {
    // TOML files are small; a limit keeps a wrong path (a device, a huge log) from being slurped.
    constexpr std::size_t max_config_bytes = 64 * 1024 * 1024;
    const std::string text = read_or_throw(SourceLocation{file.string(), 0, 0}, "configuration file", file,
                                           max_config_bytes);
    return parse_config(text, file);
}

}  // namespace tierwatch

// tierwatch's configuration: parsed once from TOML into immutable, validated structs.
#pragma once

#include <algorithm>
#include <boost/regex.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/protocol/protocols.hpp"
#include "config/toml/location.hpp"
#include "probes/dane/settings/dane_settings.hpp"
#include "probes/dnsbl/settings/dnsbl_settings.hpp"
#include "probes/fcrdns/settings/fcrdns_settings.hpp"
#include "probes/mail_domain/settings/mail_domain_settings.hpp"
#include "probes/http/settings/http_settings.hpp"
#include "probes/ldap/settings/ldap_settings.hpp"
#include "probes/mail/settings/mail_settings.hpp"
#include "probes/roundtrip/settings/roundtrip_settings.hpp"
#include "probes/tcp/settings/tcp_settings.hpp"

namespace tierwatch {

// A secret read from a file. Its value never leaves through formatting or logging helpers.
class Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}
    const std::string& reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }

private:
    std::string value_;
};

// --shard I/N: this instance probes the targets whose stable hash is I modulo N (like Prometheus'
// hashmod), so N instances split a fleet with no coordination and no overlap.
struct Shard {
    std::uint32_t index = 0;
    std::uint32_t count = 1;
    bool contains(std::uint64_t hash) const noexcept { return count <= 1 || hash % count == index; }
};
// "2/4" (index 0..N-1); nullopt when malformed.
std::optional<Shard> parse_shard(std::string_view text);

struct DaemonSettings {
    std::string listen = "127.0.0.1:9469";
    std::filesystem::path state_dir = "/var/lib/tierwatch";
    std::uint32_t max_in_flight = 20000;
    bool max_in_flight_explicit = false;  // set in the file: refused (not lowered) beyond the fd limit
    std::uint32_t per_host_max_in_flight = 8;
    Duration dns_refresh = std::chrono::seconds(30);
    std::vector<std::string> nameservers;  // "host:port"; empty: the system resolver
    std::string log_level = "info";
    Shard shard;       // from the command line, not the file
    Secret api_token;  // from api_token_file; empty: the write API is disabled
    std::filesystem::path tls_cert_file;  // both set: the listener speaks HTTPS
    std::filesystem::path tls_key_file;
};

// Everything a check inherits from [defaults] unless it sets it itself.
struct CheckDefaults {
    Duration interval = std::chrono::seconds(15);
    Duration timeout = std::chrono::seconds(5);
    std::uint32_t rise = 2;
    std::uint32_t fall = 3;
    std::filesystem::path ca_file = "/etc/ssl/certs/ca-certificates.crt";
    Duration cert_warning = std::chrono::days(21);
    Duration cert_critical = std::chrono::days(7);
    bool tls_resume = false;
    Duration cert_refresh = std::chrono::hours(1);
    std::optional<Duration> latency_warning;
    std::optional<Duration> latency_critical;
};

struct Node {
    std::string name;
    std::string role;
    std::string zone;
    std::string address;  // IP literal or host name
    std::string fqdn;     // SNI and certificate name; empty: none
    // The IP address its mail leaves from (NAT, a separate outbound interface), which dnsbl and
    // fcrdns look up and mail_domain's SPF must cover; empty: `address`. Validated as an IP literal at load.
    std::string public_address;
    SourceLocation where;
};

struct Nlb {
    std::string name;
    std::string fqdn;  // resolved to every A/AAAA record
    SourceLocation where;
};

struct TlsSettings {
    std::filesystem::path ca_file;
    bool verify = true;           // chain verification against ca_file
    bool verify_hostname = true;  // name check against fqdn / NLB name
    std::string server_name;      // overrides SNI and the checked name; empty: node fqdn / NLB fqdn
    bool resume = false;
    Duration cert_refresh = std::chrono::hours(1);
};

// What a prober receives of its check: its protocol family's typed settings, by reference to the
// loaded configuration (probes/net/probe.hpp hands it over in the ProbeRequest).
using ProtocolSettings =
    std::variant<std::monostate, const TcpSettings*, const HttpSettings*, const MailSettings*, const LdapSettings*,
                 const RoundtripSettings*, const DnsblSettings*, const FcrdnsSettings*, const DaneSettings*,
                 const MailDomainSettings*>;

struct Check {
    std::string name;
    Protocol protocol = Protocol::tcp;
    std::uint16_t port = 0;
    std::vector<std::string> roles;
    std::vector<std::string> nlbs;

    Duration interval{};
    Duration timeout{};
    std::uint32_t rise = 2;
    std::uint32_t fall = 3;
    std::optional<Duration> latency_warning;
    std::optional<Duration> latency_critical;
    Duration cert_warning{};
    Duration cert_critical{};

    TlsSettings tls;  // used when uses_tls() is true
    TcpSettings tcp;  // tcp, tls: banner or dialogue
    HttpSettings http;
    MailSettings mail;
    LdapSettings ldap;
    RoundtripSettings roundtrip;
    DnsblSettings dnsbl;
    FcrdnsSettings fcrdns;
    DaneSettings dane;
    MailDomainSettings mail_domain;

    std::string username;
    Secret password;  // from password_file
    SourceLocation where;

    // The domain a check of a domain (checks_a_domain) judges: its one target is named by it.
    // Empty for every other check.
    const std::string& probed_domain() const noexcept {
        static const std::string none;
        return checks_a_domain(protocol) ? mail_domain.domain : none;
    }

    // The settings of the family that serves this check's protocol (config.cpp's family rows).
    ProtocolSettings settings() const noexcept;

    // The probe's own connection starts plain and is upgraded (STARTTLS, STLS, a dialogue's;
    // DANE for SMTP is about the certificate STARTTLS presents).
    bool upgrades_to_tls() const noexcept {
        return mail.starttls || ldap.starttls || tcp.starttls() || protocol == Protocol::dane;
    }

    // Implicit TLS, or a STARTTLS upgrade: either way the TLS settings apply.
    bool uses_tls() const noexcept {
        return uses_implicit_tls(protocol) || upgrades_to_tls() ||
               (checks_a_domain(protocol) && mail_domain.mta_sts) ||  // the MTA-STS policy's HTTPS
               roundtrip.submit.starttls || roundtrip.fetch.starttls ||
               uses_implicit_tls(roundtrip.submit.protocol) || uses_implicit_tls(roundtrip.fetch.protocol);
    }
};

struct AlertingConfig;  // config/alerting.hpp: groups, tiers, pagers, maintenance, flapping

struct Config {
    std::filesystem::path file;
    DaemonSettings daemon;
    CheckDefaults defaults;
    std::vector<Node> nodes;
    std::vector<Nlb> nlbs;
    std::vector<Check> checks;
    std::shared_ptr<const AlertingConfig> alerting;  // always set by the loader
};

// Reads, validates and returns the whole configuration, or throws ConfigError naming
// file:line:column. Relative paths in the file are taken relative to the file's directory.
Config load_config(const std::filesystem::path& file);
// Same, from text (tests); `file` is only used in error locations and for relative paths.
Config parse_config(std::string_view text, const std::filesystem::path& file);

}  // namespace tierwatch

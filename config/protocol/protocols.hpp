// What tierwatch knows about each protocol, in one table: its name, default port, how it does
// TLS, which family of settings it reads, and whether `tierwatch check` can name it in a URL.
// A protocol's prober is its folder under probes/, found through probes/registry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tierwatch {

enum class Protocol : std::uint8_t {
    tcp,
    tls,
    http,
    https,
    smtp,
    smtps,
    submission,
    lmtp,
    imap,
    imaps,
    pop3,
    pop3s,
    ldap,
    ldaps,
    ldap_replication,
    roundtrip,
    dnsbl,
    fcrdns,
    dane,
    mail_domain,
};

// Which protocol-specific keys a check may set (config/config.cpp refuses the others).
enum class ProtocolFamily : std::uint8_t { tcp, web, smtp, imap, pop3, ldap, roundtrip, dnsbl, fcrdns, dane, mail_domain };

struct ProtocolTraits {
    Protocol protocol;
    std::string_view name;
    ProtocolFamily family;
    std::optional<std::uint16_t> default_port;  // none: the check must set `port` (or has none)
    bool implicit_tls;    // handshake right after connect
    bool starttls;        // its plain dialogue can be upgraded in place (STARTTLS, STLS)
    bool single_server;   // one server per probe: `tierwatch check` can name it in a URL
};

// Every protocol, in enum order.
std::span<const ProtocolTraits> all_protocols() noexcept;
const ProtocolTraits& traits(Protocol p) noexcept;
// The protocol called `name` in a configuration or URL; nullptr when there is none.
const ProtocolTraits* find_protocol(std::string_view name) noexcept;

std::string_view to_string(Protocol p) noexcept;
// Protocols that need a TLS handshake before (or instead of) their dialogue.
inline bool uses_implicit_tls(Protocol p) noexcept { return traits(p).implicit_tls; }
// Protocols whose plain dialogue can be upgraded in place (STARTTLS, STLS).
inline bool supports_starttls(Protocol p) noexcept { return traits(p).starttls; }
inline bool is_smtp_family(Protocol p) noexcept { return traits(p).family == ProtocolFamily::smtp; }
inline bool is_imap(Protocol p) noexcept { return traits(p).family == ProtocolFamily::imap; }
inline bool is_pop3(Protocol p) noexcept { return traits(p).family == ProtocolFamily::pop3; }
inline bool is_ldap_family(Protocol p) noexcept { return traits(p).family == ProtocolFamily::ldap; }
// SMTP, LMTP, IMAP and POP3: the mail dialogue settings apply.
inline bool is_mail_protocol(Protocol p) noexcept { return is_smtp_family(p) || is_imap(p) || is_pop3(p); }
// Checks of a node's reputation in DNS (dnsbl, fcrdns): they look up the address its mail leaves
// from (a node's `public_address`, else its `address`) and never connect to it.
inline bool checks_outbound_address(Protocol p) noexcept { return p == Protocol::dnsbl || p == Protocol::fcrdns; }
// Checks of a mail domain's DNS records (mail_domain): one probe per check, not per node; the
// nodes of its roles are the MTAs whose outbound addresses its SPF record must cover.
inline bool checks_a_domain(Protocol p) noexcept { return p == Protocol::mail_domain; }
// Checks whose DNS answers can be required to be DNSSEC-validated (`require_dnssec`: the
// resolver's AD bit): dane (default on) and mail_domain (default off).
inline bool checks_dnssec(Protocol p) noexcept { return p == Protocol::dane || checks_a_domain(p); }
// Checks of DNS facts that change over hours (dnsbl, fcrdns, dane, mail_domain): probed every few
// minutes.
inline bool checks_slow_dns_facts(Protocol p) noexcept {
    return checks_outbound_address(p) || p == Protocol::dane || checks_a_domain(p);
}

}  // namespace tierwatch

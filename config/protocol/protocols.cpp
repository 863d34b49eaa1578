// What tierwatch knows about each protocol, in one table.
#include "config/protocol/protocols.hpp"

#include <array>

namespace tierwatch {

namespace {

using enum ProtocolFamily;

// In enum order (checked below), so traits() is an index.
constexpr std::array<ProtocolTraits, 20> protocol_table{{
    // protocol                    name                family     port   implicit starttls single
    {Protocol::tcp,              "tcp",              tcp,       {},    false,   false,   true},
    {Protocol::tls,              "tls",              tcp,       {},    true,    false,   true},
    {Protocol::http,             "http",             web,       80,    false,   false,   true},
    {Protocol::https,            "https",            web,       443,   true,    false,   true},
    {Protocol::smtp,             "smtp",             smtp,      25,    false,   true,    true},
    {Protocol::smtps,            "smtps",            smtp,      465,   true,    false,   true},
    {Protocol::submission,       "submission",       smtp,      587,   false,   true,    true},
    {Protocol::lmtp,             "lmtp",             smtp,      24,    false,   true,    true},
    {Protocol::imap,             "imap",             imap,      143,   false,   true,    true},
    {Protocol::imaps,            "imaps",            imap,      993,   true,    false,   true},
    {Protocol::pop3,             "pop3",             pop3,      110,   false,   true,    true},
    {Protocol::pop3s,            "pop3s",            pop3,      995,   true,    false,   true},
    {Protocol::ldap,             "ldap",             ldap,      389,   false,   true,    true},
    {Protocol::ldaps,            "ldaps",            ldap,      636,   true,    false,   true},
    // Compares several nodes, so it has no single-server URL.
    {Protocol::ldap_replication, "ldap_replication", ldap,      389,   false,   true,    false},
    // Its ports come from its submit and fetch URLs.
    {Protocol::roundtrip,        "roundtrip",        roundtrip, {},    false,   false,   false},
    // DNS lookups about a node's outbound address through [daemon] nameservers; 53 only names
    // the target ("address:53"), nothing connects to the node.
    {Protocol::dnsbl,            "dnsbl",            dnsbl,     53,    false,   false,   false},
    {Protocol::fcrdns,           "fcrdns",           fcrdns,    53,    false,   false,   false},
    // Always STARTTLS over SMTP (the check has no `starttls` key); its TLSA lookup needs
    // [daemon] nameservers, which `tierwatch check` does not read.
    {Protocol::dane,             "dane",             dane,      25,    false,   false,   false},
    // A domain's mail records through [daemon] nameservers; the port is the MTA-STS policy's
    // HTTPS port on mta-sts.<domain> (RFC 8461 says 443; a test server may use another).
    {Protocol::mail_domain,      "mail_domain",      mail_domain, 443, false,   false,   false},
}};

constexpr bool in_enum_order() {
    for (std::size_t i = 0; i < protocol_table.size(); ++i) {
        if (static_cast<std::size_t>(protocol_table[i].protocol) != i) return false;
    }
    return true;
}
static_assert(in_enum_order(), "protocol_table must list every Protocol in enum order");

}  // namespace

std::span<const ProtocolTraits> all_protocols() noexcept { return protocol_table; }

const ProtocolTraits& traits(Protocol p) noexcept { return protocol_table[static_cast<std::size_t>(p)]; }

const ProtocolTraits* find_protocol(std::string_view name) noexcept {
    for (const auto& entry : protocol_table) {
        if (entry.name == name) return &entry;
    }
    return nullptr;
}

std::string_view to_string(Protocol p) noexcept {
    const auto index = static_cast<std::size_t>(p);
    return index < protocol_table.size() ? protocol_table[index].name : "unknown";
}

}  // namespace tierwatch

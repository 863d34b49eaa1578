// The LDAP family's typed settings and their reader: what a check of protocol ldap, ldaps or
// ldap_replication may set beyond the common keys. The configuration core hands an LDAP check's
// table to read_ldap_settings(); the family's probers read the result. Plain values, so the
// configuration layer can hold them without seeing the network layer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/protocol/protocols.hpp"
#include "config/toml/location.hpp"
#include "probes/wire/ldap_codec.hpp"

namespace tierwatch {

class Section;

// A node an ldap_replication check compares, copied from [[node]] at load so the probe of one
// node can reach its peers without the daemon's target table.
struct ReplicationMember {
    std::string name;
    std::string address;  // IP literal or host name, as [[node]] has it
    std::string fqdn;     // SNI and certificate name; empty: none
};

// ldap / ldaps dialogue, and what ldap_replication reads.
struct LdapSettings {
    bool starttls = false;  // StartTLS extended operation, then TLS on the same connection
    std::string bind_dn;    // simple bind with the check's password; empty: anonymous
    std::string search_base;
    LdapScope search_scope = LdapScope::base;
    std::string search_filter = "(objectClass=*)";
    std::string search_filter_ber;  // compiled at load
    std::vector<std::string> search_attributes;  // empty: all user attributes
    std::int32_t size_limit = 0;                 // 0: none asked for
    std::uint32_t min_entries = 0;               // fewer entries found is a protocol failure
    // ldap_replication: every node of the check's roles, and the lag grades.
    std::vector<ReplicationMember> members;
    std::optional<Duration> lag_warning;
    std::optional<Duration> lag_critical;
};

// The keys read_ldap_settings() reads (starttls aside, the core's STARTTLS rule), for the core's
// list of keys a check may have.
std::span<const std::string_view> ldap_settings_keys() noexcept;
// Refuses, for any protocol, an LDAP key it would ignore, naming the protocols the key is for.
void reject_foreign_ldap_keys(const Section& s, Protocol protocol);
// An LDAP protocol's settings from its check's table; the search filter is compiled now, so a
// typo stops the load at its line. `members` is the core's to fill (it knows the nodes).
LdapSettings read_ldap_settings(const Section& s, Protocol protocol);

}  // namespace tierwatch

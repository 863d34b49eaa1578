// Reads the LDAP family's keys of a check (see ldap_settings.hpp).
#include "probes/ldap/settings/ldap_settings.hpp"

#include <array>
#include <limits>

#include "config/toml/section.hpp"
#include "probes/wire/ldap_filter.hpp"

namespace tierwatch {

namespace {

using detail::contains;
using detail::in_quotes;
using detail::joined;

constexpr std::array<std::string_view, 2> ldap_only_keys{"bind_dn", "search_base"};
constexpr std::array<std::string_view, 5> ldap_search_keys{
    "search_scope", "search_filter", "search_attributes", "size_limit", "min_entries",
};
constexpr std::array<std::string_view, 2> replication_only_keys{"lag_warning", "lag_critical"};
constexpr std::array<std::string_view, 9> ldap_keys{
    "bind_dn", "search_base", "search_scope", "search_filter", "search_attributes", "size_limit", "min_entries",
    "lag_warning", "lag_critical",
};
constexpr std::array<std::string_view, 3> ldap_scopes{"base", "one", "sub"};

}  // namespace

std::span<const std::string_view> ldap_settings_keys() noexcept { return ldap_keys; }

void reject_foreign_ldap_keys(const Section& s, Protocol protocol) {
    const std::string_view name = to_string(protocol);
    if (!is_ldap_family(protocol)) {
        s.reject_keys_for(ldap_only_keys, "protocols ldap, ldaps, ldap_replication", name);
    }
    if (protocol != Protocol::ldap && protocol != Protocol::ldaps) {
        s.reject_keys_for(ldap_search_keys, "protocols ldap, ldaps", name);
    }
    if (protocol != Protocol::ldap_replication) {
        s.reject_keys_for(replication_only_keys, "protocol ldap_replication", name);
    }
}

LdapSettings read_ldap_settings(const Section& s, Protocol protocol) {
    if (protocol == Protocol::ldap_replication && s.has("nlbs")) {
        // Replication is a property of each server; through an NLB the "node" would change per connection.
        s.fail("nlbs", "\"nlbs\" does not apply to protocol \"ldap_replication\": it compares the nodes of \"roles\"");
    }
    LdapSettings ldap;
    ldap.starttls = s.flag("starttls").value_or(false);
    ldap.bind_dn = s.get<std::string>("bind_dn", [](const std::string& value) {
                        return value.empty() ? std::string("\"bind_dn\" must not be empty (leave it out to search "
                                                           "anonymously)")
                                             : control_character_problem("bind_dn", value);
                    }).value_or("");
    // The empty DN is a real base: the root DSE, and Zimbra's naming context.
    ldap.search_base = s.get<std::string>("search_base", [](const std::string& value) {
                            return control_character_problem("search_base", value);
                        }).value_or("");
    if (protocol == Protocol::ldap_replication) {
        ldap.lag_warning = s.duration("lag_warning").value_or(std::chrono::seconds(60));
        ldap.lag_critical = s.duration("lag_critical").value_or(std::chrono::minutes(5));
        if (*ldap.lag_warning > *ldap.lag_critical) {
            s.fail(s.has("lag_warning") ? "lag_warning" : "lag_critical",
                   "lag_warning " + format_duration(*ldap.lag_warning) + " is above lag_critical " +
                       format_duration(*ldap.lag_critical));
        }
        return ldap;
    }
    if (const auto scope = s.get<std::string>("search_scope", [](const std::string& value) {
            return contains(ldap_scopes, value) ? std::string()
                                                : "invalid search_scope " + in_quotes(value) +
                                                      " (expected one of: " + joined(ldap_scopes) + ")";
        })) {
        ldap.search_scope = *scope == "base" ? LdapScope::base : *scope == "one" ? LdapScope::one : LdapScope::sub;
    }
    ldap.search_filter = s.get<std::string>("search_filter").value_or(ldap.search_filter);
    // Compiled now, so a typo stops the load at its line instead of failing every probe.
    LdapFilterResult filter = compile_ldap_filter(ldap.search_filter);
    if (!filter.ok()) {
        s.fail("search_filter", "invalid search_filter " + in_quotes(ldap.search_filter) + " at offset " +
                                    std::to_string(filter.error->offset) + ": " + filter.error->message);
    }
    ldap.search_filter_ber = std::move(filter.ber);
    ldap.search_attributes = s.get_list<std::string>("search_attributes", [](const std::string& value) {
                                  return value.empty() ? std::string("each entry of \"search_attributes\" must "
                                                                     "not be empty")
                                                       : control_character_problem("search_attributes", value);
                              }).value_or(std::vector<std::string>{});
    constexpr std::int64_t max_ldap_int = std::numeric_limits<std::int32_t>::max();
    ldap.size_limit = static_cast<std::int32_t>(s.integer("size_limit", 0, max_ldap_int).value_or(0));
    ldap.min_entries = static_cast<std::uint32_t>(s.integer("min_entries", 0, max_ldap_int).value_or(0));
    if (ldap.size_limit != 0 && ldap.min_entries > static_cast<std::uint32_t>(ldap.size_limit)) {
        s.fail("min_entries", "min_entries " + std::to_string(ldap.min_entries) + " is above size_limit " +
                                  std::to_string(ldap.size_limit) + " (the server would never return enough)");
    }
    return ldap;
}

}  // namespace tierwatch

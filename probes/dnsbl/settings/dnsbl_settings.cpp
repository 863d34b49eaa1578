// Reads the dnsbl protocol's keys of a check (see dnsbl_settings.hpp).
#include "probes/dnsbl/settings/dnsbl_settings.hpp"

#include <algorithm>
#include <array>

#include "config/toml/section.hpp"
#include "probes/wire/dns_message.hpp"

namespace tierwatch {

namespace {

using detail::in_quotes;

constexpr std::array<std::string_view, 1> dnsbl_only_keys{"zones"};
// An IPv6 address's reversed nibbles: 32 one-character labels, each with its dot.
constexpr std::size_t longest_reversed_address = 64;

}  // namespace

std::span<const std::string_view> dnsbl_settings_keys() noexcept { return dnsbl_only_keys; }

void reject_foreign_dnsbl_keys(const Section& s, Protocol protocol) {
    if (protocol != Protocol::dnsbl) s.reject_keys_for(dnsbl_only_keys, "protocol dnsbl", to_string(protocol));
}

DnsblSettings read_dnsbl_settings(const Section& s) {
    DnsblSettings settings;
    auto zones = s.get_list<std::string>(
        "zones", [](const std::string& zone) {
            const std::string problem = dns_name_problem(zone, longest_reversed_address);
            return problem.empty() ? problem : "\"zones\" entry " + in_quotes(zone) + ": " + problem;
        });
    const std::string needs_zones =
        "a dnsbl check needs \"zones\": the block lists to look its nodes up in, e.g. [\"zen.spamhaus.org\"]";
    if (!zones) s.fail(needs_zones);
    if (zones->empty()) s.fail("zones", needs_zones);
    for (auto& zone : *zones) {
        if (zone.ends_with('.')) zone.pop_back();
        if (std::find(settings.zones.begin(), settings.zones.end(), zone) != settings.zones.end()) {
            s.fail("zones", "\"zones\" lists " + in_quotes(zone) + " twice");
        }
        settings.zones.push_back(std::move(zone));
    }
    return settings;
}

}  // namespace tierwatch

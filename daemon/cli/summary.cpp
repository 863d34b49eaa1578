// --check-config: what a validated configuration will probe.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "daemon/cli/commands.hpp"

namespace tierwatch {

std::string summarize_config(const Config& config) {
    std::ostringstream out;
    out << "configuration " << config.file.string() << " is valid\n";

    std::map<std::string, int> roles, zones;
    for (const auto& node : config.nodes) {
        ++roles[node.role];
        ++zones[node.zone];
    }
    auto list = [](const std::map<std::string, int>& counts) {
        std::string text;
        for (const auto& [name, count] : counts) {
            text += (text.empty() ? "" : ", ") + name + " " + std::to_string(count);
        }
        return text.empty() ? std::string("none") : text;
    };
    out << "nodes: " << config.nodes.size() << " (roles: " << list(roles)
        << "; zones: " << list(zones) << ")\n";
    out << "nlbs: " << config.nlbs.size() << "\n";
    for (const auto& nlb : config.nlbs) out << "  " << nlb.name << " -> " << nlb.fqdn << "\n";

    std::map<std::pair<std::string, std::string>, int> by_zone_role;
    std::size_t node_targets = 0, nlb_names = 0;
    out << "checks: " << config.checks.size() << "\n";
    for (const auto& check : config.checks) {
        int nodes = 0;
        for (const auto& node : config.nodes) {
            if (std::find(check.roles.begin(), check.roles.end(), node.role) == check.roles.end()) {
                continue;
            }
            ++nodes;
            ++by_zone_role[{node.zone, node.role}];
        }
        node_targets += static_cast<std::size_t>(nodes);
        nlb_names += check.nlbs.size();
        out << "  " << check.name << ": " << to_string(check.protocol) << " port " << check.port
            << ", every " << format_duration(check.interval) << ", timeout "
            << format_duration(check.timeout) << "; " << nodes << " node target(s)";
        if (!check.nlbs.empty()) {
            out << " + one per address of NLB";
            for (const auto& nlb : check.nlbs) out << " " << nlb;
        }
        if (check.protocol == Protocol::roundtrip) {
            // Where each leg goes: through every target, or to one fixed server.
            const auto leg = [&](std::string_view name, const RoundtripLeg& l) {
                out << "; " << name << " " << to_string(l.protocol) << (l.starttls ? "+starttls" : "") << " to "
                    << (l.via_target ? std::string("each target") : l.host) << " port " << l.port;
            };
            leg("submit", check.roundtrip.submit);
            leg("fetch", check.roundtrip.fetch);
        }
        out << "\n";
    }
    out << "targets: " << node_targets << " on nodes";
    if (nlb_names > 0) out << " + " << nlb_names << " NLB name(s), one target per resolved address";
    out << "\n";
    if (!by_zone_role.empty()) {
        out << "node targets by zone and role:\n";
        for (const auto& [key, count] : by_zone_role) {
            out << "  " << key.first << " / " << key.second << ": " << count << "\n";
        }
    }
    return out.str();
}

}  // namespace tierwatch

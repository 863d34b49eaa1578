// Expanding checks into targets and keeping the table in step with DNS.
#include "daemon/scheduling/targets.hpp"

#include "daemon/scheduling/scheduler.hpp"

#include <algorithm>
#include <unordered_set>

namespace tierwatch {
namespace {

std::optional<boost::asio::ip::address> ip_literal(const std::string& text) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(text, ec);
    if (ec) return std::nullopt;
    return address;
}

std::string endpoint_label(const boost::asio::ip::address& address, std::uint16_t port) {
    const auto text = address.to_string();
    return (address.is_v6() ? "[" + text + "]" : text) + ":" + std::to_string(port);
}

}  // namespace

void ResultHistory::push(std::chrono::system_clock::time_point at, const ProbeResult& result) noexcept {
    using namespace std::chrono;
    const auto micros = duration_cast<microseconds>(result.total).count();
    entries_[next_] = {duration_cast<milliseconds>(at.time_since_epoch()).count(),
                       static_cast<std::uint32_t>(std::clamp<std::int64_t>(micros, 0, UINT32_MAX)),
                       result.reason};
    next_ = static_cast<std::uint8_t>((next_ + 1) % capacity);
    if (size_ < capacity) ++size_;
}

const std::string& Target::server_name() const noexcept {
    if (checks_a_domain(spec.check->protocol)) return spec.check->probed_domain();
    return spec.node ? spec.node->fqdn : spec.nlb->fqdn;
}

std::vector<std::string> names_to_resolve(const Config& config) {
    std::vector<std::string> names;
    for (const auto& nlb : config.nlbs) names.push_back(nlb.fqdn);
    for (const auto& node : config.nodes) {
        if (!ip_literal(node.address)) names.push_back(node.address);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

std::vector<TargetSpec> expand_targets(const Config& config, const ResolvedNames& resolved) {
    std::vector<TargetSpec> specs;
    // A name not looked up yet (one a reload just added) gets its targets once the DNS loop,
    // woken by the reload, has an answer: a stand-in now would record a false dns failure.
    auto lookup = [&](const std::string& name) -> const Resolution* {
        auto found = resolved.find(name);
        return found == resolved.end() ? nullptr : &found->second;
    };
    const Shard& shard = config.daemon.shard;
    auto add = [&](TargetSpec spec) {
        if (shard.contains(stable_hash(spec.identity))) specs.push_back(std::move(spec));
    };

    for (const auto& check : config.checks) {
        if (checks_a_domain(check.protocol)) {
            // One probe for the domain (its records are the domain's, not a node's), carried by
            // the first node of its roles: every output places a target on a node or an NLB.
            const auto node = std::find_if(config.nodes.begin(), config.nodes.end(), [&](const Node& n) {
                return std::find(check.roles.begin(), check.roles.end(), n.role) != check.roles.end();
            });
            if (node != config.nodes.end()) {
                add({&check, &*node, nullptr, {}, {}, check.name + "|domain:" + check.probed_domain()});
            }
            continue;
        }
        for (const auto& node : config.nodes) {
            if (std::find(check.roles.begin(), check.roles.end(), node.role) == check.roles.end()) {
                continue;
            }
            TargetSpec spec{&check, &node, nullptr, {}, {}, check.name + "|node:" + node.name};
            // The DNS reputation checks look up the address mail leaves from (validated at load).
            const bool outbound = checks_outbound_address(check.protocol) && !node.public_address.empty();
            if (auto literal = ip_literal(outbound ? node.public_address : node.address)) {
                spec.address = *literal;
            } else {
                const auto* resolution = lookup(node.address);
                if (!resolution) continue;
                if (resolution->error.empty() && !resolution->addresses.empty()) {
                    spec.address = resolution->addresses.front();  // a node is one server
                } else {
                    spec.dns_error = node.address + ": " + resolution->error;
                }
            }
            add(std::move(spec));
        }
        for (const auto& nlb_name : check.nlbs) {
            const auto nlb = std::find_if(config.nlbs.begin(), config.nlbs.end(),
                                          [&](const Nlb& n) { return n.name == nlb_name; });
            if (nlb == config.nlbs.end()) continue;  // validation guarantees it exists
            const auto* resolution = lookup(nlb->fqdn);
            if (!resolution) continue;
            const std::string base = check.name + "|nlb:" + nlb->name;
            if (!resolution->error.empty() || resolution->addresses.empty()) {
                add({&check, nullptr, &*nlb, {},
                     nlb->fqdn + ": " + (resolution->error.empty() ? "no addresses" : resolution->error),
                     base + "|dns"});
                continue;
            }
            for (const auto& address : resolution->addresses) {
                add({&check, nullptr, &*nlb, address, {}, base + "|" + address.to_string()});
            }
        }
    }
    return specs;
}

std::uint32_t TargetTable::host_index(const std::string& key) {
    auto [it, inserted] = hosts_.try_emplace(key, static_cast<std::uint32_t>(hosts_.size()));
    return it->second;
}

TargetTable::Change TargetTable::sync(std::vector<TargetSpec> specs) {
    Change change;
    std::unordered_set<std::uint32_t> wanted;
    for (auto& spec : specs) {
        auto found = by_identity_.find(spec.identity);
        Target* target = nullptr;
        if (found == by_identity_.end()) {
            const auto id = static_cast<std::uint32_t>(targets_.size());
            targets_.push_back(std::make_unique<Target>());
            target = targets_.back().get();
            target->id = id;
            by_identity_.emplace(spec.identity, id);
        } else {
            target = targets_[found->second].get();
        }
        wanted.insert(target->id);
        const Check& check = *spec.check;
        const bool unresolved = !spec.dns_error.empty();
        // Assign only on change: a running probe may be reading these strings.
        const bool domain = checks_a_domain(check.protocol);  // named by its domain, connects nowhere
        auto label = domain       ? check.probed_domain()
                     : unresolved ? (spec.node ? spec.node->address : spec.nlb->fqdn) + ":" +
                                        std::to_string(check.port)
                                  : endpoint_label(spec.address, check.port);
        if (target->label != label) target->label = std::move(label);
        target->host = host_index(unresolved || domain ? target->label : spec.address.to_string());
        // Created, never replaced: a running probe may be using it.
        if (check.tls.resume && !target->tls_session) {
            target->tls_session = std::make_unique<TlsSessionSlot>();
        }
        target->spec = std::move(spec);
        if (!target->active) {
            target->active = true;
            ++active_count_;
            change.added.push_back(target->id);
        }
    }
    for (auto& target : targets_) {
        if (target->active && !wanted.contains(target->id)) {
            target->active = false;
            --active_count_;
            change.removed.push_back(target->id);
        }
    }
    return change;
}

}  // namespace tierwatch

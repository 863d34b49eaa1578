// The target table: every (check, node) and (check, NLB address) pair, with the state the
// daemon keeps for it. Targets keep their id and state for as long as their identity exists,
// so DNS changes (and later reloads) add and remove targets without disturbing the others.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "probes/net/result.hpp"
#include "probes/net/tls_session.hpp"

namespace tierwatch {

// The addresses a name resolved to, or why it did not.
struct Resolution {
    std::vector<boost::asio::ip::address> addresses;
    std::string error;  // non-empty: the name does not resolve
};

// Resolutions by name (NLB fqdn or node host name); IP literals need no entry.
using ResolvedNames = std::map<std::string, Resolution, std::less<>>;

// What a target is, independent of its run-time state.
struct TargetSpec {
    const Check* check = nullptr;
    const Node* node = nullptr;  // exactly one of node and nlb is set
    const Nlb* nlb = nullptr;
    boost::asio::ip::address address;
    std::string dns_error;  // non-empty: a stand-in target that reports the dns failure
    std::string identity;   // stable across restarts: check, node or NLB, address
};

// The latest results of one target, for the status page's drill-down: a fixed ring of 16-byte
// entries (128 bytes a target), so 100,000 targets cost about 13 MB and recording allocates nothing.
class ResultHistory {
public:
    struct Entry {
        std::int64_t at_ms = 0;         // when the probe finished, milliseconds since the epoch
        std::uint32_t duration_us = 0;  // the probe's total duration, saturated at about 71 minutes
        FailureReason reason = FailureReason::none;

        std::chrono::system_clock::time_point at() const noexcept {
            return std::chrono::system_clock::time_point(std::chrono::milliseconds(at_ms));
        }
    };
    static constexpr std::size_t capacity = 8;

    void push(std::chrono::system_clock::time_point at, const ProbeResult& result) noexcept;
    std::size_t size() const noexcept { return size_; }
    // i = 0 is the newest.
    const Entry& newest(std::size_t i) const noexcept {
        return entries_[(next_ + capacity - 1 - i) % capacity];
    }

private:
    std::array<Entry, capacity> entries_{};
    std::uint8_t next_ = 0;
    std::uint8_t size_ = 0;
};

struct Target {
    std::uint32_t id = 0;
    TargetSpec spec;
    std::string label;       // the `target` label: "address:port", or the name when unresolved
    std::uint32_t host = 0;  // index of the address, for the per-host limit
    bool active = false;

    // Run-time state, updated after every probe.
    bool has_result = false;
    ProbeResult last;
    std::uint64_t probes = 0;
    std::uint64_t failures = 0;
    ResultHistory history;  // newest entry: when `last` finished
    // With tls_resume: the session the next probe offers (created once, kept across reloads).
    std::unique_ptr<TlsSessionSlot> tls_session;

    // SNI / certificate name / Host: the probed domain, or the node's or NLB's fqdn. Read from
    // the configuration rather than copied into every target.
    const std::string& server_name() const noexcept;
};

// The specs for a configuration and the current resolutions, in a stable order.
std::vector<TargetSpec> expand_targets(const Config& config, const ResolvedNames& resolved);

// Names that need resolving: every NLB fqdn and every node address that is not an IP literal.
std::vector<std::string> names_to_resolve(const Config& config);

class TargetTable {
public:
    struct Change {
        std::vector<std::uint32_t> added;    // new or reactivated
        std::vector<std::uint32_t> removed;  // deactivated
    };

    // Makes the active set equal `specs`; targets whose identity stays keep their state.
    Change sync(std::vector<TargetSpec> specs);

    Target& at(std::uint32_t id) { return *targets_[id]; }
    const Target& at(std::uint32_t id) const { return *targets_[id]; }
    std::size_t size() const noexcept { return targets_.size(); }
    std::size_t active_count() const noexcept { return active_count_; }
    std::size_t host_count() const noexcept { return hosts_.size(); }

    template <typename Visit>
    void for_each_active(Visit&& visit) const {
        for (const auto& target : targets_) {
            if (target->active) visit(*target);
        }
    }

private:
    std::uint32_t host_index(const std::string& key);

    std::vector<std::unique_ptr<Target>> targets_;
    std::unordered_map<std::string, std::uint32_t> by_identity_;
    std::unordered_map<std::string, std::uint32_t> hosts_;
    std::size_t active_count_ = 0;
};

}  // namespace tierwatch

// One way to probe a target, shared by the daemon's loop, `--once` and `tierwatch check`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>

#include "daemon/scheduling/targets.hpp"
#include "probes/net/probe.hpp"

namespace tierwatch {

// What an exception out of a prober (a bug, a CA file unreadable since the load) becomes.
enum class ProberException : std::uint8_t {
    protocol_failure,  // the loop: one bad probe must never take the daemon down
    propagate,         // a one-shot plugin reports UNKNOWN, as Nagios expects of its own errors
};

// Runs `request` against the target `spec` describes. A target whose name did not resolve
// fails with `dns` without I/O (after one yield, so a run of them cannot recurse through
// inline completions).
boost::asio::awaitable<ProbeResult> probe_target(
    const TargetSpec& spec, const ProbeRequest& request, ProbeContext& context,
    ProberException on_exception = ProberException::protocol_failure);

}  // namespace tierwatch

// One probe result as JSON fields, shared by `--once --json` and the daemon's /api/v1/targets so
// both speak the same shape.
#pragma once

#include <boost/json/object.hpp>

#include "daemon/scheduling/targets.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

// Adds success, reason, detail, duration_seconds, phases, and when they apply tls,
// http_status and replication_lag_seconds.
void append_result_json(boost::json::object& out, const ProbeResult& result);

// Adds where the target is: node, role and zone for a node's target, nlb for a load balancer's.
void append_placement_json(boost::json::object& out, const TargetSpec& spec);

}  // namespace tierwatch

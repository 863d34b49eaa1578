// One probe result as JSON fields, shared by `--once --json` and the daemon's /api/v1/targets so
// both speak the same shape.
#pragma once

#include <boost/json/object.hpp>

#include "probes/net/result.hpp"

namespace tierwatch {

// Adds success, reason, detail, duration_seconds, phases, and when they apply tls,
// http_status and replication_lag_seconds.
void append_result_json(boost::json::object& out, const ProbeResult& result);

}  // namespace tierwatch

// The read-only operator routes, served from the running engine: the NOC page (/status and
// /status/target/<id>) and the JSON API (/api/v1/targets, /api/v1/alarms, /api/v1/groups).
// Large tables are walked in slices that yield to the event loop, like /metrics.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/alarms/alarms.hpp"
#include "daemon/base/expected.hpp"
#include "daemon/web/http_server.hpp"
#include "daemon/alarms/rollup.hpp"
#include "daemon/scheduling/targets.hpp"

namespace tierwatch {

class Engine;

// Answers the request and returns true when its path is one of these routes; false leaves it to
// the daemon's other routes.
boost::asio::awaitable<bool> serve_status_routes(const Engine& engine, const HttpRequest& request,
                                                 HttpResponse& response);

// One target, alarm or group as the API shows it. `grader` may be null (not graded yet).
boost::json::object target_json(const Target& target, const TargetGrader* grader, TimePoint now);
boost::json::object alarm_json(const Alarm& alarm, TimePoint now);
boost::json::object group_json(const GroupState& group);

// ?id=&zone=&role=&check=&nlb=&grade= of /api/v1/targets; empty fields match everything.
struct TargetFilter {
    std::optional<std::uint32_t> id;
    std::string zone;
    std::string role;
    std::string check;
    std::string nlb;
    std::string grade;  // ok, warning, critical or pending

    bool matches(const Target& target, std::string_view target_grade) const;
};

// Parses a query string (without the '?'); nullopt with `error` naming the bad parameter.
Expected<TargetFilter> parse_target_filter(std::string_view query);

}  // namespace tierwatch

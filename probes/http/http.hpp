// The `http` and `https` prober (Boost.Beast): status, body regex, bounded reads, redirects.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

// The status of the last response (the one a followed redirect led to).
inline constexpr MeasurementKind http_status_measurement{
    "http_status", MeasurementUnit::count, "", "probe_http_status_code",
    "HTTP status of the last response.", "HTTP status", "HTTP", "", nullptr, false};
inline constexpr std::array<const MeasurementKind*, 1> http_measurements{&http_status_measurement};

boost::asio::awaitable<ProbeResult> probe_http(const ProbeRequest& target, ProbeContext& context);

}  // namespace tierwatch

// The `http` and `https` prober (Boost.Beast): status, body regex, bounded reads, redirects.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>
#include <string_view>

#include "probes/net/probe.hpp"

namespace tierwatch {

// The status of the last response (the one a followed redirect led to).
inline constexpr MeasurementKind http_status_measurement{
    "http_status", MeasurementUnit::count, "", "probe_http_status_code",
    "HTTP status of the last response.", "HTTP status", "HTTP", "", nullptr, false};
inline constexpr std::array<const MeasurementKind*, 1> http_measurements{&http_status_measurement};

boost::asio::awaitable<ProbeResult> probe_http(const ProbeRequest& target, const HttpSettings& settings, ProbeContext& context);

// A request as tierwatch sends one: `verb` and `path`, Host, its User-Agent, and Connection: close
// (one request a connection). The http prober's and the mail_domain prober's MTA-STS fetch.
boost::beast::http::request<boost::beast::http::empty_body> make_http_request(boost::beast::http::verb verb,
                                                                               std::string_view path,
                                                                               std::string_view host);

}  // namespace tierwatch

// The `http` and `https` prober (Boost.Beast): status, body regex, bounded reads, redirects.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_http(const ProbeRequest& target, ProbeContext& context);

}  // namespace tierwatch

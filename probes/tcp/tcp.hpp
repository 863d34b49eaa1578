// The `tcp` prober: connect, and optionally check the first line the server sends.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tcp(const ProbeRequest& target, const TcpSettings& settings, ProbeContext& context);

}  // namespace tierwatch

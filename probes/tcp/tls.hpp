// The `tls` prober: implicit TLS, chain and host-name verification, certificate facts.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tls(const ProbeRequest& target, const TcpSettings& settings, ProbeContext& context);

}  // namespace tierwatch

// The pop3 and pop3s prober: greeting, CAPA, STLS, USER/PASS or AUTH PLAIN, STAT, QUIT.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_pop3(const ProbeRequest& target, const MailSettings& settings, ProbeContext& context);

}  // namespace tierwatch

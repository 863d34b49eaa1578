// The imap and imaps prober: greeting, CAPABILITY, STARTTLS, LOGIN or AUTHENTICATE PLAIN, EXAMINE,
// LOGOUT.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_imap(const ProbeRequest& target, const MailSettings& settings, ProbeContext& context);

}  // namespace tierwatch

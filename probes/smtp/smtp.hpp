// The smtp, smtps, submission and lmtp prober: greeting, EHLO (LHLO), STARTTLS, AUTH, QUIT.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_smtp(const ProbeRequest& target, const MailSettings& settings, ProbeContext& context);

}  // namespace tierwatch

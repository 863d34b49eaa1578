// The fcrdns prober: forward-confirmed reverse DNS of a node's outbound address, which large
// mailbox providers require of a sender: a PTR record exists, one of its names resolves back to
// the address, and (expect_hostname, match_greeting) that name is the one the MTA calls itself.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/probe.hpp"

namespace tierwatch {

// Reasons, in the order they are checked: no_ptr (NXDOMAIN or no PTR record), ptr_mismatch (no
// PTR name has an A/AAAA record holding the address), hostname_mismatch (none of the confirmed
// names is expect_hostname), greeting_mismatch (match_greeting: none is the host name the SMTP
// greeting announces; a greeting that cannot be read fails with its connection's reason, e.g.
// connect_refused or bad_greeting); timeout when the deadline passes, dns for SERVFAIL or REFUSED.
boost::asio::awaitable<ProbeResult> probe_fcrdns(const ProbeRequest& target, const FcrdnsSettings& settings, ProbeContext& context);

}  // namespace tierwatch

// Reading a server's first line and matching it against a check's banner_regex.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "probes/net/connection.hpp"

namespace tierwatch {

// No-op when the check has no banner_regex; else reads one line in the greeting phase and
// fails with bad_greeting when it does not match.
boost::asio::awaitable<bool> expect_banner(ProbeSession& session, const TcpSettings& settings);

}  // namespace tierwatch

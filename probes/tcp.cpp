// The tcp prober: a connect, then the optional banner expectation.
#include "probes/tcp.hpp"

#include "probes/banner.hpp"
#include "probes/connection.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tcp(const ProbeTarget& target, ProbeContext& context) {
    ProbeSession session(target, context);
    if (co_await session.connect()) co_await expect_banner(session);
    co_return session.finish();
}

}  // namespace tierwatch

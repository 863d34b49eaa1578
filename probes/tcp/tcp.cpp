// The tcp prober: a connect, then the optional banner expectation.
#include "probes/tcp/tcp.hpp"

#include "probes/tcp/banner.hpp"
#include "probes/net/connection.hpp"
#include "probes/tcp/dialogue.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tcp(const ProbeRequest& target, const TcpSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    if (const bool connected = co_await session.connect(); connected) {
        if (settings.dialogue.empty()) {
            co_await expect_banner(session, settings);
        } else {
            co_await run_dialogue(session, settings);
        }
    }
    co_return session.finish();
}

}  // namespace tierwatch

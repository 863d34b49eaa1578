// The tls prober: connect, handshake, verify, then the optional banner expectation.
#include "probes/tcp/tls.hpp"

#include "probes/net/banner.hpp"
#include "probes/net/connection.hpp"
#include "probes/tcp/dialogue.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tls(const ProbeTarget& target, ProbeContext& context) {
    ProbeSession session(target, context);
    if (co_await session.connect() && co_await session.start_tls()) {
        bool dialogue_ok = false;  // a named local: GCC 12 mis-compiles co_await in conditions
        if (session.check().dialogue.empty()) {
            dialogue_ok = co_await expect_banner(session);
        } else {
            dialogue_ok = co_await run_dialogue(session);
        }
        if (dialogue_ok) co_await session.collect_session_ticket();
    }
    co_return session.finish();
}

}  // namespace tierwatch

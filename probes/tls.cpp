// The tls prober: connect, handshake, verify, then the optional banner expectation.
#include "probes/tls.hpp"

#include "probes/banner.hpp"
#include "probes/connection.hpp"
#include "probes/dialogue.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tls(const ProbeTarget& target, ProbeContext& context) {
    ProbeSession session(target, context);
    if (co_await session.connect() && co_await session.start_tls()) {
        if (session.check().dialogue.empty()) {
            co_await expect_banner(session);
        } else {
            co_await run_dialogue(session);
        }
    }
    co_return session.finish();
}

}  // namespace tierwatch

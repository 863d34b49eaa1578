// The tls prober: connect, handshake, verify, then the optional banner expectation.
#include "probes/tcp/tls.hpp"

#include "probes/tcp/banner.hpp"
#include "probes/net/connection.hpp"
#include "probes/tcp/dialogue.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_tls(const ProbeRequest& target, const TcpSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    // Named locals: GCC 12 mis-compiles co_await in conditions (probes/mail/mail_session.hpp).
    bool ready = co_await session.connect();
    if (ready) ready = co_await session.start_tls();
    if (ready) {
        bool dialogue_ok = false;
        if (settings.dialogue.empty()) {
            dialogue_ok = co_await expect_banner(session, settings);
        } else {
            dialogue_ok = co_await run_dialogue(session, settings);
        }
        if (dialogue_ok) co_await session.collect_session_ticket();
    }
    co_return session.finish();
}

}  // namespace tierwatch

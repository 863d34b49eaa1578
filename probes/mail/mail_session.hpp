// The thin coroutine half shared by the SMTP, IMAP and POP3 probers: opening the session, reading
// one parsed reply through ProbeSession's bounded line reader, and checking capabilities.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>

#include "probes/net/connection.hpp"
#include "probes/wire/mail_common.hpp"

namespace tierwatch {

// A note on style in the mail probers: GCC 12 miscompiles `if (!co_await f())` in a coroutine
// frame without named locals (the resumed frame hits ud2), so each awaited result is bound to a
// named bool, and strings passed to a coroutine are named rather than temporaries.

// Connects, does the TLS handshake for implicit-TLS protocols (smtps, imaps, pop3s), and starts
// the greeting phase.
boost::asio::awaitable<bool> open_mail_session(ProbeSession& session);

// Feeds lines to `parser` until it holds a whole reply. A malformed reply fails the probe with
// `on_invalid`: bad_greeting for a greeting (the port speaks something else), else protocol.
template <class Parser>
boost::asio::awaitable<bool> read_reply(ProbeSession& session, Parser& parser,
                                        FailureReason on_invalid = FailureReason::protocol) {
    std::string_view line;
    while (true) {
        if (const bool ok = co_await session.read_line(line, max_mail_line); !ok) co_return false;
        switch (parser.feed(line)) {
            case ParseStatus::complete:
                co_return true;
            case ParseStatus::invalid:
                co_return session.fail(on_invalid, parser.error());
            case ParseStatus::need_more:
                break;
        }
    }
}

// Opens the session and reads the greeting into `parser`.
template <class Parser>
boost::asio::awaitable<bool> read_greeting(ProbeSession& session, Parser& parser) {
    if (const bool ok = co_await open_mail_session(session); !ok) co_return false;
    co_return co_await read_reply(session, parser, FailureReason::bad_greeting);
}

// Fails with protocol, naming what is missing, unless `offered` has every expect_capabilities
// entry of the check (STARTTLS and STLS count as offered once the session was upgraded).
bool check_capabilities(ProbeSession& session, const MailSettings& settings, std::span<const std::string> offered);

// Fails with protocol when STARTTLS was asked for and `offered` lacks `keyword` (STARTTLS, STLS).
bool check_starttls_offered(ProbeSession& session, std::span<const std::string> offered,
                            std::string_view keyword);

}  // namespace tierwatch

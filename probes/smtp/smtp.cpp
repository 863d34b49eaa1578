// The SMTP-family dialogue, driven over ProbeSession with the sans-io SmtpReplyParser.
#include "probes/smtp/smtp.hpp"

#include <algorithm>

#include "probes/mail/mail_session.hpp"
#include "probes/smtp/smtp_client.hpp"

namespace tierwatch {

namespace asio = boost::asio;

asio::awaitable<bool> SmtpClient::open() {
    if (const bool ok = co_await read_greeting(session_, parser_); !ok) co_return false;
    // A 4xx/5xx greeting (554 from postscreen or an RBL, 421 when overloaded) is the server
    // turning us away before any dialogue.
    if (reply().code != 220) {
        co_return session_.fail(FailureReason::bad_greeting, "greeting " + reply().summary());
    }
    session_.begin(Phase::command);
    if (const bool ok = co_await hello(); !ok) co_return false;
    if (mail_.starttls) {
        if (!check_starttls_offered(session_, capabilities_, "STARTTLS")) co_return false;
        if (const bool ok = co_await command("STARTTLS\r\n", "STARTTLS", 220); !ok) {
            co_return false;
        }
        if (const bool ok = co_await session_.start_tls(); !ok) co_return false;
        session_.begin(Phase::command);
        // RFC 3207: everything learnt before TLS is void; the capabilities after it count.
        if (const bool ok = co_await hello(); !ok) co_return false;
    }
    if (!check_capabilities(session_, mail_, capabilities_)) co_return false;
    if (!request_.username.empty()) {
        session_.begin(Phase::auth);
        if (const bool ok = co_await authenticate(); !ok) co_return false;
        session_.begin(Phase::command);
    }
    co_return true;
}

asio::awaitable<bool> SmtpClient::quit() {
    co_return co_await command("QUIT\r\n", "QUIT", 221);
}

asio::awaitable<bool> SmtpClient::command(std::string_view line, std::string_view name,
                                          int expected, int expected_high) {
    if (const bool ok = co_await exchange(line); !ok) co_return false;
    if (reply().code < expected || reply().code > std::max(expected, expected_high)) {
        co_return session_.fail(FailureReason::protocol,
                                std::string(name) + " answered " + reply().summary());
    }
    co_return true;
}

asio::awaitable<bool> SmtpClient::exchange(std::string_view line) {
    if (const bool ok = co_await session_.write(line); !ok) co_return false;
    co_return co_await read_reply(session_, parser_);
}

asio::awaitable<bool> SmtpClient::hello() {
    const bool lmtp = request_.protocol == Protocol::lmtp;
    const std::string verb = lmtp ? "LHLO" : "EHLO";
    const std::string line = verb + " " + mail_.helo_name + "\r\n";
    if (const bool ok = co_await command(line, verb, 250); !ok) co_return false;
    capabilities_ = ehlo_capabilities(reply());
    co_return true;
}

asio::awaitable<bool> SmtpClient::authenticate() {
    const bool plain = mail_.auth == MailAuth::plain;
    const std::string_view mechanism = plain ? "PLAIN" : "LOGIN";
    if (!has_capability(capabilities_, "AUTH " + std::string(mechanism))) {
        // Postfix offers AUTH only after STARTTLS by default (smtpd_tls_auth_only).
        co_return session_.fail(FailureReason::protocol,
                                "AUTH " + std::string(mechanism) + " not offered");
    }
    const std::string& password = request_.password_text();
    if (plain) {
        const std::string line = "AUTH PLAIN " + sasl_plain(request_.username, password) + "\r\n";
        if (const bool ok = co_await exchange(line); !ok) co_return false;
    } else {
        // RFC 4954 LOGIN: two 334 challenges (user name, password), each answered in base64.
        if (const bool ok = co_await exchange("AUTH LOGIN\r\n"); !ok) co_return false;
        for (const std::string_view answer : {request_.username, std::string_view(password)}) {
            if (reply().code != 334) break;
            const std::string line = base64_encode(answer) + "\r\n";
            if (const bool ok = co_await exchange(line); !ok) co_return false;
        }
    }
    if (reply().code == 235) co_return true;
    // 535 bad credentials, 534 mechanism too weak, 538 needs TLS, 454 temporary failure: the
    // login was refused. 500-504 mean the server did not understand us.
    const bool refused = reply().code >= 400 && !(reply().code >= 500 && reply().code <= 504);
    co_return session_.fail(refused ? FailureReason::auth : FailureReason::protocol,
                            "AUTH " + std::string(mechanism) + " answered " + reply().summary());
}

boost::asio::awaitable<ProbeResult> probe_smtp(const ProbeRequest& target, const MailSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    SmtpClient client(session, settings);
    if (const bool opened = co_await client.open(); opened) co_await client.quit();
    co_return session.finish();
}

}  // namespace tierwatch

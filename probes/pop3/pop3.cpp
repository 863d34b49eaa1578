// The POP3 dialogue, driven over ProbeSession with the sans-io Pop3ReplyParser.
#include "probes/pop3/pop3.hpp"

#include <algorithm>

#include "probes/mail/mail_session.hpp"
#include "probes/wire/pop3_parser.hpp"

namespace tierwatch {

namespace {

namespace asio = boost::asio;

class Pop3Dialogue {
public:
    Pop3Dialogue(ProbeSession& session, const MailSettings& settings)
        : session_(session), request_(session.target()), mail_(settings) {}

    asio::awaitable<bool> run() {
        parser_.expect(false);
        if (const bool ok = co_await read_greeting(session_, parser_); !ok) co_return false;
        if (!reply().ok()) {
            co_return session_.fail(FailureReason::bad_greeting, "greeting " + reply().summary());
        }
        session_.begin(Phase::command);
        if (const bool ok = co_await capa(); !ok) co_return false;
        if (mail_.starttls) {
            if (!check_starttls_offered(session_, capabilities_, "STLS")) co_return false;
            if (const bool ok = co_await command("STLS\r\n", "STLS"); !ok) co_return false;
            if (const bool ok = co_await session_.start_tls(); !ok) co_return false;
            session_.begin(Phase::command);
            // RFC 2595 4: capabilities may change with TLS; ask again.
            if (const bool ok = co_await capa(); !ok) co_return false;
        }
        if (!check_capabilities(session_, mail_, capabilities_)) co_return false;
        if (!request_.username.empty()) {
            session_.begin(Phase::auth);
            if (const bool ok = co_await login(); !ok) co_return false;
            session_.begin(Phase::command);
            if (const bool ok = co_await command("STAT\r\n", "STAT"); !ok) co_return false;
        }
        co_return co_await command("QUIT\r\n", "QUIT");
    }

private:
    const Pop3Reply& reply() const noexcept { return parser_.reply(); }

    asio::awaitable<bool> exchange(std::string_view line, bool multi_line = false) {
        parser_.expect(multi_line);
        if (const bool ok = co_await session_.write(line); !ok) co_return false;
        co_return co_await read_reply(session_, parser_);
    }

    // Sends `line`; fails unless the answer is +OK (-ERR to a login step is auth).
    asio::awaitable<bool> command(std::string_view line, std::string_view name,
                                  FailureReason on_err = FailureReason::protocol) {
        if (const bool ok = co_await exchange(line); !ok) co_return false;
        co_return verdict(name, on_err);
    }

    // The verdict on the reply just read.
    bool verdict(std::string_view name, FailureReason on_err) {
        if (reply().ok()) return true;
        return session_.fail(
            reply().kind == Pop3Reply::Kind::err ? on_err : FailureReason::protocol,
            std::string(name) + " answered " + reply().summary());
    }

    // RFC 2449 CAPA is optional: a server without it has no capabilities to list.
    asio::awaitable<bool> capa() {
        if (const bool ok = co_await exchange("CAPA\r\n", true); !ok) co_return false;
        capabilities_ = reply().ok() ? reply().lines : std::vector<std::string>{};
        co_return true;
    }

    asio::awaitable<bool> login() {
        const std::string& password = request_.password_text();
        if (mail_.auth == MailAuth::plain) {
            // RFC 5034 initial response; a server that wants it separately sends "+ " first.
            const std::string response = sasl_plain(request_.username, password);
            const std::string initial = "AUTH PLAIN " + response + "\r\n";
            if (const bool ok = co_await exchange(initial); !ok) co_return false;
            if (reply().kind == Pop3Reply::Kind::challenge) {
                const std::string answer = response + "\r\n";
                co_return co_await command(answer, "AUTH PLAIN", FailureReason::auth);
            }
            co_return verdict("AUTH PLAIN", FailureReason::auth);
        }
        // USER and PASS are single lines: a CR or LF in either would start another command.
        const auto line_safe = [](std::string_view text) {
            return std::none_of(text.begin(), text.end(),
                                [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
        };
        if (!line_safe(request_.username) || !line_safe(password)) {
            co_return session_.fail(
                FailureReason::auth,
                "USER/PASS cannot send a line break or NUL; use auth_mechanism = \"plain\"");
        }
        const std::string user = "USER " + std::string(request_.username) + "\r\n";
        if (const bool ok = co_await command(user, "USER", FailureReason::auth); !ok) {
            co_return false;
        }
        const std::string pass = "PASS " + password + "\r\n";
        co_return co_await command(pass, "PASS", FailureReason::auth);
    }

    ProbeSession& session_;
    const ProbeRequest& request_;
    const MailSettings& mail_;
    Pop3ReplyParser parser_;
    std::vector<std::string> capabilities_;
};

}  // namespace

boost::asio::awaitable<ProbeResult> probe_pop3(const ProbeRequest& target, const MailSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    Pop3Dialogue dialogue(session, settings);
    co_await dialogue.run();
    co_return session.finish();
}

}  // namespace tierwatch

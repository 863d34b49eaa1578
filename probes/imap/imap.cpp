// The IMAP dialogue (ImapClient), driven over ProbeSession with the sans-io ImapResponseParser,
// and the imap prober built on it.
#include "probes/imap/imap.hpp"

#include "probes/imap/imap_client.hpp"
#include "probes/mail/mail_session.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

// Like read_reply, but a literal's bytes are read raw rather than as lines, so a literal may hold
// lines longer than the line bound (message bodies, base64 without line breaks); the parser
// bounds the literal bytes of one response.
asio::awaitable<bool> read_imap_response(ProbeSession& session, ImapResponseParser& parser) {
    std::string_view line;
    while (true) {
        if (parser.literal_remaining() > 0) {
            std::string_view bytes;
            if (const bool ok =
                    co_await session.read_bytes(bytes, parser.literal_remaining(), max_mail_line);
                !ok) {
                co_return false;
            }
            parser.feed_literal(bytes);
            continue;
        }
        if (const bool ok = co_await session.read_line(line, max_mail_line); !ok) co_return false;
        switch (parser.feed(line)) {
            case ParseStatus::complete:
                co_return true;
            case ParseStatus::invalid:
                co_return session.fail(FailureReason::protocol, parser.error());
            case ParseStatus::need_more:
                break;
        }
    }
}

}  // namespace

asio::awaitable<bool> ImapClient::open() {
    if (const bool ok = co_await read_greeting(session_, parser_); !ok) co_return false;
    const ImapResponse& greeting = parser_.response();
    preauth_ = greeting.status == ImapStatus::preauth;
    if (greeting.kind != ImapResponse::Kind::untagged ||
        (greeting.status != ImapStatus::ok && !preauth_)) {
        // "* BYE" is a server refusing the connection (overloaded, or our address blocked).
        co_return session_.fail(FailureReason::bad_greeting, "greeting " + greeting.summary());
    }
    session_.begin(Phase::command);
    // Dovecot and nginx announce capabilities in the greeting, saving a round trip.
    if (!imap_capabilities(greeting, capabilities_)) {
        if (const bool ok = co_await command("CAPABILITY"); !ok) co_return false;
    }
    if (mail_.starttls) {
        if (!check_starttls_offered(session_, capabilities_, "STARTTLS")) co_return false;
        if (preauth_) {
            co_return session_.fail(FailureReason::protocol, "STARTTLS impossible after PREAUTH");
        }
        if (const bool ok = co_await command("STARTTLS"); !ok) co_return false;
        if (const bool ok = co_await session_.start_tls(); !ok) co_return false;
        session_.begin(Phase::command);
        // RFC 3501 6.2.1: capabilities from before TLS must be forgotten and asked for again.
        capabilities_.clear();
        if (const bool ok = co_await command("CAPABILITY"); !ok) co_return false;
    }
    if (!check_capabilities(session_, mail_, capabilities_)) co_return false;
    if (!request_.username.empty() && !preauth_) {
        session_.begin(Phase::auth);
        if (const bool ok = co_await login(); !ok) co_return false;
        session_.begin(Phase::command);
    }
    co_return true;
}

asio::awaitable<bool> ImapClient::login() {
    const std::string& password = request_.password_text();
    if (mail_.auth == MailAuth::plain) {
        if (!has_capability(capabilities_, "AUTH=PLAIN")) {
            co_return session_.fail(FailureReason::protocol, "AUTH=PLAIN not offered");
        }
        const std::string response = sasl_plain(request_.username, password) + "\r\n";
        co_return co_await command("AUTHENTICATE PLAIN", {}, std::span(&response, 1));
    }
    if (has_capability(capabilities_, "LOGINDISABLED")) {
        co_return session_.fail(FailureReason::protocol,
                                "LOGIN disabled by the server (LOGINDISABLED)");
    }
    const std::string_view arguments[] = {request_.username, password};
    co_return co_await command("LOGIN", arguments);
}

asio::awaitable<bool> ImapClient::command(std::string_view verb,
                                          std::span<const std::string_view> arguments,
                                          std::span<const std::string> continuations) {
    const std::string tag = "A" + std::to_string(++tags_);
    std::vector<std::string> parts = imap_command(tag, verb, arguments);
    if (parts.empty()) {
        co_return session_.fail(FailureReason::auth,
                                std::string(verb) + " impossible: an argument holds a NUL byte");
    }
    parts.insert(parts.end(), continuations.begin(), continuations.end());
    co_return co_await exchange(verb, tag, parts);
}

asio::awaitable<bool> ImapClient::raw_command(std::string_view line) {
    const std::string tag = "A" + std::to_string(++tags_);
    const std::string part = tag + " " + std::string(line) + "\r\n";
    // The verb for messages: "UID SEARCH" of "UID SEARCH HEADER ...".
    const std::size_t first = line.find(' ');
    const std::size_t second = line.starts_with("UID ") ? line.find(' ', first + 1) : first;
    co_return co_await exchange(line.substr(0, second), tag, std::span(&part, 1));
}

asio::awaitable<bool> ImapClient::exchange(std::string_view verb, std::string_view tag,
                                           std::span<const std::string> parts) {
    search_results_.clear();
    if (const bool ok = co_await session_.write(parts.front()); !ok) co_return false;
    std::size_t next = 1;
    while (true) {
        if (const bool ok = co_await read_imap_response(session_, parser_); !ok) co_return false;
        const ImapResponse& response = parser_.response();
        switch (response.kind) {
            case ImapResponse::Kind::continuation:
                if (next == parts.size()) {
                    co_return session_.fail(FailureReason::protocol,
                                            "unexpected continuation after " + std::string(verb));
                }
                if (const bool ok = co_await session_.write(parts[next++]); !ok) co_return false;
                continue;
            case ImapResponse::Kind::untagged:
                imap_capabilities(response, capabilities_);
                if (!imap_search_results(response, search_results_)) {
                    co_return session_.fail(FailureReason::protocol,
                                            "malformed SEARCH response: " + response.summary());
                }
                if (response.status == ImapStatus::bye && verb != "LOGOUT") {
                    co_return session_.fail(
                        FailureReason::protocol,
                        std::string(verb) + " ended the session: " + response.summary());
                }
                continue;
            case ImapResponse::Kind::tagged:
                break;
        }
        if (response.tag != tag) {
            co_return session_.fail(FailureReason::protocol, "response for unknown tag " +
                                                                 printable_excerpt(response.tag) +
                                                                 " to " + std::string(verb));
        }
        if (response.status == ImapStatus::ok) co_return true;
        const bool login = verb == "LOGIN" || verb.starts_with("AUTHENTICATE");
        co_return session_.fail(login && response.status == ImapStatus::no
                                    ? FailureReason::auth
                                    : FailureReason::protocol,
                                std::string(verb) + " answered " + response.summary());
    }
}

boost::asio::awaitable<ProbeResult> probe_imap(const ProbeRequest& target, const MailSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    ImapClient client(session, settings);
    bool ok = co_await client.open();
    if (ok && (!target.username.empty() || client.preauthenticated())) {
        const std::string_view mailbox = settings.mailbox;
        ok = co_await client.command("EXAMINE", std::span(&mailbox, 1));
    }
    if (ok) co_await client.command("LOGOUT");
    co_return session.finish();
}

}  // namespace tierwatch

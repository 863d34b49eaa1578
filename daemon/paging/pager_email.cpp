// E-mail pager over an SMTP relay: the message builder (sans-io) and one SMTP dialogue per page.
#include "daemon/paging/pager_email.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "daemon/clock/rfc3339.hpp"
#include "probes/net/connection.hpp"
#include "probes/wire/line_reader.hpp"
#include "probes/wire/mail_common.hpp"
#include "probes/wire/smtp_parser.hpp"
#include "probes/net/tls_context.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    return out;
}

std::string rfc5322_date(TimePoint t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return text;
}

// A Message-ID local part from the dedup key: stable per alarm so replies thread together.
std::string thread_id(std::string_view key) {
    std::string id;
    for (const char c : key) id.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '.');
    return id;
}

}  // namespace

std::string email_message(const PageEvent& event, const std::string& from,
                          const std::vector<std::string>& to) {
    const bool resolved = event.action == PageAction::resolve;
    std::string headers;
    headers += "From: " + one_line(from) + "\r\n";
    std::string recipients;
    for (const auto& address : to)
        recipients += (recipients.empty() ? "" : ", ") + one_line(address);
    headers += "To: " + recipients + "\r\n";
    headers += "Subject: [tierwatch] " + std::string(resolved ? "RESOLVED" : "FIRING") + " " +
               std::string(to_string(event.severity)) + " tier " + std::to_string(event.tier) +
               ": " + one_line(event.summary) + "\r\n";
    headers += "Date: " + rfc5322_date(event.at) + "\r\n";
    const std::string thread = thread_id(event.dedup_key);
    const auto at =
        std::chrono::duration_cast<std::chrono::milliseconds>(event.at.time_since_epoch()).count();
    headers += "Message-ID: <" + thread + "." + std::string(to_string(event.action)) + "." +
               std::to_string(at) + "@tierwatch.invalid>\r\n";
    headers += "In-Reply-To: <" + thread + "@tierwatch.invalid>\r\n";
    headers += "References: <" + thread + "@tierwatch.invalid>\r\n";
    headers += "X-Tierwatch-Dedup-Key: " + one_line(event.dedup_key) + "\r\n";
    headers += "X-Tierwatch-Action: " + std::string(to_string(event.action)) + "\r\n";
    headers +=
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n";

    std::string body = event.summary + "\n\n";
    body += "status: " + std::string(resolved ? "resolved" : "firing") + " (" +
            std::string(to_string(event.action)) + ")\n";
    for (const auto& [name, value] : event.label_pairs())
        body += std::string(name) + ": " + value + "\n";
    body += "dedup_key: " + event.dedup_key + "\n";
    body += "since: " + format_rfc3339(event.starts_at) + "\n";
    body += "at: " + format_rfc3339(event.at) + "\n";

    // CRLF line ends and dot-stuffing (RFC 5321 4.5.2), then the end-of-data line.
    std::string message = headers;
    std::size_t start = 0;
    while (start < body.size()) {
        auto end = body.find('\n', start);
        if (end == std::string::npos) end = body.size();
        std::string_view line(body.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.starts_with('.')) message += '.';
        message.append(line);
        message += "\r\n";
        start = end + 1;
    }
    message += ".\r\n";
    return message;
}

namespace {

class EmailPager final : public Pager {
public:
    EmailPager(const PagerConfig& config, const PagerOptions& options)
        : Pager(config, options, "") {
        from_ = config.email.from;
        to_ = config.email.to;
        if (to_.empty()) throw std::runtime_error("pager " + name_ + ": \"to\" lists no recipient");
        starttls_ = !url_.tls && config.email.starttls;
        helo_ = config.email.helo_name;
        username_ = config.email.username;
        if (!username_.empty()) {
            password_ = read_secret_file(config.secret_file, "SMTP password");
            secrets_.push_back(password_.reveal());
            secrets_.push_back(sasl_plain(username_, password_.reveal()));
        }
    }

    PagerRequest request(const PageEvent& event) const override {
        PagerRequest message;
        message.body = email_message(event, from_, to_);
        return message;
    }

    asio::awaitable<SendResult> deliver(asio::any_io_executor executor, const PageEvent& event,
                                        TlsContextCache& tls_contexts) const override;

private:
    std::string from_;
    std::vector<std::string> to_;
    bool starttls_ = true;
    std::string helo_;
    std::string username_;
    Secret password_;
};

// One SMTP dialogue with a deadline that closes the socket when it fires.
struct SmtpDialogue {
    SmtpDialogue(asio::any_io_executor executor, const Pager& pager)
        : stream(executor), timer(std::make_shared<asio::steady_timer>(executor)), pager(pager) {}

    ProbeStream stream;
    std::shared_ptr<asio::steady_timer> timer;
    struct Deadline {
        bool expired = false;
        bool done = false;  // the dialogue is over: a late expiry must not touch it
    };
    std::shared_ptr<Deadline> deadline = std::make_shared<Deadline>();
    const Pager& pager;
    LineReader lines{8192};
    SmtpReplyParser parser;
    SendResult failure;

    void arm(std::chrono::milliseconds timeout) {
        timer->expires_after(timeout);
        timer->async_wait(
            [deadline = deadline, this_stream = &stream](boost::system::error_code ec) {
                if (ec || deadline->done) return;
                deadline->expired = true;
                this_stream->close();
            });
    }

    SendResult fail_io(const boost::system::error_code& error, std::string_view during) {
        SendResult result;
        result.failure = deadline->expired ? SendFailure::timeout : SendFailure::io;
        result.detail =
            std::string(during) + ": " + (deadline->expired ? "deadline expired" : error.message());
        return result;
    }

    asio::awaitable<bool> write(std::string_view data, std::string_view during) {
        auto [error, written] = co_await asio::async_write(stream, asio::buffer(data), use_tuple);
        if (error) failure = fail_io(error, during);
        co_return !error;
    }

    // Reads one whole reply; false with `failure` set on I/O errors or garbage.
    asio::awaitable<bool> reply(SmtpReply& out, std::string_view during) {
        parser.reset();
        while (true) {
            std::string_view line;
            const auto status = lines.next(line);
            if (status == LineReader::Status::too_long) {
                failure = {SendFailure::bad_response,
                           0,
                           std::string(during) + ": reply line too long",
                           {}};
                co_return false;
            }
            if (status == LineReader::Status::line) {
                const auto parsed = parser.feed(line);
                if (parsed == ParseStatus::invalid) {
                    failure = {SendFailure::bad_response,
                               0,
                               std::string(during) + ": " + parser.error(),
                               {}};
                    co_return false;
                }
                if (parsed == ParseStatus::complete) {
                    out = parser.reply();
                    co_return true;
                }
                continue;
            }
            const auto space = lines.prepare();
            auto [error, received] = co_await stream.async_read_some(
                asio::buffer(space.data(), space.size()), use_tuple);
            if (error) {
                failure = fail_io(error, during);
                co_return false;
            }
            lines.commit(received);
        }
    }

    // Sends `command` (if any) and expects a reply in [low, high]; a 4xx is retried later and
    // a 5xx refuses the page, except during AUTH (a password fix makes it work: retried).
    asio::awaitable<bool> step(std::string_view command, int low, int high, std::string_view during,
                               SmtpReply* out = nullptr) {
        if (!command.empty() && !co_await write(command, during)) co_return false;
        SmtpReply got;
        if (!co_await reply(got, during)) co_return false;
        if (out != nullptr) *out = got;
        if (got.code >= low && got.code <= high) co_return true;
        failure.status = static_cast<unsigned>(got.code);
        failure.detail = std::string(during) + ": " + pager.redact(got.summary());
        failure.failure = during == "AUTH"  ? SendFailure::auth
                          : got.code >= 500 ? SendFailure::smtp_rejected
                                            : SendFailure::smtp_transient;
        co_return false;
    }

    asio::awaitable<bool> handshake(TlsContextCache& contexts) {
        asio::ssl::context* context = nullptr;
        try {
            context = &contexts.get(pager.tls());
        } catch (const std::exception& error) {
            failure = {SendFailure::tls, 0, error.what(), {}};
            co_return false;
        }
        stream.start_tls(*context);
        const auto address = stream.lowest_layer().remote_endpoint().address().to_string();
        configure_client_ssl(stream.tls().native_handle(), pager.tls(), pager.url().host, address);
        auto [error] =
            co_await stream.tls().async_handshake(asio::ssl::stream_base::client, use_tuple);
        if (error) {
            failure = fail_io(error, "TLS handshake");
            if (failure.failure == SendFailure::io) failure.failure = SendFailure::tls;
            co_return false;
        }
        std::string why;
        if (verification_failure(stream.tls().native_handle(), pager.tls(), why) !=
            FailureReason::none) {
            failure = {SendFailure::tls, 0, "certificate of " + pager.url().host + ": " + why, {}};
            co_return false;
        }
        co_return true;
    }
};

asio::awaitable<SendResult> EmailPager::deliver(asio::any_io_executor executor,
                                                const PageEvent& event,
                                                TlsContextCache& tls_contexts) const {
    SmtpDialogue smtp(executor, *this);
    smtp.arm(timeout_);
    struct Disarm {
        SmtpDialogue& d;
        ~Disarm() {
            d.deadline->done = true;
            d.timer->cancel();
        }
    } disarm{smtp};

    asio::ip::tcp::resolver resolver(executor);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(url_.host, std::to_string(url_.port), use_tuple);
    if (resolve_error)
        co_return SendResult{
            SendFailure::resolve, 0, "resolve " + url_.host + ": " + resolve_error.message(), {}};
    auto [connect_error, endpoint] =
        co_await asio::async_connect(smtp.stream.lowest_layer(), endpoints, use_tuple);
    if (connect_error) {
        auto result = smtp.fail_io(connect_error, "connect");
        if (result.failure == SendFailure::io) result.failure = SendFailure::connect;
        co_return result;
    }
    if (url_.tls && !co_await smtp.handshake(tls_contexts)) co_return smtp.failure;

    SmtpReply ehlo;
    const std::string hello = "EHLO " + helo_ + "\r\n";
    if (!co_await smtp.step("", 220, 220, "greeting") ||
        !co_await smtp.step(hello, 250, 250, "EHLO", &ehlo)) {
        co_return smtp.failure;
    }
    if (starttls_) {
        if (!has_capability(ehlo_capabilities(ehlo), "STARTTLS")) {
            co_return SendResult{
                SendFailure::tls, 0, "relay " + url_.host + " does not offer STARTTLS", {}};
        }
        // Bytes after the 220 would be a plaintext injection into the TLS session.
        if (!co_await smtp.step("STARTTLS\r\n", 220, 220, "STARTTLS")) co_return smtp.failure;
        if (!smtp.lines.pending().empty()) {
            co_return SendResult{SendFailure::bad_response, 0, "data after STARTTLS reply", {}};
        }
        if (!co_await smtp.handshake(tls_contexts) ||
            !co_await smtp.step(hello, 250, 250, "EHLO", &ehlo)) {
            co_return smtp.failure;
        }
    }
    if (!username_.empty()) {
        if (!smtp.stream.tls_active()) {
            co_return SendResult{SendFailure::tls, 0, "refusing AUTH without TLS", {}};
        }
        const std::string auth = "AUTH PLAIN " + sasl_plain(username_, password_.reveal()) + "\r\n";
        if (!co_await smtp.step(auth, 235, 235, "AUTH")) co_return smtp.failure;
    }
    if (!co_await smtp.step("MAIL FROM:<" + from_ + ">\r\n", 250, 250, "MAIL FROM"))
        co_return smtp.failure;
    for (const auto& address : to_) {
        if (!co_await smtp.step("RCPT TO:<" + address + ">\r\n", 250, 251, "RCPT TO"))
            co_return smtp.failure;
    }
    if (!co_await smtp.step("DATA\r\n", 354, 354, "DATA") ||
        !co_await smtp.step(email_message(event, from_, to_), 250, 250, "end of data")) {
        co_return smtp.failure;
    }
    // The relay has the message; a failing QUIT changes nothing.
    co_await smtp.write("QUIT\r\n", "QUIT");
    co_return SendResult{};
}

}  // namespace

std::unique_ptr<Pager> make_email_pager(const PagerConfig& config, const PagerOptions& options) {
    return std::make_unique<EmailPager>(config, options);
}

}  // namespace tierwatch

// E-mail pager over an SMTP relay: the message builder (sans-io), and one dialogue per page driven
// by the probes' SMTP client over the probes' connection stack.
#include "daemon/paging/pager_email.hpp"

#include <unistd.h>

#include <cctype>
#include <ctime>
#include <stdexcept>

#include "daemon/clock/rfc3339.hpp"
#include "probes/net/connection.hpp"
#include "probes/smtp/smtp_client.hpp"
#include "probes/wire/mail_common.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

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
        // The relay is reached as an smtp/smtps probe of it would be, by the same SMTP client.
        transport_.protocol = url_.tls ? Protocol::smtps : Protocol::smtp;
        transport_.mail.starttls = starttls_;
        transport_.mail.helo_name = helo_;
        transport_.mail.auth = MailAuth::plain;
        transport_.username = username_;
        transport_.password = password_;
    }

    PagerRequest request(const PageEvent& event) const override {
        PagerRequest message;
        message.body = email_message(event, from_, to_);
        return message;
    }

protected:
    asio::awaitable<SendResult> converse(ProbeSession& session,
                                         const PageEvent& event) const override;

private:
    SendResult relay_failure(ProbeSession& session, const SmtpClient& client) const;

    std::string from_;
    std::vector<std::string> to_;
    bool starttls_ = true;
    std::string helo_;
    std::string username_;
    Secret password_;
};

SendResult EmailPager::relay_failure(ProbeSession& session, const SmtpClient& client) const {
    SendResult result = session_failure(session);
    const FailureReason reason = session.result().reason;
    const int code = client.reply().code;
    if (session.phase() == Phase::auth &&
        (reason == FailureReason::auth || reason == FailureReason::protocol)) {
        // Whatever AUTH answered, a password fix makes it work: retried, never dropped.
        result.failure = SendFailure::auth;
        result.status = static_cast<unsigned>(code);
    } else if ((reason == FailureReason::protocol || reason == FailureReason::bad_greeting) &&
               code >= 400) {
        result.status = static_cast<unsigned>(code);
        result.failure = code >= 500 ? SendFailure::smtp_rejected : SendFailure::smtp_transient;
    } else if (reason == FailureReason::protocol && starttls_ && !session.stream().tls_active()) {
        result.failure = SendFailure::tls;  // the relay did not offer STARTTLS
    }
    return result;
}

asio::awaitable<SendResult> EmailPager::converse(ProbeSession& session,
                                                 const PageEvent& event) const {
    if (!username_.empty() && !url_.tls && !starttls_) {
        co_return SendResult{SendFailure::tls, 0, "refusing AUTH without TLS", {}};
    }
    SmtpClient client(session, transport_.mail);
    bool accepted = co_await client.open();
    if (accepted) {
        const std::string mail_from = "MAIL FROM:<" + from_ + ">\r\n";
        accepted = co_await client.command(mail_from, "MAIL FROM", 250);
    }
    for (const auto& address : to_) {
        if (!accepted) break;
        const std::string rcpt_to = "RCPT TO:<" + address + ">\r\n";
        accepted = co_await client.command(rcpt_to, "RCPT TO", 250, 251);
    }
    if (accepted) accepted = co_await client.command("DATA\r\n", "DATA", 354);
    if (accepted) {
        const std::string message = email_message(event, from_, to_);
        accepted = co_await client.command(message, "end of data", 250);
    }
    if (!accepted) co_return relay_failure(session, client);
    // The relay has the message; a failing QUIT changes nothing.
    co_await client.quit();
    co_return SendResult{};
}

}  // namespace

std::unique_ptr<Pager> make_email_pager(const PagerConfig& config, const PagerOptions& options) {
    return std::make_unique<EmailPager>(config, options);
}

}  // namespace tierwatch

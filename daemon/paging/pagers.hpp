// Pager kinds (Alertmanager API v2, PagerDuty Events API v2, generic JSON webhook): each turns a
// PageEvent into one HTTP request (sans-io) and says what a reply status means; the request goes
// out over the probes' connection stack (probes/net), so a receiver is reached with the same
// deadline, TLS verification and bounded reads as a probed server.
//
// Generic webhook body (POST, Content-Type: application/json), JSON Schema draft 2020-12:
//
// {
//   "$schema": "https://json-schema.org/draft/2020-12/schema",
//   "title": "tierwatch webhook page",
//   "type": "object",
//   "required": ["version", "receiver", "action", "status", "dedup_key", "alarm", "severity",
//                "tier", "summary", "labels", "starts_at", "at"],
//   "additionalProperties": false,
//   "properties": {
//     "version":   {"const": "1"},
//     "receiver":  {"type": "string", "description": "the [[pager]] name"},
//     "action":    {"enum": ["trigger", "repeat", "escalate", "resolve"]},
//     "status":    {"enum": ["firing", "resolved"]},
//     "dedup_key": {"type": "string", "description": "alarm identity, never a time or count"},
//     "alarm":     {"enum": ["target", "group", "zone_down", "nlb_down", "flapping"]},
//     "severity":  {"enum": ["ok", "warning", "critical"]},
//     "tier":      {"type": "integer", "minimum": 1, "maximum": 3},
//     "summary":   {"type": "string"},
//     "labels":    {"type": "object", "additionalProperties": {"type": "string"},
//                   "description": "node, zone, role, check, nlb, address, group when they apply"},
//     "starts_at": {"type": "string", "format": "date-time", "description": "alarm start, UTC"},
//     "at":        {"type": "string", "format": "date-time", "description": "event time, UTC"}
//   }
// }
//
// With `secret_file` set, the request carries `X-Tierwatch-Signature: sha256=<hex>`, the
// lower-case hex HMAC-SHA256 of the exact body bytes keyed with the file's contents (trailing
// whitespace removed). Receivers should compare it in constant time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/alerting.hpp"
#include "config/config.hpp"
#include "daemon/alarms/alarms.hpp"

namespace tierwatch {

class TlsContextCache;
class ProbeSession;

// http(s)://host[:port][/path], and smtp(s)://host[:port] for the e-mail pager.
struct HttpUrl {
    bool tls = false;
    std::string host;  // without brackets for IPv6
    std::uint16_t port = 0;
    std::string path;  // "/" when absent

    static std::optional<HttpUrl> parse(std::string_view text);
};

struct PagerRequest {
    std::string target;  // request path
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// What a receiver's reply means for the event.
enum class Delivery : std::uint8_t { accepted, retry, drop };

// The reason label of tierwatch_pages_failed_total; a closed set.
enum class SendFailure : std::uint8_t {
    none,
    resolve,            // the receiver's host name did not resolve
    connect,            // refused, unreachable
    tls,                // handshake or certificate verification
    timeout,            // the per-request deadline
    io,                 // reset or other error mid-exchange
    bad_response,       // not HTTP
    http_429,           // retried, honouring Retry-After
    http_5xx,           // retried
    http_4xx,           // dropped: the receiver will never accept this request
    unexpected_status,  // 1xx/3xx: dropped (a redirect means a wrong url)
    unsupported,        // never set now that every kind has a pager; kept for the metric's label set
    unknown_receiver,   // a page for a receiver with no [[pager]]
    auth,               // SMTP AUTH refused: retried, so a password fix loses no page
    smtp_transient,     // SMTP 4xx: retried
    smtp_rejected,      // SMTP 5xx: dropped
};
inline constexpr std::size_t send_failure_count = 16;
std::string_view to_string(SendFailure failure) noexcept;

struct SendResult {
    SendFailure failure = SendFailure::none;
    unsigned status = 0;
    std::string detail;  // for the log; never holds secrets or request bodies
    std::optional<std::chrono::seconds> retry_after;
};

// Maps an HTTP status (or a transport failure) to what to do with the event.
Delivery classify(const SendResult& result) noexcept;
// The failure reason for an HTTP status (none for 2xx).
SendFailure status_failure(unsigned status) noexcept;

// Lower-case hex HMAC-SHA256 of `body` under `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

struct PagerOptions {
    std::chrono::milliseconds default_timeout{10000};
    // Alertmanager forgets a firing alert resolve_timeout (default 5m) after the last post when
    // endsAt is not set; re-posting every minute keeps it well inside.
    std::chrono::milliseconds alertmanager_repost{60000};
    std::string generator_url{};  // where a human finds the alarm: the daemon's /status
    std::string source = "tierwatch";
};

class Pager {
public:
    virtual ~Pager() = default;
    const std::string& name() const noexcept { return name_; }
    PagerKind kind() const noexcept { return kind_; }
    const HttpUrl& url() const noexcept { return url_; }
    std::chrono::milliseconds timeout() const noexcept { return timeout_; }
    const TlsSettings& tls() const noexcept { return tls_; }
    // How often firing alarms are re-posted (Alertmanager); zero: never.
    std::chrono::milliseconds repost() const noexcept { return repost_; }

    // The request that delivers `event`.
    virtual PagerRequest request(const PageEvent& event) const = 0;
    // Delivers `event` within timeout(): resolves the URL's host, then runs converse() over a
    // probe session to each address in turn until one accepts the connection.
    boost::asio::awaitable<SendResult> deliver(boost::asio::any_io_executor executor,
                                               const PageEvent& event,
                                               TlsContextCache& tls_contexts) const;
    // `text` with this pager's secrets blanked out, for receiver replies that echo a request.
    std::string redact(std::string text) const;

protected:
    Pager(const PagerConfig& config, const PagerOptions& options, std::string_view default_url);

    // The whole exchange over an unconnected session: by default, connect (and TLS for https)
    // and POST request(event).
    virtual boost::asio::awaitable<SendResult> converse(ProbeSession& session,
                                                        const PageEvent& event) const;
    // The send failure for what `session` recorded, its detail redacted.
    SendResult session_failure(ProbeSession& session) const;

    // How the receiver is reached, as a probe of it would be: protocol (http, https, smtp,
    // smtps), port, timeout, TLS settings and, for the e-mail pager, the SMTP client's settings.
    Check transport_;

    std::string name_;
    PagerKind kind_;
    HttpUrl url_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds repost_{0};
    TlsSettings tls_;
    std::vector<std::string> secrets_;  // what redact() blanks out
};

// A secret file's contents without trailing whitespace; the error names the file, never its
// contents. Throws std::runtime_error.
Secret read_secret_file(const std::filesystem::path& path, std::string_view what);

// Builds the pager for one [[pager]] entry (typed and checked at load, config/alerting.hpp),
// reading its secret files. Throws std::runtime_error naming the file (never its contents) if a
// secret cannot be read.
std::unique_ptr<Pager> make_pager(const PagerConfig& config, const PagerOptions& options);

}  // namespace tierwatch

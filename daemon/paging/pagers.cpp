// Pager kinds as request builders, sent over the probes' connection stack; see pagers.hpp for the
// webhook schema.
#include "daemon/paging/pagers.hpp"
#include "daemon/clock/rfc3339.hpp"
#include "probes/net/use_tuple.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "daemon/paging/pager_email.hpp"
#include "probes/http/http_response.hpp"
#include "probes/net/connection.hpp"
#include "probes/wire/url.hpp"

#ifndef TIERWATCH_VERSION
#define TIERWATCH_VERSION "dev"
#endif

namespace tierwatch {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

std::string_view to_string(SendFailure failure) noexcept {
    switch (failure) {
        case SendFailure::none:
            return "none";
        case SendFailure::resolve:
            return "resolve";
        case SendFailure::connect:
            return "connect";
        case SendFailure::tls:
            return "tls";
        case SendFailure::timeout:
            return "timeout";
        case SendFailure::io:
            return "io";
        case SendFailure::bad_response:
            return "bad_response";
        case SendFailure::http_429:
            return "http_429";
        case SendFailure::http_5xx:
            return "http_5xx";
        case SendFailure::http_4xx:
            return "http_4xx";
        case SendFailure::unexpected_status:
            return "unexpected_status";
        case SendFailure::unsupported:
            return "unsupported";
        case SendFailure::unknown_receiver:
            return "unknown_receiver";
        case SendFailure::auth:
            return "auth";
        case SendFailure::smtp_transient:
            return "smtp_transient";
        case SendFailure::smtp_rejected:
            return "smtp_rejected";
    }
    return "unknown";
}

std::optional<HttpUrl> HttpUrl::parse(std::string_view text) {
    // The schemes a pager can post to, each a protocol whose default port is the protocol table's.
    static constexpr std::array<std::pair<std::string_view, Protocol>, 4> schemes{{
        {"http", Protocol::http}, {"https", Protocol::https}, {"smtp", Protocol::smtp}, {"smtps", Protocol::smtps}}};
    const UrlSplit split = split_url(text);
    const UrlParts& parts = split.parts;
    const auto scheme = std::find_if(schemes.begin(), schemes.end(),
                                     [&](const auto& entry) { return entry.first == parts.scheme; });
    if (!split.ok() || scheme == schemes.end() || parts.host.empty() || parts.has_userinfo) return std::nullopt;
    HttpUrl url;
    url.tls = uses_implicit_tls(scheme->second);
    url.host = std::string(parts.host);
    url.port = parts.port.value_or(*traits(scheme->second).default_port);
    url.path = parts.path.empty() ? "/" : std::string(parts.path);
    if (parts.query) url.path += "?" + std::string(*parts.query);
    return url;
}

SendFailure status_failure(unsigned status) noexcept {
    if (status >= 200 && status < 300) return SendFailure::none;
    if (status == 429) return SendFailure::http_429;
    if (status == 408 || status >= 500) return SendFailure::http_5xx;
    if (status >= 400) return SendFailure::http_4xx;
    return SendFailure::unexpected_status;
}

Delivery classify(const SendResult& result) noexcept {
    switch (result.failure) {
        case SendFailure::none:
            return Delivery::accepted;
        case SendFailure::http_4xx:
        case SendFailure::unexpected_status:
        case SendFailure::unsupported:
        case SendFailure::unknown_receiver:
        case SendFailure::smtp_rejected:
            return Delivery::drop;
        default:
            return Delivery::retry;
    }
}

namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0xf]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
    return to_hex(digest, size);
}

}  // namespace

Secret read_secret_file(const std::filesystem::path& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + std::string(what) + " file " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    std::string value = text.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' '))
        value.pop_back();
    if (value.empty())
        throw std::runtime_error(std::string(what) + " file " + path.string() + " is empty");
    return Secret(std::move(value));
}

namespace {

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t max) {
    if (text.size() <= max) return std::string(text);
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
    return std::string(text.substr(0, end));
}

std::string join_path(const std::string& base, std::string_view suffix) {
    std::string path = base;
    while (!path.empty() && path.back() == '/') path.pop_back();
    return path + std::string(suffix);
}

json::object labels_object(const PageEvent& event) {
    json::object labels;
    for (const auto& [name, value] : event.label_pairs()) labels[name] = value;
    return labels;
}

PagerRequest json_request(std::string target, const json::value& body) {
    PagerRequest request;
    request.target = std::move(target);
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = json::serialize(body);
    return request;
}

// Alertmanager API v2: one alert per request, identified by its label set.
class AlertmanagerPager final : public Pager {
public:
    AlertmanagerPager(const PagerConfig& config, const PagerOptions& options)
        : Pager(config, options, ""), generator_url_(options.generator_url) {
        repost_ = config.alertmanager.repost.value_or(options.alertmanager_repost);
        if (!config.alertmanager.generator_url.empty()) generator_url_ = config.alertmanager.generator_url;
    }

    PagerRequest request(const PageEvent& event) const override {
        json::object alert;
        json::object labels = labels_object(event);
        // alertname groups alerts in Alertmanager routes; alarm_key keeps two alarms with the
        // same visible labels (two groups of one role) from merging into one alert.
        labels["alertname"] = "tierwatch_" + std::string(to_string(event.kind));
        labels["alarm_key"] = event.dedup_key;
        alert["labels"] = std::move(labels);
        json::object annotations;
        annotations["summary"] = event.summary;
        // No start time here: an instance started later saw the alarm start later, and an HA
        // pair's alerts must be the same alert (startsAt carries each one's first sight).
        annotations["description"] = std::string(to_string(event.kind)) + " alarm, " +
                                     std::string(to_string(event.severity)) + ", tier " +
                                     std::to_string(event.tier) + ": " + event.summary;
        alert["annotations"] = std::move(annotations);
        alert["startsAt"] = format_rfc3339(event.starts_at);
        // Firing alerts leave endsAt unset, so Alertmanager applies its resolve_timeout and a
        // dead tierwatch's alerts eventually resolve; re-posts keep live ones firing.
        if (event.action == PageAction::resolve)
            alert["endsAt"] = format_rfc3339(std::max(event.at, event.starts_at));
        if (!generator_url_.empty()) alert["generatorURL"] = generator_url_;
        json::array alerts;
        if (event.replaces) {
            // Alertmanager knows the alert by its old labels: end that one in the same post (a
            // resolve carries it when it superseded an undelivered update).
            PageEvent old = event;
            old.assume(*event.replaces);
            json::object old_labels = labels_object(old);
            old_labels["alertname"] = alert["labels"].as_object()["alertname"];
            old_labels["alarm_key"] = event.dedup_key;
            json::object ended = alert;
            ended["labels"] = std::move(old_labels);
            ended["endsAt"] = format_rfc3339(std::max(event.at, event.starts_at));
            alerts.push_back(std::move(ended));
        }
        alerts.push_back(std::move(alert));
        return json_request(join_path(url_.path, "/api/v2/alerts"), alerts);
    }

private:
    std::string generator_url_;
};

class PagerDutyPager final : public Pager {
public:
    PagerDutyPager(const PagerConfig& config, const PagerOptions& options)
        : Pager(config, options, "https://events.pagerduty.com"),
          routing_key_(read_secret_file(config.routing_key_file, "routing key")),
          source_(options.source) {
        secrets_.push_back(routing_key_.reveal());
    }

    PagerRequest request(const PageEvent& event) const override {
        json::object body;
        body["routing_key"] = routing_key_.reveal();
        body["event_action"] = event.action == PageAction::resolve ? "resolve" : "trigger";
        // Events API v2 limits dedup_key to 255 characters; a longer alarm key is hashed,
        // which is just as stable.
        body["dedup_key"] = event.dedup_key.size() <= 255
                                ? event.dedup_key
                                : "tierwatch-" + sha256_hex(event.dedup_key);
        body["client"] = "tierwatch";
        if (event.action != PageAction::resolve) {
            const AlarmLabels& l = event.labels;
            json::object payload;
            payload["summary"] =
                truncate_utf8(event.summary.empty() ? event.dedup_key : event.summary, 1024);
            payload["severity"] = event.severity == Grade::critical  ? "critical"
                                  : event.severity == Grade::warning ? "warning"
                                                                     : "info";
            const std::string& subject = !l.node.empty()      ? l.node
                                         : !l.address.empty() ? l.address
                                         : !l.group.empty()   ? l.group
                                         : !l.zone.empty()    ? l.zone
                                                              : source_;
            payload["source"] = subject;
            payload["timestamp"] = format_rfc3339(event.starts_at);
            if (!l.check.empty() || !l.role.empty())
                payload["component"] = l.check.empty() ? l.role : l.check;
            if (!l.zone.empty()) payload["group"] = l.zone;
            payload["class"] = to_string(event.kind);
            json::object details = labels_object(event);
            details["action"] = to_string(event.action);
            details["dedup_key"] = event.dedup_key;
            payload["custom_details"] = std::move(details);
            body["payload"] = std::move(payload);
        }
        return json_request(join_path(url_.path, "/v2/enqueue"), body);
    }

private:
    Secret routing_key_;
    std::string source_;
};

class WebhookPager final : public Pager {
public:
    WebhookPager(const PagerConfig& config, const PagerOptions& options)
        : Pager(config, options, "") {
        if (!config.secret_file.empty()) {
            secret_ = read_secret_file(config.secret_file, "webhook secret");
            secrets_.push_back(secret_.reveal());
        }
    }

    PagerRequest request(const PageEvent& event) const override {
        json::object body;
        body["version"] = "1";
        body["receiver"] = event.receiver;
        body["action"] = to_string(event.action);
        body["status"] = event.action == PageAction::resolve ? "resolved" : "firing";
        body["dedup_key"] = event.dedup_key;
        body["alarm"] = to_string(event.kind);
        body["severity"] = to_string(event.severity);
        body["tier"] = event.tier;
        body["summary"] = event.summary;
        json::object labels;
        for (const auto& [name, value] : event.label_pairs()) {
            if (name != "alarm" && name != "severity" && name != "tier") labels[name] = value;
        }
        body["labels"] = std::move(labels);
        body["starts_at"] = format_rfc3339(event.starts_at);
        body["at"] = format_rfc3339(event.at);
        PagerRequest request = json_request(url_.path, body);
        if (!secret_.empty()) {
            request.headers.emplace_back(
                "X-Tierwatch-Signature",
                "sha256=" + hmac_sha256_hex(secret_.reveal(), request.body));
        }
        return request;
    }

private:
    Secret secret_;
};

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &size);
    return to_hex(digest, size);
}

Pager::Pager(const PagerConfig& config, const PagerOptions& options, std::string_view default_url)
    : name_(config.name),
      kind_(config.kind),
      timeout_(config.timeout.value_or(options.default_timeout)) {
    const std::string text = config.url.empty() ? std::string(default_url) : config.url;
    const auto url = HttpUrl::parse(text);
    if (!url) throw std::runtime_error("pager " + name_ + ": cannot use url \"" + text + "\"");
    url_ = *url;
    tls_.ca_file = config.ca_file;
    tls_.verify = config.tls_verify;
    tls_.verify_hostname = tls_.verify;
    transport_.name = name_;
    transport_.protocol = url_.tls ? Protocol::https : Protocol::http;
    transport_.port = url_.port;
    transport_.timeout = timeout_;
    transport_.tls = tls_;
}

std::string Pager::redact(std::string text) const {
    for (const std::string& secret : secrets_) {
        for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
            text.replace(at, secret.size(), "<redacted>");
        }
    }
    return text;
}

std::unique_ptr<Pager> make_pager(const PagerConfig& config, const PagerOptions& options) {
    switch (config.kind) {
        case PagerKind::alertmanager:
            return std::make_unique<AlertmanagerPager>(config, options);
        case PagerKind::pagerduty:
            return std::make_unique<PagerDutyPager>(config, options);
        case PagerKind::webhook:
            return std::make_unique<WebhookPager>(config, options);
        case PagerKind::email:
            return make_email_pager(config, options);
    }
    // Every kind has a pager; a value outside the enum is a programming error.
    throw std::logic_error("pager " + config.name + ": unknown kind");
}

// ---------------------------------------------------------------------------------------------

namespace {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    unsigned seconds = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (error != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(seconds);
}

// The reason tierwatch_pages_failed_total counts for what the connection stack recorded.
SendFailure send_failure_of(FailureReason reason) noexcept {
    switch (reason) {
        case FailureReason::none: return SendFailure::none;
        case FailureReason::dns: return SendFailure::resolve;
        case FailureReason::connect_refused:
        case FailureReason::connect_error: return SendFailure::connect;
        case FailureReason::connect_timeout:
        case FailureReason::banner_timeout:
        case FailureReason::timeout: return SendFailure::timeout;
        case FailureReason::tls_handshake:
        case FailureReason::tls_verify:
        case FailureReason::cert_expired: return SendFailure::tls;
        case FailureReason::auth: return SendFailure::auth;
        case FailureReason::connection_reset: return SendFailure::io;
        case FailureReason::bad_greeting:
        case FailureReason::protocol:
        case FailureReason::unexpected_status:
        case FailureReason::body_mismatch:
        // Only the DNS reputation and DANE probes record these; a pager never does.
        case FailureReason::listed:
        case FailureReason::dnsbl_error:
        case FailureReason::no_ptr:
        case FailureReason::ptr_mismatch:
        case FailureReason::hostname_mismatch:
        case FailureReason::greeting_mismatch:
        case FailureReason::tlsa_missing:
        case FailureReason::tlsa_mismatch:
        case FailureReason::dnssec: return SendFailure::bad_response;
    }
    return SendFailure::io;
}

}  // namespace

SendResult Pager::session_failure(ProbeSession& session) const {
    const ProbeResult& recorded = session.result();
    const bool certificate = recorded.reason == FailureReason::tls_verify ||
                             recorded.reason == FailureReason::cert_expired;
    SendResult result;
    result.failure = send_failure_of(recorded.reason);
    result.detail = redact((certificate ? "certificate of " + url_.host + ": " : std::string()) +
                           recorded.detail);
    return result;
}

asio::awaitable<SendResult> Pager::deliver(asio::any_io_executor executor, const PageEvent& event,
                                           TlsContextCache& tls_contexts) const {
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = std::chrono::steady_clock::now() + timeout_;

    asio::ip::tcp::resolver resolver(executor);
    asio::steady_timer timer(executor);
    timer.expires_at(deadline);
    const std::string port = std::to_string(url_.port);
    auto resolved = co_await (resolver.async_resolve(url_.host, port, use_tuple) ||
                              timer.async_wait(use_tuple));
    if (resolved.index() == 1)
        co_return SendResult{
            SendFailure::timeout, 0, "resolve " + url_.host + ": deadline expired", {}};
    auto [resolve_error, endpoints] = std::get<0>(std::move(resolved));
    if (resolve_error)
        co_return SendResult{
            SendFailure::resolve, 0, "resolve " + url_.host + ": " + resolve_error.message(), {}};

    ProbeContext context{executor, &tls_contexts, {}};
    SendResult result{SendFailure::timeout, 0, "connect " + url_.host + ": deadline expired", {}};
    for (const auto& entry : endpoints) {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= Duration::zero()) break;
        ProbeRequest request = probe_request(transport_, entry.endpoint().address(), url_.host);
        request.deadline = std::chrono::duration_cast<Duration>(left);
        ProbeSession session(request, context);
        try {
            result = co_await converse(session, event);
        } catch (const std::exception& error) {
            // The TLS context could not be built (an unreadable ca_file): no address can work.
            co_return SendResult{SendFailure::tls, 0, error.what(), {}};
        }
        session.finish();
        // Only an address that refused or could not be reached is worth trying the next one.
        if (result.failure != SendFailure::connect) break;
    }
    co_return result;
}

asio::awaitable<SendResult> Pager::converse(ProbeSession& session, const PageEvent& event) const {
    if (const bool connected = co_await session.connect(); !connected)
        co_return session_failure(session);
    if (uses_implicit_tls(transport_.protocol)) {
        if (const bool secured = co_await session.start_tls(); !secured)
            co_return session_failure(session);
    }
    session.begin(Phase::command);

    const PagerRequest page = request(event);
    http::request<http::string_body> message(http::verb::post, page.target, 11);
    const bool default_port =
        url_.port == *traits(url_.tls ? Protocol::https : Protocol::http).default_port;
    const std::string host =
        url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    message.set(http::field::host, default_port ? host : host + ":" + std::to_string(url_.port));
    message.set(http::field::user_agent, "tierwatch/" TIERWATCH_VERSION);
    message.set(http::field::connection, "close");
    for (const auto& [name, value] : page.headers) message.set(name, value);
    message.body() = page.body;
    message.prepare_payload();
    auto [write_error, written] = co_await http::async_write(session.stream(), message, use_tuple);
    if (write_error) {
        session.fail_io(write_error);
        co_return session_failure(session);
    }

    auto read = co_await read_http_response(session.stream(), HttpLimits{});
    // A receiver that closes before answering is judged by the empty response's status, as before.
    const bool silent_close = read.code == http::error::end_of_stream;
    if (read.error == HttpReadError::io) {
        session.fail_io(read.code);
        co_return session_failure(session);
    }
    if (read.error != HttpReadError::none && !silent_close) {
        if (!session.deadline_expired())
            co_return SendResult{SendFailure::bad_response, 0, "read reply: " + read.code.message(), {}};
        session.fail_io(read.code);
        co_return session_failure(session);
    }
    const auto& response = read.response;
    SendResult result;
    result.status = response.result_int();
    result.failure = status_failure(result.status);
    if (result.failure != SendFailure::none) {
        // The body is the receiver's own explanation (PagerDuty says which field is wrong).
        std::string excerpt = response.body().substr(0, 200);
        for (char& c : excerpt) {
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                c = ' ';
        }
        result.detail =
            "HTTP " + std::to_string(result.status) + (excerpt.empty() ? "" : ": " + excerpt);
        if (const auto it = response.find(http::field::retry_after); it != response.end()) {
            result.retry_after = parse_retry_after(it->value());
        }
    }
    co_return result;
}

}  // namespace tierwatch

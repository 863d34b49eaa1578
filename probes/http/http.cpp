// The http/https prober: one request per hop, Beast's parser with header and body limits,
// expected statuses, body regex, and same-host redirects only when the check asks for them.
#include "probes/http/http.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <algorithm>

#include "probes/http/http_response.hpp"
#include "probes/net/connection.hpp"
#include "probes/net/use_tuple.hpp"

namespace tierwatch {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
constexpr std::size_t header_limit = HttpLimits{}.header;

std::string host_header(const ProbeRequest& target, const HttpSettings& settings) {
    if (!settings.host.empty()) return settings.host;
    std::string host;
    if (!target.server_name.empty()) {
        host = std::string(target.server_name);
    } else if (target.address.is_v6()) {
        host = "[" + target.address.to_string() + "]";
    } else {
        host = target.address.to_string();
    }
    const std::uint16_t default_port = target.protocol == Protocol::https ? 443 : 80;
    if (target.port != default_port) host += ":" + std::to_string(target.port);
    return host;
}

bool status_expected(const HttpSettings& settings, int status) {
    if (settings.expected_statuses.empty()) return status >= 200 && status < 300;
    return std::find(settings.expected_statuses.begin(), settings.expected_statuses.end(), status) !=
           settings.expected_statuses.end();
}

// The path to request next, when `location` stays on this scheme and host; nullopt otherwise.
std::optional<std::string> same_host_path(std::string_view location, std::string_view scheme,
                                          std::string_view host) {
    if (location.starts_with("/") && !location.starts_with("//")) return std::string(location);
    const std::string prefix = std::string(scheme) + "://" + std::string(host);
    if (!location.starts_with(prefix)) return std::nullopt;
    const auto rest = location.substr(prefix.size());
    if (rest.empty()) return std::string("/");
    if (rest.front() != '/') return std::nullopt;  // another port or a longer host name
    return std::string(rest);
}

}  // namespace

http::request<http::empty_body> make_http_request(http::verb verb, std::string_view path, std::string_view host) {
    http::request<http::empty_body> request(verb, path, 11);
    request.set(http::field::host, host);
    request.set(http::field::user_agent, "tierwatch/" TIERWATCH_VERSION);
    request.set(http::field::connection, "close");
    return request;
}

asio::awaitable<ProbeResult> probe_http(const ProbeRequest& target, const HttpSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    const bool https = target.protocol == Protocol::https;
    // Named locals: GCC 12 mis-compiles co_await in conditions (probes/mail/mail_session.hpp).
    bool ready = co_await session.connect();
    if (ready && https) ready = co_await session.start_tls();
    if (!ready) co_return session.finish();
    const std::string host = host_header(target, settings);
    std::string path = settings.path;

    for (std::uint32_t hop = 0;; ++hop) {
        session.begin(Phase::command);
        const auto request = make_http_request(http::string_to_verb(settings.method), path, host);
        auto [write_error, written] = co_await http::async_write(session.stream(), request, use_tuple);
        if (write_error) {
            session.fail_io(write_error);
            co_return session.finish();
        }

        auto read = co_await read_http_response(session.stream(), HttpLimits{header_limit, settings.body_limit});
        switch (read.error) {
            case HttpReadError::none:
                break;
            case HttpReadError::header_too_large:
                session.fail(FailureReason::protocol, "response header larger than " +
                                                          std::to_string(header_limit) + " bytes");
                co_return session.finish();
            case HttpReadError::body_too_large:
                session.fail(FailureReason::protocol, "response body larger than body_limit (" +
                                                          std::to_string(settings.body_limit) + " bytes)");
                co_return session.finish();
            case HttpReadError::malformed:
                session.fail(FailureReason::protocol, "malformed HTTP response: " + read.code.message());
                co_return session.finish();
            case HttpReadError::io:
                session.fail_io(read.code);
                co_return session.finish();
        }

        auto& response = read.response;
        const int status = static_cast<int>(response.result_int());
        session.result().set(http_status_measurement, status);
        const bool redirect = status >= 300 && status < 400 && status != 304;
        if (redirect && settings.follow_redirects && hop < settings.max_redirects) {
            const auto location = response[http::field::location];
            if (auto next = same_host_path(location, https ? "https" : "http", host)) {
                path = std::move(*next);
                const bool reconnected = co_await session.reconnect();
                if (!reconnected) co_return session.finish();
                continue;
            }
        }
        if (!status_expected(settings, status)) {
            session.fail(FailureReason::unexpected_status,
                         "HTTP " + std::to_string(status) + " " +
                             printable_excerpt(response.reason()) + " for " + printable_excerpt(path));
            co_return session.finish();
        }
        if (settings.body_regex) {
            const auto& body = response.body();
            bool matched = false;
            try {
                matched = boost::regex_search(body.begin(), body.end(), *settings.body_regex);
            } catch (const std::runtime_error& error) {
                session.fail(FailureReason::body_mismatch, error.what());
                co_return session.finish();
            }
            if (!matched) {
                session.fail(FailureReason::body_mismatch,
                             "body does not match /" + settings.body_regex_text + "/");
            }
        }
        co_return session.finish();
    }
}

}  // namespace tierwatch

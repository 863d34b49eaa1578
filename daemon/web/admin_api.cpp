// Silence and reload handlers: token check, body parsing, and the answers (see admin_api.hpp).
#include "daemon/web/admin_api.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "daemon/engine/engine.hpp"

namespace tierwatch {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view silences_path = "/api/v1/silences";

void json_response(HttpResponse& response, http::status status, const json::value& body) {
    response.result(status);
    response.set(http::field::content_type, "application/json");
    response.set(http::field::cache_control, "no-store");
    response.body() = json::serialize(body) + "\n";
}

void error_response(HttpResponse& response, http::status status, std::string message) {
    json_response(response, status, json::object{{"error", std::move(message)}});
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view text) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
    return out;
}

// Refuses the request unless it carries the token; true when it may go on.
bool require_token(const Engine& engine, const HttpRequest& request, HttpResponse& response) {
    switch (authorize(request, engine.config().daemon.api_token)) {
        case Authorization::granted:
            return true;
        case Authorization::no_token_configured:
            error_response(response, http::status::forbidden,
                           "the write API is disabled: set [daemon] api_token_file");
            return false;
        case Authorization::missing:
            error_response(response, http::status::unauthorized,
                           "this endpoint needs \"Authorization: Bearer <token>\" (the token in "
                           "[daemon] api_token_file)");
            response.set(http::field::www_authenticate, "Bearer realm=\"tierwatch\"");
            return false;
        case Authorization::wrong:
            spdlog::warn("refused {} {}: wrong bearer token", std::string(request.method_string()),
                         std::string(request.target()));
            error_response(response, http::status::forbidden, "the bearer token is not valid");
            return false;
    }
    return false;
}

void list_silences(const Engine& engine, HttpResponse& response) {
    const auto now = std::chrono::system_clock::now();
    json::array list;
    for (const auto& silence : engine.silences().silences()) list.push_back(silence_to_json(silence, now));
    json_response(response, http::status::ok, json::object{{"silences", std::move(list)}});
}

void create_silence(Engine& engine, const HttpRequest& request, HttpResponse& response) {
    const auto now = std::chrono::system_clock::now();
    auto parsed = parse_silence_request(request.body(), engine.config(), now);
    if (!parsed) {
        error_response(response, http::status::bad_request, parsed.error());
        return;
    }
    if (const auto added = engine.add_silence(std::move(parsed).value()); !added) {
        spdlog::error("silence not added: {}", added.error());
        error_response(response, http::status::internal_server_error, added.error());
        return;
    }
    const Silence& added = engine.silences().silences().back();
    json_response(response, http::status::created, silence_to_json(added, now));
    response.set(http::field::location, std::string(silences_path) + "/" + added.id);
}

void delete_silence(Engine& engine, std::string_view id, HttpResponse& response) {
    const auto expired = engine.expire_silence(id);
    if (!expired) {
        error_response(response, http::status::internal_server_error, expired.error());
    } else if (!*expired) {
        error_response(response, http::status::not_found, "no silence with id \"" + std::string(id) + "\"");
    } else {
        json_response(response, http::status::ok, json::object{{"id", id}, {"state", "expired"}});
    }
}

void method_not_allowed(HttpResponse& response, std::string_view allow) {
    error_response(response, http::status::method_not_allowed, "use " + std::string(allow));
    response.set(http::field::allow, allow);
}

}  // namespace

Authorization authorize(const HttpRequest& request, const Secret& token) {
    if (token.empty()) return Authorization::no_token_configured;
    const auto header = request.find(http::field::authorization);
    if (header == request.end()) return Authorization::missing;
    std::string_view value = header->value();
    constexpr std::string_view scheme = "Bearer ";
    if (value.size() < scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), value.begin(),
                    [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a)) ==
                               std::tolower(static_cast<unsigned char>(b));
                    })) {
        return Authorization::missing;
    }
    value.remove_prefix(scheme.size());
    const auto given = digest(value);
    const auto expected = digest(token.reveal());
    return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0 ? Authorization::granted
                                                                           : Authorization::wrong;
}

boost::asio::awaitable<bool> serve_admin(Engine& engine, const std::function<Expected<>()>& reload,
                                         const HttpRequest& request, HttpResponse& response) {
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const auto method = request.method();
    if (path == "/-/reload") {
        if (method != http::verb::post && method != http::verb::put) {
            method_not_allowed(response, "POST");
        } else if (require_token(engine, request, response)) {
            if (const auto reloaded = reload(); reloaded) {
                response.result(http::status::ok);
                response.set(http::field::content_type, "text/plain; charset=utf-8");
                response.body() = "configuration reloaded\n";
            } else {
                response.result(http::status::internal_server_error);
                response.set(http::field::content_type, "text/plain; charset=utf-8");
                response.body() = "failed to reload the configuration, the previous one keeps running: " +
                                  reloaded.error() + "\n";
            }
        }
        co_return true;
    }
    if (path == silences_path) {
        if (method == http::verb::get || method == http::verb::head) {
            list_silences(engine, response);
        } else if (method == http::verb::post) {
            if (require_token(engine, request, response)) create_silence(engine, request, response);
        } else {
            method_not_allowed(response, "GET, POST");
        }
        co_return true;
    }
    if (path.starts_with(silences_path) && path.size() > silences_path.size() + 1 &&
        path[silences_path.size()] == '/') {
        const auto id = path.substr(silences_path.size() + 1);
        if (method == http::verb::get || method == http::verb::head) {
            const auto& all = engine.silences().silences();
            const auto found = std::find_if(all.begin(), all.end(), [&](const Silence& s) { return s.id == id; });
            if (found == all.end()) {
                error_response(response, http::status::not_found, "no silence with id \"" + std::string(id) + "\"");
            } else {
                json_response(response, http::status::ok, silence_to_json(*found, std::chrono::system_clock::now()));
            }
        } else if (method == http::verb::delete_) {
            if (require_token(engine, request, response)) delete_silence(engine, id, response);
        } else {
            method_not_allowed(response, "GET, DELETE");
        }
        co_return true;
    }
    co_return false;
}

}  // namespace tierwatch

// Reads the web family's keys of a check (see http_settings.hpp).
#include "probes/http/settings/http_settings.hpp"

#include <algorithm>
#include <array>

#include "config/toml/section.hpp"

namespace tierwatch {

namespace {

using detail::in_quotes;

constexpr std::array<std::string_view, 8> http_only_keys{
    "method", "path", "host", "expected_status", "body_regex", "body_limit", "follow_redirects", "max_redirects",
};
constexpr std::int64_t max_body_limit = std::int64_t{1} << 30;
constexpr std::int64_t max_redirects_limit = 100;

}  // namespace

std::span<const std::string_view> http_settings_keys() noexcept { return http_only_keys; }

void reject_foreign_http_keys(const Section& s, Protocol protocol) {
    if (traits(protocol).family != ProtocolFamily::web) {
        s.reject_keys_for(http_only_keys, "protocols http, https", to_string(protocol));
    }
}

HttpSettings read_http_settings(const Section& s) {
    HttpSettings http;
    http.method = s.get<std::string>("method", [](const std::string& value) {
                       const bool token = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
                           return c >= 'A' && c <= 'Z';
                       });
                       return token ? std::string() : "invalid HTTP method " + in_quotes(value) + " (expected e.g. GET)";
                   }).value_or(http.method);
    http.path = s.get<std::string>("path", [](const std::string& value) {
                     return value.starts_with('/') ? std::string()
                                                   : "\"path\" must start with \"/\", got " + in_quotes(value);
                 }).value_or(http.path);
    http.host = s.text("host").value_or("");
    const auto statuses = s.get_list<std::int64_t>("expected_status", [](std::int64_t status) {
        return status >= 100 && status <= 599
                   ? std::string()
                   : "invalid HTTP status " + std::to_string(status) + " in \"expected_status\" (expected 100-599)";
    });
    for (std::int64_t status : statuses.value_or(std::vector<std::int64_t>{})) {
        http.expected_statuses.push_back(static_cast<int>(status));
    }
    http.body_regex = s.regex("body_regex", http.body_regex_text);
    http.body_limit = static_cast<std::size_t>(s.integer("body_limit", 1, max_body_limit).value_or(
        static_cast<std::int64_t>(http.body_limit)));
    http.follow_redirects = s.flag("follow_redirects").value_or(http.follow_redirects);
    http.max_redirects = static_cast<std::uint32_t>(s.integer("max_redirects", 0, max_redirects_limit).value_or(
        http.max_redirects));
    return http;
}

}  // namespace tierwatch

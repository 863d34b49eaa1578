// The web family's typed settings and their reader: what a check of protocol http or https may
// set beyond the common keys. The configuration core hands a web check's table to
// read_http_settings(); the http prober reads the result. Plain values, no network code.
#pragma once

#include <boost/regex.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

// The request an http or https check sends and what it expects back.
struct HttpSettings {
    std::string method = "GET";
    std::string path = "/";
    std::string host;                      // Host header; empty: fqdn, else address
    std::vector<int> expected_statuses;    // empty: any 2xx
    std::optional<boost::regex> body_regex;
    std::string body_regex_text;
    std::size_t body_limit = 1 << 20;      // bytes read at most
    bool follow_redirects = false;
    std::uint32_t max_redirects = 5;
};

// The keys read_http_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> http_settings_keys() noexcept;
// Refuses, for any protocol but http and https, a web key it would ignore.
void reject_foreign_http_keys(const Section& s, Protocol protocol);
// A web check's settings from its table; the body regex is compiled now.
HttpSettings read_http_settings(const Section& s);

}  // namespace tierwatch

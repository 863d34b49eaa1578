// The one URL splitter: scheme://host[:port][/path][?query][#fragment], as the configuration
// (roundtrip legs), the pagers and `tierwatch check` write their endpoints. Sans-io and
// scheme-agnostic: each caller maps the scheme to a protocol, takes the default port from the
// protocol table and words its own errors from UrlError.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tierwatch {

// Views into the text handed to split_url(); they live as long as it does.
struct UrlParts {
    std::string_view scheme;     // as written, before "://"
    std::string_view userinfo;   // before '@' in the authority; empty when none (callers refuse it)
    bool has_userinfo = false;
    std::string_view host;       // without the brackets of an IPv6 literal
    bool bracketed = false;      // written [like::this]
    std::optional<std::string_view> port_text;  // set when a ':' follows the host
    std::optional<std::uint16_t> port;          // port_text as a number 1..65535
    std::string_view path;       // from the first '/' after the authority, up to '?' or '#'
    std::optional<std::string_view> query;      // after '?', up to '#'
    std::optional<std::string_view> fragment;   // after '#'
};

enum class UrlError : std::uint8_t {
    no_scheme,         // no "://"
    unclosed_bracket,  // "[::1" without ']'
    after_bracket,     // something other than ":port" after ']'
    bad_port,          // port_text is not a number from 1 to 65535 (port_text says what was written)
};

struct UrlSplit {
    UrlParts parts;
    std::optional<UrlError> error;  // the parts read before the error are filled in
    bool ok() const noexcept { return !error; }
};

// Never throws; a host that is empty or not a name is for the caller to judge.
UrlSplit split_url(std::string_view text);

}  // namespace tierwatch

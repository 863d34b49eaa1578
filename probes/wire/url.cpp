// The one URL splitter (see url.hpp).
#include "probes/wire/url.hpp"

#include <charconv>

namespace tierwatch {

UrlSplit split_url(std::string_view text) {
    UrlSplit out;
    UrlParts& parts = out.parts;
    const std::size_t separator = text.find("://");
    if (separator == std::string_view::npos) {
        out.error = UrlError::no_scheme;
        return out;
    }
    parts.scheme = text.substr(0, separator);
    std::string_view rest = text.substr(separator + 3);
    if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
        parts.fragment = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
    }
    if (const std::size_t mark = rest.find('?'); mark != std::string_view::npos) {
        parts.query = rest.substr(mark + 1);
        rest = rest.substr(0, mark);
    }
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    parts.path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        parts.has_userinfo = true;
        parts.userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
    }
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            parts.host = authority.substr(1);
            out.error = UrlError::unclosed_bracket;
            return out;
        }
        parts.bracketed = true;
        parts.host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) {
            out.error = UrlError::after_bracket;
            return out;
        }
        if (!after.empty()) parts.port_text = after.substr(1);
    } else {
        const std::size_t colon = authority.find(':');
        parts.host = authority.substr(0, colon);
        if (colon != std::string_view::npos) parts.port_text = authority.substr(colon + 1);
    }
    if (parts.port_text) {
        const std::string_view digits = *parts.port_text;
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || value < 1 ||
            value > 65535) {
            out.error = UrlError::bad_port;
            return out;
        }
        parts.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

}  // namespace tierwatch

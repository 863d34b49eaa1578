// Reads the roundtrip check's keys (see roundtrip_settings.hpp).
#include "probes/roundtrip/settings/roundtrip_settings.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "config/toml/section.hpp"
#include "probes/wire/url.hpp"

namespace tierwatch {

namespace {

using detail::did_you_mean;
using detail::in_quotes;

constexpr std::array<std::string_view, 2> roundtrip_only_keys{"submit", "fetch"};

// A roundtrip leg from its URL: "smtp://host:587?starttls=true", "smtps://host:465",
// "imap://host:143?starttls=true", "imaps://host:993". The host is resolved later, once the
// nodes and NLBs are known (resolve_roundtrip_leg).
RoundtripLeg read_leg(const Section& s, std::string_view key, bool submit) {
    const std::string url = s.required_text(key);
    // The scheme names the protocol; its default port is the protocol table's.
    struct Scheme {
        std::string_view name;
        Protocol protocol;
    };
    constexpr std::array<Scheme, 2> submit_schemes{{{"smtp", Protocol::submission}, {"smtps", Protocol::smtps}}};
    constexpr std::array<Scheme, 2> fetch_schemes{{{"imap", Protocol::imap}, {"imaps", Protocol::imaps}}};
    const std::span<const Scheme> schemes = submit ? std::span<const Scheme>(submit_schemes)
                                                   : std::span<const Scheme>(fetch_schemes);
    const std::string expected = submit ? "smtp://host[:port][?starttls=true] or smtps://host[:port]"
                                        : "imap://host[:port][?starttls=true] or imaps://host[:port]";
    const auto bad = [&](const std::string& why) {
        s.fail(key, "invalid " + std::string(key) + " URL " + in_quotes(url) + ": " + why + " (expected " +
                        expected + ")");
    };
    const UrlSplit split = split_url(url);
    const UrlParts& parts = split.parts;
    if (split.error == UrlError::no_scheme) {
        bad("no scheme");
    }
    const std::string_view scheme_name = parts.scheme;
    const auto scheme = std::find_if(schemes.begin(), schemes.end(),
                                     [&](const Scheme& candidate) { return candidate.name == scheme_name; });
    if (scheme == schemes.end()) {
        std::vector<std::string_view> names;
        for (const Scheme& candidate : schemes) {
            names.push_back(candidate.name);
        }
        bad("unknown scheme " + in_quotes(scheme_name) + did_you_mean(scheme_name, names));
    }
    RoundtripLeg leg;
    leg.protocol = scheme->protocol;
    leg.port = *traits(scheme->protocol).default_port;
    const auto has_space = [](std::optional<std::string_view> text) {
        return text && text->find(' ') != std::string_view::npos;
    };
    // "imaps://host:993/" is the same server; anything else besides host, port and ?starttls is not.
    if (parts.has_userinfo || (!parts.path.empty() && parts.path != "/") || parts.fragment ||
        has_space(parts.host) || has_space(parts.port_text)) {
        bad("only host and port may follow the scheme (credentials come from password_file)");
    }
    if (split.error == UrlError::unclosed_bracket) {
        bad("unclosed \"[\"");
    }
    if (split.error == UrlError::after_bracket) {
        bad("unexpected text after \"]\"");
    }
    if (parts.host.empty()) {
        bad("no host");
    }
    if (split.error == UrlError::bad_port) {
        bad("invalid port " + in_quotes(*parts.port_text) + " (expected 1-65535)");
    }
    leg.port = parts.port.value_or(leg.port);
    const std::string_view host = parts.host;
    std::string_view query = parts.query.value_or(std::string_view());
    leg.host.assign(host);
    while (!query.empty()) {
        const std::size_t amp = std::min(query.find('&'), query.size());
        const std::string_view pair = query.substr(0, amp);
        query.remove_prefix(std::min(amp + 1, query.size()));
        if (pair == "starttls=true" || pair == "starttls=false") {
            leg.starttls = pair == "starttls=true";
        } else if (pair.starts_with("starttls=")) {
            bad("starttls must be true or false");
        } else {
            bad("unknown parameter " + in_quotes(pair.substr(0, pair.find('='))) + " (only starttls)");
        }
    }
    if (leg.starttls && uses_implicit_tls(leg.protocol)) {
        bad(std::string(scheme_name) + " is already TLS; starttls applies to " + (submit ? "smtp" : "imap"));
    }
    return leg;
}

}  // namespace

std::span<const std::string_view> roundtrip_settings_keys() noexcept { return roundtrip_only_keys; }

void reject_foreign_roundtrip_keys(const Section& s, Protocol protocol) {
    if (protocol != Protocol::roundtrip) {
        s.reject_keys_for(roundtrip_only_keys, "protocol roundtrip", to_string(protocol));
    }
}

RoundtripSettings read_roundtrip_settings(const Section& s) {
    if (s.has("port")) {
        s.fail("port", "\"port\" does not apply to protocol \"roundtrip\": the ports are those of \"submit\" "
                       "and \"fetch\"");
    }
    RoundtripSettings settings;
    settings.submit = read_leg(s, "submit", true);
    settings.fetch = read_leg(s, "fetch", false);
    return settings;
}

}  // namespace tierwatch

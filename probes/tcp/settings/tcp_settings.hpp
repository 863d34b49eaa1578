// The tcp family's typed settings and their reader: what a check of protocol tcp or tls may set
// beyond the common keys (an expected banner, or a line dialogue). The configuration core hands
// such a check's table to read_tcp_settings(); the tcp and tls probers read the result. Plain
// values, no network code.
#pragma once

#include <boost/regex.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

// One step of a tcp check's line dialogue, like blackbox_exporter's query_response.
struct DialogueStep {
    enum class Kind : std::uint8_t { expect, send, starttls };
    Kind kind = Kind::expect;
    std::string text;                   // send: the line (CRLF appended); expect: the pattern
    std::optional<boost::regex> regex;  // expect: compiled at load
};

struct TcpSettings {
    std::optional<boost::regex> banner_regex;  // expected first line
    std::string banner_regex_text;
    std::vector<DialogueStep> dialogue;  // expect / send / starttls, in order; excludes banner_regex

    // A dialogue step upgrades the connection, so the check's TLS settings apply.
    bool starttls() const noexcept;
};

// The keys read_tcp_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> tcp_settings_keys() noexcept;
// Refuses, for any protocol but tcp and tls, a tcp key it would ignore.
void reject_foreign_tcp_keys(const Section& s, Protocol protocol);
// A tcp or tls check's settings from its table: the dialogue is checked and its patterns and the
// banner regex compiled now, so a typo stops the load at its line.
TcpSettings read_tcp_settings(const Section& s, Protocol protocol);

}  // namespace tierwatch

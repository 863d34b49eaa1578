// Sans-io POP3 reply parser: "+OK" / "-ERR" status lines, SASL "+ " challenges, and the
// dot-terminated multi-line bodies of CAPA, bounded in line count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/mail_common.hpp"

namespace tierwatch {

struct Pop3Reply {
    enum class Kind : std::uint8_t { ok, err, challenge };
    Kind kind = Kind::ok;
    std::string text;                // after "+OK " / "-ERR " / "+ "
    std::vector<std::string> lines;  // multi-line body, dot-unstuffed, without the final "."

    bool ok() const noexcept { return kind == Kind::ok; }
    // "-ERR [AUTH] bad password" style, safe for a detail text.
    std::string summary() const;
};

class Pop3ReplyParser {
public:
    explicit Pop3ReplyParser(std::size_t max_lines = max_reply_lines) : max_lines_(max_lines) {}

    // Prepares for the next reply; a multi-line reply (CAPA) has a body after "+OK".
    void expect(bool multi_line);
    ParseStatus feed(std::string_view line);
    const Pop3Reply& reply() const noexcept { return reply_; }
    const std::string& error() const noexcept { return error_; }

private:
    enum class State : std::uint8_t { status, body, done };

    std::size_t max_lines_;
    bool multi_line_ = false;
    State state_ = State::status;
    Pop3Reply reply_;
    std::string error_;
};

}  // namespace tierwatch

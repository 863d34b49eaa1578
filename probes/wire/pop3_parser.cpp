// POP3 reply parsing (see pop3_parser.hpp).
#include "probes/wire/pop3_parser.hpp"

#include "probes/wire/printable.hpp"

namespace tierwatch {

namespace {

// True when `line` is `indicator` alone or followed by a space; `text` is what follows.
bool starts_status(std::string_view line, std::string_view indicator, std::string& text) {
    if (line.size() < indicator.size() ||
        !equals_ignoring_case(line.substr(0, indicator.size()), indicator)) {
        return false;
    }
    const std::string_view rest = line.substr(indicator.size());
    if (!rest.empty() && rest.front() != ' ') return false;
    text.assign(rest.empty() ? rest : rest.substr(1));
    return true;
}

}  // namespace

std::string Pop3Reply::summary() const {
    const std::string_view indicator = kind == Kind::ok ? "+OK" : kind == Kind::err ? "-ERR" : "+";
    return printable_excerpt(std::string(indicator) + (text.empty() ? "" : " " + text));
}

void Pop3ReplyParser::expect(bool multi_line) {
    multi_line_ = multi_line;
    state_ = State::status;
    reply_.kind = Pop3Reply::Kind::ok;
    reply_.text.clear();
    reply_.lines.clear();
    error_.clear();
}

ParseStatus Pop3ReplyParser::feed(std::string_view line) {
    switch (state_) {
        case State::done:
            expect(multi_line_);
            [[fallthrough]];
        case State::status:
            if (starts_status(line, "+OK", reply_.text)) {
                reply_.kind = Pop3Reply::Kind::ok;
            } else if (starts_status(line, "-ERR", reply_.text)) {
                reply_.kind = Pop3Reply::Kind::err;
            } else if (starts_status(line, "+", reply_.text)) {
                reply_.kind = Pop3Reply::Kind::challenge;  // RFC 5034 SASL continuation
            } else {
                error_ = "malformed POP3 status line: \"" + printable_excerpt(line) + "\"";
                return ParseStatus::invalid;
            }
            // Only a positive answer to a multi-line command carries a body.
            if (multi_line_ && reply_.kind == Pop3Reply::Kind::ok) {
                state_ = State::body;
                return ParseStatus::need_more;
            }
            state_ = State::done;
            return ParseStatus::complete;
        case State::body:
            if (line == ".") {
                state_ = State::done;
                return ParseStatus::complete;
            }
            if (reply_.lines.size() >= max_lines_) {
                error_ = "multi-line reply longer than " + std::to_string(max_lines_) + " lines";
                return ParseStatus::invalid;
            }
            // RFC 1939 byte-stuffing: a line that starts with "." was sent with one more.
            reply_.lines.emplace_back(line.starts_with('.') ? line.substr(1) : line);
            return ParseStatus::need_more;
    }
    return ParseStatus::invalid;
}

}  // namespace tierwatch

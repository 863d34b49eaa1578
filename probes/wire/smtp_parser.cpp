// SMTP reply assembly and validation (see smtp_parser.hpp).
#include "probes/wire/smtp_parser.hpp"

#include "probes/wire/ascii.hpp"
#include "probes/wire/printable.hpp"

namespace tierwatch {

std::string SmtpReply::summary() const {
    std::string text = std::to_string(code);
    if (!lines.empty() && !lines.front().empty()) text += " " + lines.front();
    return printable_excerpt(text);
}

void SmtpReplyParser::reset() {
    reply_.code = 0;
    reply_.lines.clear();
    error_.clear();
    done_ = false;
}

ParseStatus SmtpReplyParser::invalid(std::string why, std::string_view line) {
    error_ = std::move(why) + ": \"" + printable_excerpt(line) + "\"";
    return ParseStatus::invalid;
}

ParseStatus SmtpReplyParser::feed(std::string_view line) {
    if (done_) reset();
    // RFC 5321 4.2: three digits, the first 2-5, then " " (last line), "-" (more follow) or
    // nothing (a bare "250", which some servers send as a last line).
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        line[0] < '2' || line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        return invalid("malformed SMTP reply line", line);
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (reply_.lines.empty()) {
        reply_.code = code;
    } else if (code != reply_.code) {
        return invalid(
            "reply code changed from " + std::to_string(reply_.code) + " within one reply", line);
    }
    if (reply_.lines.size() >= max_lines_) {
        return invalid("reply longer than " + std::to_string(max_lines_) + " lines", line);
    }
    reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    if (line.size() > 3 && line[3] == '-') return ParseStatus::need_more;
    done_ = true;
    return ParseStatus::complete;
}

std::vector<std::string> ehlo_capabilities(const SmtpReply& reply) {
    if (reply.lines.size() < 2) return {};
    return {reply.lines.begin() + 1, reply.lines.end()};
}

}  // namespace tierwatch

// Sans-io SMTP/LMTP reply parser: multi-line replies ("250-" continuations, postscreen's "220-"
// greetings) assembled from lines, with the code checked on every line and the length bounded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/mail_common.hpp"

namespace tierwatch {

struct SmtpReply {
    int code = 0;
    std::vector<std::string> lines;  // each line's text after "250-" / "250 "

    bool positive() const noexcept { return code >= 200 && code < 400; }
    // "554 5.7.1 no thanks" from the first line, safe for a detail text.
    std::string summary() const;
};

class SmtpReplyParser {
public:
    explicit SmtpReplyParser(std::size_t max_lines = max_reply_lines) : max_lines_(max_lines) {}

    // One line without its line end. complete: reply() holds the whole reply; invalid: error().
    ParseStatus feed(std::string_view line);
    const SmtpReply& reply() const noexcept { return reply_; }
    const std::string& error() const noexcept { return error_; }
    // Ready for the next reply (the line buffers keep their capacity).
    void reset();

private:
    ParseStatus invalid(std::string why, std::string_view line);

    std::size_t max_lines_;
    SmtpReply reply_;
    std::string error_;
    bool done_ = false;
};

// The EHLO/LHLO extensions of a positive reply: every line after the first (the domain line).
std::vector<std::string> ehlo_capabilities(const SmtpReply& reply);

}  // namespace tierwatch

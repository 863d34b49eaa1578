// A sans-io reader of CRLF (or bare LF) terminated lines with a hard bound on line length, so a
// server that never sends a line end cannot make a probe buffer without limit.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace tierwatch {

class LineReader {
public:
    enum class Status { line, need_more, too_long };

    explicit LineReader(std::size_t max_line = 8192);

    // Space for the next receive; never larger than what a line may still hold.
    std::span<char> prepare();
    void commit(std::size_t received);
    // Extracts the next complete line (without its line end). The view is valid until the
    // next prepare().
    Status next(std::string_view& line);
    // Bytes received but not yet returned as a line (must be empty before a TLS upgrade).
    std::string_view pending() const;
    // Consumes and returns at most `max` received bytes as they are, line ends included (an IMAP
    // literal's bytes, which need not form lines of any bounded length). Valid until prepare().
    std::string_view take(std::size_t max);
    std::size_t max_line() const noexcept { return max_line_; }
    void clear() noexcept { begin_ = end_ = scanned_ = 0; }

private:
    std::size_t max_line_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;    // first unconsumed byte
    std::size_t end_ = 0;      // one past the last received byte
    std::size_t scanned_ = 0;  // bytes after begin_ already searched for '\n'
};

}  // namespace tierwatch

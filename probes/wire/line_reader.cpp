// Bounded line splitting over one reusable buffer (see line_reader.hpp).
#include "probes/wire/line_reader.hpp"

#include <algorithm>
#include <cstring>

namespace tierwatch {

LineReader::LineReader(std::size_t max_line) : max_line_(max_line), buffer_(max_line + 2) {}

std::span<char> LineReader::prepare() {
    if (begin_ > 0) {
        // Compact so a partial line always starts at the front and can grow to max_line.
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return {buffer_.data() + end_, buffer_.size() - end_};
}

void LineReader::commit(std::size_t received) { end_ = std::min(end_ + received, buffer_.size()); }

LineReader::Status LineReader::next(std::string_view& line) {
    const char* start = buffer_.data() + begin_;
    const std::size_t available = end_ - begin_;
    const void* found = std::memchr(start + scanned_, '\n', available - scanned_);
    if (found == nullptr) {
        scanned_ = available;
        // A trailing CR may still be half of a CRLF; anything else past the bound is too long.
        std::size_t content = available;
        if (content > 0 && start[content - 1] == '\r') --content;
        return content > max_line_ ? Status::too_long : Status::need_more;
    }
    const std::size_t length = static_cast<const char*>(found) - start;
    std::size_t content = length;
    if (content > 0 && start[content - 1] == '\r') --content;
    if (content > max_line_) return Status::too_long;
    line = std::string_view(start, content);
    begin_ += length + 1;
    scanned_ = 0;
    return Status::line;
}

std::string_view LineReader::take(std::size_t max) {
    const std::size_t taken = std::min(max, end_ - begin_);
    const std::string_view bytes(buffer_.data() + begin_, taken);
    begin_ += taken;
    scanned_ = 0;  // what was searched may have been taken
    return bytes;
}

std::string_view LineReader::pending() const {
    return {buffer_.data() + begin_, end_ - begin_};
}

}  // namespace tierwatch

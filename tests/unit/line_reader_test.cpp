// LineReader fed byte by byte, in odd chunks, with CRLF split across reads and oversized lines.
#include "probes/wire/line_reader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace tierwatch {
namespace {

// Feeds `input` in chunks of `chunk` bytes and collects every line; stops at too_long.
std::vector<std::string> feed(LineReader& reader, std::string_view input, std::size_t chunk,
                              bool* too_long = nullptr) {
    std::vector<std::string> lines;
    std::size_t offset = 0;
    while (true) {
        std::string_view line;
        auto status = reader.next(line);
        while (status == LineReader::Status::line) {
            lines.emplace_back(line);
            status = reader.next(line);
        }
        if (status == LineReader::Status::too_long) {
            if (too_long) *too_long = true;
            return lines;
        }
        if (offset >= input.size()) return lines;
        auto space = reader.prepare();
        const auto n = std::min({chunk, space.size(), input.size() - offset});
        std::memcpy(space.data(), input.data() + offset, n);
        reader.commit(n);
        offset += n;
    }
}

TEST(LineReader, SplitsLinesAtEveryChunkSize) {
    const std::string input = "220-first\r\n220-second\n220 last\r\nrest";
    for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
        LineReader reader(64);
        const auto lines = feed(reader, input, chunk);
        ASSERT_EQ(lines, (std::vector<std::string>{"220-first", "220-second", "220 last"}))
            << "chunk " << chunk;
        EXPECT_EQ(reader.pending(), "rest");
    }
}

TEST(LineReader, ExactlyMaxLengthIsAcceptedOneMoreIsNot) {
    LineReader ok_reader(8);
    EXPECT_EQ(feed(ok_reader, "12345678\r\n", 3), std::vector<std::string>{"12345678"});

    LineReader long_reader(8);
    bool too_long = false;
    EXPECT_TRUE(feed(long_reader, "123456789\r\n", 3, &too_long).empty());
    EXPECT_TRUE(too_long);
}

TEST(LineReader, MebibyteWithoutLineEndStopsAtTheBound) {
    LineReader reader(1024);
    bool too_long = false;
    const std::string flood(1 << 20, 'A');
    feed(reader, flood, 4096, &too_long);
    EXPECT_TRUE(too_long);
    EXPECT_LE(reader.prepare().size(), 1026u);  // the buffer never grew
}

TEST(LineReader, GarbageBytesAreDeliveredNotInterpreted) {
    LineReader reader(32);
    std::string garbage("\x16\x03\x01\x00\xff\r\n", 7);
    const auto lines = feed(reader, garbage, 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].size(), 5u);
}

TEST(LineReaderTake, RawBytesThenLinesAgain) {
    LineReader reader(8);
    const std::string input = "ab\r\ncd-long-line-without-end|x\r\n";
    auto space = reader.prepare();
    std::memcpy(space.data(), input.data(), 8);
    reader.commit(8);
    std::string_view line;
    ASSERT_EQ(reader.next(line), LineReader::Status::line);
    EXPECT_EQ(line, "ab");
    EXPECT_EQ(reader.take(2), "cd");   // at most what was asked
    EXPECT_EQ(reader.take(100), "-l");  // at most what is there
    EXPECT_EQ(reader.take(5), "");
    std::size_t offset = 8;
    std::string raw;
    while (raw.size() < 23) {  // "ong-line-without-end|" read raw, far beyond the line bound
        space = reader.prepare();
        const std::size_t n = std::min<std::size_t>(3, input.size() - offset);
        std::memcpy(space.data(), input.data() + offset, n);
        reader.commit(n);
        offset += n;
        raw += reader.take(23 - raw.size());
    }
    EXPECT_EQ(raw, "ong-line-without-end|x\r");
    space = reader.prepare();
    std::memcpy(space.data(), input.data() + offset, input.size() - offset);
    reader.commit(input.size() - offset);
    ASSERT_EQ(reader.next(line), LineReader::Status::line);  // the bare LF that was left
    EXPECT_EQ(line, "");
}

}  // namespace
}  // namespace tierwatch

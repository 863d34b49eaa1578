// SMTP, IMAP and POP3 replies as the probes read them: bytes from the server through the bounded
// LineReader (IMAP literals taken raw) into the reply parsers. The fuzzer chooses the protocol,
// the line bound and where the bytes are split between receives; whatever the splits, the
// replies must come out exactly as when every receive fills the reader's buffer.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "probes/wire/imap_parser.hpp"
#include "probes/wire/line_reader.hpp"
#include "probes/wire/pop3_parser.hpp"
#include "probes/wire/smtp_parser.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace tierwatch;

// The server's bytes, handed to the reader one receive at a time.
struct Server {
    std::string_view bytes;
    std::vector<std::size_t> chunks;  // receive sizes, cycled; empty: as much as fits
    std::size_t at = 0;
    std::size_t turn = 0;

    bool receive(LineReader& reader) {
        const auto space = reader.prepare();
        std::size_t n = chunks.empty() ? space.size() : chunks[turn++ % chunks.size()];
        n = std::min({n, space.size(), bytes.size() - at});
        if (n == 0) return false;
        std::memcpy(space.data(), bytes.data() + at, n);
        reader.commit(n);
        at += n;
        return true;
    }
};

enum class Read { line, end, too_long };

Read read_line(LineReader& reader, Server& server, std::string_view& line) {
    while (true) {
        switch (reader.next(line)) {
            case LineReader::Status::line:
                fuzz::require(line.size() <= reader.max_line(), "a line is within the bound");
                fuzz::require(line.find('\n') == std::string_view::npos, "a line holds no line end");
                return Read::line;
            case LineReader::Status::too_long:
                return Read::too_long;
            case LineReader::Status::need_more:
                if (!server.receive(reader)) return Read::end;
        }
    }
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) out += std::to_string(part.size()) + ":" + part + "|";
    return out;
}

// Every reply (or the error that ended the dialogue) as one line of a transcript.
std::string transcript(int protocol, bool multi_line, std::size_t max_line, Server server) {
    LineReader reader(max_line);
    SmtpReplyParser smtp;
    ImapResponseParser imap(4096, max_reply_lines, 1024);
    Pop3ReplyParser pop3;
    pop3.expect(multi_line);
    std::string out;
    std::string_view line;
    while (true) {
        if (protocol == 1 && imap.literal_remaining() > 0) {
            if (reader.pending().empty() && !server.receive(reader)) return out + "end in literal\n";
            const auto bytes = reader.take(imap.literal_remaining());
            fuzz::require(imap.feed_literal(bytes) == bytes.size(), "a literal takes what it asked for");
            continue;
        }
        const Read read = read_line(reader, server, line);
        if (read == Read::end) return out + "end\n";
        if (read == Read::too_long) return out + "too long\n";
        ParseStatus status = ParseStatus::need_more;
        std::string reply;
        if (protocol == 0) {
            status = smtp.feed(line);
            if (status == ParseStatus::complete) {
                reply = std::to_string(smtp.reply().code) + " " + joined(smtp.reply().lines) + smtp.reply().summary();
            }
        } else if (protocol == 1) {
            status = imap.feed(line);
            if (status == ParseStatus::complete) {
                const ImapResponse& r = imap.response();
                reply = std::to_string(static_cast<int>(r.kind)) + r.tag + "/" + std::string(to_string(r.status)) +
                        "/" + r.code + "/" + r.text + "/" + joined(r.literals) + r.summary();
                std::vector<std::string> capabilities;
                imap_capabilities(r, capabilities);
                std::vector<std::uint32_t> numbers;
                imap_search_results(r, numbers);
                reply += joined(capabilities) + std::to_string(numbers.size());
            }
        } else {
            status = pop3.feed(line);
            if (status == ParseStatus::complete) {
                reply = std::to_string(static_cast<int>(pop3.reply().kind)) + pop3.reply().text + "/" +
                        joined(pop3.reply().lines) + pop3.reply().summary();
            }
        }
        if (status == ParseStatus::invalid) {
            const std::string& error = protocol == 0 ? smtp.error() : protocol == 1 ? imap.error() : pop3.error();
            fuzz::require(!error.empty(), "an invalid reply says why");
            return out + "invalid: " + error + "\n";
        }
        if (status == ParseStatus::complete) {
            out += reply + "\n";
            if (protocol == 1) imap.reset();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const int protocol = input.ConsumeIntegralInRange(0, 2);
    const bool multi_line = input.ConsumeBool();
    static constexpr std::size_t bounds[] = {8, 64, 512, max_mail_line};
    const std::size_t max_line = bounds[input.ConsumeIntegralInRange<std::size_t>(0, 3)];
    Server split;
    const std::size_t splits = input.ConsumeIntegralInRange<std::size_t>(1, 8);
    for (std::size_t i = 0; i < splits; ++i) split.chunks.push_back(input.ConsumeIntegralInRange<std::size_t>(1, 300));
    const std::string bytes = input.ConsumeRemainingBytesAsString();
    split.bytes = bytes;
    Server whole;
    whole.bytes = bytes;
    fuzz::require(transcript(protocol, multi_line, max_line, split) ==
                      transcript(protocol, multi_line, max_line, whole),
                  "the replies do not depend on where the bytes were split");
    return 0;
}

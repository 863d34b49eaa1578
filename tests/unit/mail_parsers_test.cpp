// The SMTP, IMAP and POP3 parsers fed from raw bytes through a LineReader, byte by byte and in
// random chunk splits (CRLF split at every edge), plus oversized lines, garbage and literals.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "probes/wire/imap_parser.hpp"
#include "probes/wire/line_reader.hpp"
#include "probes/wire/mail_common.hpp"
#include "probes/wire/pop3_parser.hpp"
#include "probes/wire/smtp_parser.hpp"

namespace tierwatch {
namespace {

enum class End { input_done, invalid, too_long };

// Feeds `input` to a LineReader in the given chunk sizes (cycled) and each line to `feed`, as
// ProbeSession does; stops at the first invalid reply or over-long line.
End drive(std::string_view input, const std::vector<std::size_t>& chunks,
          const std::function<ParseStatus(std::string_view)>& feed, std::size_t max_line = 512) {
    LineReader reader(max_line);
    std::size_t offset = 0;
    std::size_t next_chunk = 0;
    while (true) {
        std::string_view line;
        LineReader::Status status;
        while ((status = reader.next(line)) == LineReader::Status::line) {
            if (feed(line) == ParseStatus::invalid) return End::invalid;
        }
        if (status == LineReader::Status::too_long) return End::too_long;
        if (offset == input.size()) return End::input_done;
        const auto space = reader.prepare();
        const std::size_t n =
            std::min({chunks[next_chunk++ % chunks.size()], space.size(), input.size() - offset});
        std::memcpy(space.data(), input.data() + offset, n);
        reader.commit(n);
        offset += n;
    }
}

// Every way the tests split input: each fixed chunk size, then random splits from a fixed seed.
std::vector<std::vector<std::size_t>> splits(std::string_view input) {
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t size = 1; size <= input.size(); ++size) out.push_back({size});
    std::mt19937 random(20261123);
    for (int round = 0; round < 100; ++round) {
        std::vector<std::size_t> chunks;
        for (std::size_t total = 0; total < input.size();) {
            chunks.push_back(std::uniform_int_distribution<std::size_t>(1, 7)(random));
            total += chunks.back();
        }
        out.push_back(std::move(chunks));
    }
    return out;
}

// Runs `check` once per split; `check` builds a fresh parser and asserts on what `drive` found.
void for_every_split(std::string_view input,
                     const std::function<void(const std::vector<std::size_t>&)>& check) {
    for (const auto& chunks : splits(input)) {
        SCOPED_TRACE("first chunk " + std::to_string(chunks.front()) + " of " +
                     std::to_string(chunks.size()));
        check(chunks);
        if (::testing::Test::HasFailure()) return;
    }
}

// ---- SMTP ----

std::vector<SmtpReply> smtp_replies(std::string_view input, const std::vector<std::size_t>& chunks,
                                    End& end, std::string* error = nullptr) {
    SmtpReplyParser parser;
    std::vector<SmtpReply> replies;
    end = drive(input, chunks, [&](std::string_view line) {
        const ParseStatus status = parser.feed(line);
        if (status == ParseStatus::complete) replies.push_back(parser.reply());
        if (status == ParseStatus::invalid && error) *error = parser.error();
        return status;
    });
    return replies;
}

TEST(SmtpReplyParser, PostscreenMultiLineGreetingAtEverySplit) {
    const std::string input =
        "220-mx1.example.com ESMTP\r\n220-please wait\r\n220 mx1.example.com ESMTP Postfix\r\n";
    for_every_split(input, [&](const auto& chunks) {
        End end;
        const auto replies = smtp_replies(input, chunks, end);
        EXPECT_EQ(end, End::input_done);
        ASSERT_EQ(replies.size(), 1u);
        EXPECT_EQ(replies[0].code, 220);
        EXPECT_EQ(replies[0].lines,
                  (std::vector<std::string>{"mx1.example.com ESMTP", "please wait",
                                            "mx1.example.com ESMTP Postfix"}));
        EXPECT_TRUE(replies[0].positive());
    });
}

TEST(SmtpReplyParser, EhloCapabilitiesAndPipelinedReplies) {
    const std::string input =
        "250-mx1.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
        "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\n250 8BITMIME\r\n221 2.0.0 Bye\r\n";
    for_every_split(input, [&](const auto& chunks) {
        End end;
        const auto replies = smtp_replies(input, chunks, end);
        ASSERT_EQ(replies.size(), 2u);
        const auto capabilities = ehlo_capabilities(replies[0]);
        EXPECT_EQ(capabilities, (std::vector<std::string>{"PIPELINING", "SIZE 10240000", "STARTTLS",
                                                          "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES",
                                                          "8BITMIME"}));
        EXPECT_EQ(replies[1].code, 221);
        EXPECT_EQ(replies[1].summary(), "221 2.0.0 Bye");
    });
}

TEST(SmtpReplyParser, BareCodeEndsAReplyAndRejectionsSummarise) {
    SmtpReplyParser parser;
    EXPECT_EQ(parser.feed("250"), ParseStatus::complete);
    EXPECT_EQ(parser.reply().lines, std::vector<std::string>{""});
    EXPECT_EQ(parser.feed("554 5.7.1 <unknown[192.0.2.1]>: Client host rejected"),
              ParseStatus::complete);
    EXPECT_FALSE(parser.reply().positive());
    EXPECT_EQ(parser.reply().summary(), "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected");
    EXPECT_EQ(ehlo_capabilities(parser.reply()), std::vector<std::string>{});
}

TEST(SmtpReplyParser, CodeMustNotChangeWithinAReply) {
    End end;
    std::string error;
    smtp_replies("250-first\r\n251 second\r\n", {3}, end, &error);
    EXPECT_EQ(end, End::invalid);
    EXPECT_EQ(error, "reply code changed from 250 within one reply: \"251 second\"");
}

TEST(SmtpReplyParser, GarbageIsInvalidAndPrintable) {
    for (std::string_view garbage :
         {"hello", "25", "2500 x", "650 x", "120 x", "220_x", "SSH-2.0-OpenSSH_9.2",
          "\x16\x03\x01\x02\x00\x01\x00\x01\xfc"}) {
        SmtpReplyParser parser;
        EXPECT_EQ(parser.feed(garbage), ParseStatus::invalid) << garbage;
        EXPECT_TRUE(parser.error().starts_with("malformed SMTP reply line: \"")) << parser.error();
        EXPECT_EQ(parser.error().find('\x16'), std::string::npos);
    }
}

TEST(SmtpReplyParser, LineCountIsBounded) {
    SmtpReplyParser parser(4);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(parser.feed("250-x"), ParseStatus::need_more);
    EXPECT_EQ(parser.feed("250-x"), ParseStatus::invalid);
    EXPECT_EQ(parser.error(), "reply longer than 4 lines: \"250-x\"");
}

TEST(SmtpReplyParser, OversizedLineStopsAtTheReader) {
    const std::string input = "220-" + std::string(4096, 'x') + "\r\n220 ok\r\n";
    End end;
    const auto replies = smtp_replies(input, {1000}, end);
    EXPECT_EQ(end, End::too_long);
    EXPECT_TRUE(replies.empty());
}

// ---- IMAP ----

std::vector<ImapResponse> imap_responses(std::string_view input,
                                         const std::vector<std::size_t>& chunks, End& end,
                                         std::string* error = nullptr,
                                         std::size_t max_literal = 1024) {
    ImapResponseParser parser(max_literal);
    std::vector<ImapResponse> responses;
    end = drive(input, chunks, [&](std::string_view line) {
        const ParseStatus status = parser.feed(line);
        if (status == ParseStatus::complete) responses.push_back(parser.response());
        if (status == ParseStatus::invalid && error) *error = parser.error();
        return status;
    });
    return responses;
}

TEST(ImapResponseParser, DialogueAtEverySplit) {
    const std::string input =
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"
        "* CAPABILITY IMAP4rev1 LITERAL+ STARTTLS\r\n"
        "A1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
        "+ \r\n"
        "A2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        "* BYE Logging out\r\n"
        "A3 ok LOGOUT completed\n";
    for_every_split(input, [&](const auto& chunks) {
        End end;
        const auto responses = imap_responses(input, chunks, end);
        EXPECT_EQ(end, End::input_done);
        ASSERT_EQ(responses.size(), 7u);

        const auto& greeting = responses[0];
        EXPECT_EQ(greeting.kind, ImapResponse::Kind::untagged);
        EXPECT_EQ(greeting.status, ImapStatus::ok);
        EXPECT_EQ(greeting.code,
                  "CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS STARTTLS AUTH=PLAIN");
        EXPECT_EQ(greeting.text, "Dovecot ready.");
        std::vector<std::string> capabilities;
        ASSERT_TRUE(imap_capabilities(greeting, capabilities));
        EXPECT_EQ(capabilities.size(), 5u);
        EXPECT_TRUE(has_capability(capabilities, "auth=plain"));

        capabilities.clear();
        ASSERT_TRUE(imap_capabilities(responses[1], capabilities));
        EXPECT_EQ(capabilities, (std::vector<std::string>{"IMAP4rev1", "LITERAL+", "STARTTLS"}));
        EXPECT_EQ(responses[1].status, ImapStatus::none);

        EXPECT_EQ(responses[2].kind, ImapResponse::Kind::tagged);
        EXPECT_EQ(responses[2].tag, "A1");
        EXPECT_EQ(responses[2].status, ImapStatus::ok);
        EXPECT_FALSE(imap_capabilities(responses[2], capabilities));

        EXPECT_EQ(responses[3].kind, ImapResponse::Kind::continuation);
        EXPECT_EQ(responses[3].text, "");

        EXPECT_EQ(responses[4].status, ImapStatus::no);
        EXPECT_EQ(responses[4].code, "AUTHENTICATIONFAILED");
        EXPECT_EQ(responses[4].summary(), "NO [AUTHENTICATIONFAILED] Authentication failed.");
        EXPECT_EQ(responses[5].status, ImapStatus::bye);
        EXPECT_EQ(responses[6].status, ImapStatus::ok);
        EXPECT_EQ(responses[6].tag, "A3");
    });
}

TEST(ImapResponseParser, PreauthAndBareContinuation) {
    ImapResponseParser parser;
    ASSERT_EQ(parser.feed("* PREAUTH [CAPABILITY IMAP4rev2] ready"), ParseStatus::complete);
    EXPECT_EQ(parser.response().status, ImapStatus::preauth);
    ASSERT_EQ(parser.feed("+"), ParseStatus::complete);
    EXPECT_EQ(parser.response().kind, ImapResponse::Kind::continuation);
    ASSERT_EQ(parser.feed("+ Ready for literal data"), ParseStatus::complete);
    EXPECT_EQ(parser.response().text, "Ready for literal data");
}

TEST(ImapResponseParser, LiteralsAtEverySplit) {
    const std::string input =
        "* LIST () \"/\" {5}\r\nINBOX\r\n"  // literal ends at the line end
        "* 1 FETCH (BODY[] {12}\r\nline1\r\nline2 FLAGS (\\Seen))\r\n"  // CRLF inside, text after
                                                                        // it
        "* 2 FETCH (A {3}\r\nabc B {0}\r\n C {2}\r\n\r\n)\r\n"  // two more, one empty, one CRLF
        "* X {6}\r\nline1\r\n"                                  // ends inside its CRLF
        "A1 OK done\r\n";
    for_every_split(input, [&](const auto& chunks) {
        End end;
        const auto responses = imap_responses(input, chunks, end);
        EXPECT_EQ(end, End::input_done);
        ASSERT_EQ(responses.size(), 5u);
        EXPECT_EQ(responses[0].text, "LIST () \"/\" {5}");
        EXPECT_EQ(responses[0].literals, std::vector<std::string>{"INBOX"});
        EXPECT_EQ(responses[1].text, "1 FETCH (BODY[] {12} FLAGS (\\Seen))");
        EXPECT_EQ(responses[1].literals, std::vector<std::string>{"line1\r\nline2"});
        EXPECT_EQ(responses[2].text, "2 FETCH (A {3} B {0} C {2})");
        EXPECT_EQ(responses[2].literals, (std::vector<std::string>{"abc", "", "\r\n"}));
        EXPECT_EQ(responses[3].literals, std::vector<std::string>{"line1\r"});
        EXPECT_EQ(responses[4].tag, "A1");
    });
}

TEST(ImapResponseParser, LiteralBytesCanBeFedExactly) {
    ImapResponseParser parser;
    ASSERT_EQ(parser.feed("* X {3}"), ParseStatus::need_more);
    EXPECT_EQ(parser.literal_remaining(), 3u);
    EXPECT_EQ(parser.feed_literal("ab"), 2u);
    EXPECT_EQ(parser.literal_remaining(), 1u);
    EXPECT_EQ(parser.feed_literal("c\n rest"), 1u);  // a bare LF is literal data, not a line end
    EXPECT_EQ(parser.literal_remaining(), 0u);
    EXPECT_EQ(parser.feed_literal("more"), 0u);
    ASSERT_EQ(parser.feed(" rest"), ParseStatus::complete);
    EXPECT_EQ(parser.response().text, "X {3} rest");
    EXPECT_EQ(parser.response().literals, std::vector<std::string>{"abc"});
}

TEST(ImapResponseParser, OversizedLiteralIsInvalid) {
    End end;
    std::string error;
    imap_responses("* 1 FETCH (BODY[] {4096}\r\n", {7}, end, &error, 1024);
    EXPECT_EQ(end, End::invalid);
    EXPECT_EQ(error,
              "literal of 4096 bytes exceeds the 1024-byte bound: \"* 1 FETCH (BODY[] {4096}\"");
    // Many small literals add up to the same bound.
    ImapResponseParser parser(8);
    ASSERT_EQ(parser.feed("* X {5}"), ParseStatus::need_more);
    ASSERT_EQ(parser.feed("12345 {5}"), ParseStatus::invalid);
    // A huge digit string neither overflows nor passes.
    ImapResponseParser huge;
    EXPECT_EQ(huge.feed("* X {99999999999999999999999}"), ParseStatus::complete);
    EXPECT_EQ(huge.feed("* X {18446744073709551615}"), ParseStatus::invalid);
}

// As ImapClient reads: lines through the LineReader, but a pending literal's bytes raw (take()),
// so a literal may hold lines far beyond the line bound. Returns the completed responses.
std::vector<ImapResponse> imap_raw_literals(std::string_view input, std::size_t chunk,
                                            ImapResponseParser& parser, End& end,
                                            std::size_t max_line = 512) {
    LineReader reader(max_line);
    std::vector<ImapResponse> responses;
    std::size_t offset = 0;
    while (true) {
        bool progress = true;
        while (progress) {
            progress = false;
            if (parser.literal_remaining() > 0) {
                const std::string_view bytes = reader.take(parser.literal_remaining());
                parser.feed_literal(bytes);
                progress = !bytes.empty();
                continue;
            }
            std::string_view line;
            const auto status = reader.next(line);
            if (status == LineReader::Status::too_long) {
                end = End::too_long;
                return responses;
            }
            if (status != LineReader::Status::line) break;
            progress = true;
            const ParseStatus parsed = parser.feed(line);
            if (parsed == ParseStatus::invalid) {
                end = End::invalid;
                return responses;
            }
            if (parsed == ParseStatus::complete) responses.push_back(parser.response());
        }
        if (offset == input.size()) {
            end = End::input_done;
            return responses;
        }
        const auto space = reader.prepare();
        const std::size_t n = std::min({chunk, space.size(), input.size() - offset});
        std::memcpy(space.data(), input.data() + offset, n);
        reader.commit(n);
        offset += n;
    }
}

TEST(ImapResponseParser, LiteralsBeyondTheLineBoundAreSkippedWithABound) {
    // 20,000 bytes without a line end inside the literal: 40 times the line bound of 512.
    const std::string body(20000, 'x');
    const std::string input = "* 1 FETCH (BODY[] {20000}\r\n" + body + ")\r\n* 2 EXISTS\r\nA1 OK done\r\n";
    for (std::size_t chunk : {1u, 2u, 7u, 511u, 512u, 513u, 4096u, 30000u}) {
        ImapResponseParser parser(64 * 1024, max_reply_lines, 1000);  // keeps 1,000 bytes
        End end;
        const auto responses = imap_raw_literals(input, chunk, parser, end);
        EXPECT_EQ(end, End::input_done) << chunk;
        ASSERT_EQ(responses.size(), 3u) << chunk;
        EXPECT_EQ(responses[0].text, "1 FETCH (BODY[] {20000})");
        ASSERT_EQ(responses[0].literals.size(), 1u);
        EXPECT_EQ(responses[0].literals[0], std::string(1000, 'x'));  // the rest counted, not kept
        EXPECT_EQ(responses[1].text, "2 EXISTS");
        EXPECT_EQ(responses[2].kind, ImapResponse::Kind::tagged);
    }
    // The same response read line by line fails at the line bound: why literals are read raw.
    End end;
    imap_responses(input, {4096}, end, nullptr, 64 * 1024);
    EXPECT_EQ(end, End::too_long);
}

TEST(ImapResponseParser, DefaultLiteralBoundIsOneMebibyte) {
    ImapResponseParser parser;
    EXPECT_EQ(parser.feed("* 1 FETCH (BODY[] {1048576}"), ParseStatus::need_more);
    EXPECT_EQ(parser.literal_remaining(), 1048576u);
    const std::string chunk(65536, 'y');
    for (int i = 0; i < 16; ++i) EXPECT_EQ(parser.feed_literal(chunk), chunk.size());
    EXPECT_EQ(parser.feed(")"), ParseStatus::complete);
    EXPECT_EQ(parser.response().literals.at(0).size(), 65536u);  // kept: the first 64 KiB
    ImapResponseParser over;
    EXPECT_EQ(over.feed("* 1 FETCH (BODY[] {1048577}"), ParseStatus::invalid);
    EXPECT_EQ(over.error(),
              "literal of 1048577 bytes exceeds the 1048576-byte bound: \"* 1 FETCH (BODY[] {1048577}\"");
}

TEST(ImapResponseParser, BracesInStatusTextAreNoLiteral) {
    ImapResponseParser parser;
    EXPECT_EQ(parser.feed("* OK [ALERT] quota {5}"), ParseStatus::complete);
    EXPECT_EQ(parser.feed("A1 NO over quota {5}"), ParseStatus::complete);
    EXPECT_EQ(parser.feed("* FLAGS {abc}"), ParseStatus::complete);
}

TEST(ImapResponseParser, GarbageIsInvalid) {
    for (std::string_view garbage :
         {"hello world", "A1", "A1 MAYBE so", "* ", "*", "", "(x) OK", "A\"1 OK x",
          "220 mx.example.com ESMTP", "\x16\x03\x01\x02\x00"}) {
        ImapResponseParser parser;
        EXPECT_EQ(parser.feed(garbage), ParseStatus::invalid) << garbage;
        EXPECT_FALSE(parser.error().empty());
    }
}

TEST(ImapResponseParser, ContinuationLinesAreBounded) {
    ImapResponseParser parser(1024, 3);
    ASSERT_EQ(parser.feed("* X {1}"), ParseStatus::need_more);
    ASSERT_EQ(parser.feed("a {1}"), ParseStatus::need_more);
    ASSERT_EQ(parser.feed("b {1}"), ParseStatus::need_more);
    EXPECT_EQ(parser.feed("c {1}"), ParseStatus::invalid);
    EXPECT_TRUE(parser.error().starts_with("response longer than 3 lines")) << parser.error();
}

TEST(ImapCommand, QuotesOrSendsLiterals) {
    const auto command = [](std::initializer_list<std::string_view> arguments) {
        return imap_command("A2", "LOGIN", std::vector<std::string_view>(arguments));
    };
    EXPECT_EQ(command({"probe@example.com", "pa\"ss\\word"}),
              std::vector<std::string>{"A2 LOGIN \"probe@example.com\" \"pa\\\"ss\\\\word\"\r\n"});
    EXPECT_EQ(command({"probe", "line\r\nbreak"}),
              (std::vector<std::string>{"A2 LOGIN \"probe\" {11}\r\n", "line\r\nbreak\r\n"}));
    EXPECT_EQ(
        command({"\xc3\xbcser", "p\xc3\xa4ss"}),
        (std::vector<std::string>{"A2 LOGIN {5}\r\n", "\xc3\xbcser {5}\r\n", "p\xc3\xa4ss\r\n"}));
    EXPECT_TRUE(command({"probe", std::string_view("nul\0byte", 8)}).empty());
    EXPECT_EQ(imap_command("A3", "EXAMINE", std::vector<std::string_view>{"INBOX"}),
              std::vector<std::string>{"A3 EXAMINE \"INBOX\"\r\n"});
}

// ---- POP3 ----

TEST(Pop3ReplyParser, GreetingCapaAndStatusAtEverySplit) {
    const std::string input =
        "+OK Dovecot ready. <1896.697170952@mail.example.com>\r\n"
        "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nSTLS\r\nSASL PLAIN LOGIN\r\n..dot-stuffed\r\n.\r\n"
        "-ERR [AUTH] Authentication failed.\r\n"
        "+ \r\n"
        "+OK 2 320\n";
    for_every_split(input, [&](const auto& chunks) {
        Pop3ReplyParser parser;
        std::vector<Pop3Reply> replies;
        const bool multi_line[] = {false, true, false, false, false};
        parser.expect(multi_line[0]);
        const End end = drive(input, chunks, [&](std::string_view line) {
            const ParseStatus status = parser.feed(line);
            if (status == ParseStatus::complete) {
                replies.push_back(parser.reply());
                if (replies.size() < std::size(multi_line))
                    parser.expect(multi_line[replies.size()]);
            }
            return status;
        });
        EXPECT_EQ(end, End::input_done);
        ASSERT_EQ(replies.size(), 5u);
        EXPECT_TRUE(replies[0].ok());
        EXPECT_EQ(replies[0].text, "Dovecot ready. <1896.697170952@mail.example.com>");
        EXPECT_EQ(replies[1].lines, (std::vector<std::string>{"CAPA", "TOP", "UIDL", "STLS",
                                                              "SASL PLAIN LOGIN", ".dot-stuffed"}));
        EXPECT_TRUE(has_capability(replies[1].lines, "SASL PLAIN"));
        EXPECT_FALSE(has_capability(replies[1].lines, "SASL GSSAPI"));
        EXPECT_EQ(replies[2].kind, Pop3Reply::Kind::err);
        EXPECT_EQ(replies[2].summary(), "-ERR [AUTH] Authentication failed.");
        EXPECT_EQ(replies[3].kind, Pop3Reply::Kind::challenge);
        EXPECT_EQ(replies[4].text, "2 320");
    });
}

TEST(Pop3ReplyParser, ErrEndsAMultiLineCommandAtOnce) {
    Pop3ReplyParser parser;
    parser.expect(true);
    EXPECT_EQ(parser.feed("-ERR unknown command"), ParseStatus::complete);
    EXPECT_FALSE(parser.reply().ok());
    EXPECT_TRUE(parser.reply().lines.empty());
}

TEST(Pop3ReplyParser, GarbageAndLongBodiesAreInvalid) {
    for (std::string_view garbage :
         {"OK", "+OKAY", "-ERROR x", "220 smtp ready", "* OK imap", "", "\xff\xfe"}) {
        Pop3ReplyParser parser;
        parser.expect(false);
        EXPECT_EQ(parser.feed(garbage), ParseStatus::invalid) << garbage;
        EXPECT_TRUE(parser.error().starts_with("malformed POP3 status line")) << parser.error();
    }
    Pop3ReplyParser parser(2);
    parser.expect(true);
    ASSERT_EQ(parser.feed("+OK"), ParseStatus::need_more);
    ASSERT_EQ(parser.feed("A"), ParseStatus::need_more);
    ASSERT_EQ(parser.feed("B"), ParseStatus::need_more);
    EXPECT_EQ(parser.feed("C"), ParseStatus::invalid);
    EXPECT_EQ(parser.error(), "multi-line reply longer than 2 lines");
}

// ---- shared ----

TEST(MailCommon, CapabilityMatching) {
    const std::vector<std::string> offered{"PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN",
                                           "STARTTLS"};
    EXPECT_TRUE(has_capability(offered, "pipelining"));
    EXPECT_TRUE(has_capability(offered, "AUTH LOGIN"));
    EXPECT_TRUE(has_capability(offered, "AUTH  PLAIN   LOGIN"));
    EXPECT_FALSE(has_capability(offered, "AUTH CRAM-MD5"));
    EXPECT_FALSE(has_capability(offered, "SMTPUTF8"));
    EXPECT_FALSE(has_capability(offered, ""));
    EXPECT_EQ(missing_capabilities(offered,
                                   std::vector<std::string>{"STARTTLS", "SMTPUTF8", "AUTH GSSAPI"}),
              "SMTPUTF8, AUTH GSSAPI");
    EXPECT_EQ(missing_capabilities(offered, std::vector<std::string>{"STARTTLS"}), "");
}

TEST(MailCommon, Base64AndSaslPlain) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("\xff\xfe\xfd"), "//79");
    EXPECT_EQ(sasl_plain("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");  // RFC 4616
}

}  // namespace
}  // namespace tierwatch

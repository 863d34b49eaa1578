// The tcp dialogue state machine fed from raw bytes through a LineReader at every split, with
// oversized lines, garbage, and the failure each way of going wrong maps to.
#include "probes/tcp/dialogue.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "probes/wire/line_reader.hpp"

namespace tierwatch {
namespace {

std::vector<DialogueStep> steps(
    std::initializer_list<std::pair<DialogueStep::Kind, std::string>> list) {
    std::vector<DialogueStep> out;
    for (const auto& [kind, text] : list) {
        DialogueStep step;
        step.kind = kind;
        step.text = text;
        if (kind == DialogueStep::Kind::expect) step.regex.emplace(text);
        out.push_back(std::move(step));
    }
    return out;
}

constexpr auto expect = DialogueStep::Kind::expect;
constexpr auto send = DialogueStep::Kind::send;
constexpr auto starttls = DialogueStep::Kind::starttls;

struct Outcome {
    DialogueMachine::Action end = DialogueMachine::Action::read_line;
    std::string sent;
    int tls_upgrades = 0;
    bool too_long = false;  // the line reader refused a line
};

// Plays `server` (what the server sends, all at once as the client reads it) against the
// machine, feeding the bytes to a LineReader `chunk` bytes at a time.
Outcome play(const std::vector<DialogueStep>& script, std::string_view server, std::size_t chunk,
             std::size_t max_line = 64, std::size_t max_lines = 1000) {
    DialogueMachine machine(script, max_lines);
    LineReader reader(max_line);
    Outcome out;
    std::size_t offset = 0;
    while (true) {
        switch (machine.next()) {
            case DialogueMachine::Action::done:
            case DialogueMachine::Action::failed:
                out.end = machine.next();
                return out;
            case DialogueMachine::Action::send:
                out.sent += machine.send_text();
                machine.advance();
                continue;
            case DialogueMachine::Action::starttls:
                ++out.tls_upgrades;
                machine.advance();
                continue;
            case DialogueMachine::Action::read_line:
                break;
        }
        std::string_view line;
        const auto status = reader.next(line);
        if (status == LineReader::Status::line) {
            machine.feed(line);
            continue;
        }
        if (status == LineReader::Status::too_long) {
            out.too_long = true;
            return out;
        }
        if (offset == server.size()) return out;  // the server went quiet: the deadline would fire
        const auto space = reader.prepare();
        const std::size_t n = std::min({chunk, space.size(), server.size() - offset});
        std::memcpy(space.data(), server.data() + offset, n);
        reader.commit(n);
        offset += n;
    }
}

const std::vector<DialogueStep> smtp = steps({
    {expect, "^220 "},
    {send, "EHLO tierwatch.invalid"},
    {expect, "^250 "},
    {starttls, ""},
    {send, "QUIT"},
    {expect, "^221"},
});

TEST(DialogueMachine, SmtpAtEverySplit) {
    const std::string server =
        "220-mx.example.com ESMTP postscreen\r\n220 mx.example.com ESMTP\r\n"
        "250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n221 2.0.0 Bye\r\n";
    for (std::size_t chunk = 1; chunk <= server.size(); ++chunk) {
        const Outcome out = play(smtp, server, chunk);
        EXPECT_EQ(out.end, DialogueMachine::Action::done) << chunk;
        EXPECT_EQ(out.sent, "EHLO tierwatch.invalid\r\nQUIT\r\n");
        EXPECT_EQ(out.tls_upgrades, 1);
    }
}

TEST(DialogueMachine, MismatchedGreetingIsBadGreeting) {
    DialogueMachine machine(smtp, 2);
    machine.feed("554 5.7.1 no thanks");
    EXPECT_EQ(machine.next(), DialogueMachine::Action::read_line);  // one more line may match
    machine.feed("\x16\x03garbage");
    ASSERT_EQ(machine.next(), DialogueMachine::Action::failed);
    EXPECT_EQ(machine.reason(), FailureReason::bad_greeting);
    EXPECT_EQ(machine.detail(),
              "step 1: no line matched /^220 / within 2 lines; last \"\\x16\\x03garbage\"");
}

TEST(DialogueMachine, MismatchAfterSendIsProtocol) {
    DialogueMachine machine(smtp, 1);
    machine.feed("220 hi");
    ASSERT_EQ(machine.next(), DialogueMachine::Action::send);
    machine.advance();
    EXPECT_FALSE(machine.greeting());
    machine.feed("500 5.5.1 what?");
    ASSERT_EQ(machine.next(), DialogueMachine::Action::failed);
    EXPECT_EQ(machine.reason(), FailureReason::protocol);
    EXPECT_EQ(machine.detail(),
              "step 3: no line matched /^250 / within 1 line; last \"500 5.5.1 what?\"");
    // A finished machine ignores more input.
    machine.feed("250 late");
    EXPECT_EQ(machine.next(), DialogueMachine::Action::failed);
}

TEST(DialogueMachine, WaitingForNamesTheStepAndTheLastLine) {
    DialogueMachine machine(smtp);
    EXPECT_EQ(machine.waiting_for(), "step 1: no line yet for /^220 /");
    machine.feed("220-postscreen says hello");  // a greeting's first line: no match yet
    EXPECT_EQ(machine.unmatched_lines(), 1u);
    EXPECT_EQ(machine.waiting_for(),
              "step 1: no line matched /^220 /, last \"220-postscreen says hello\"");
    machine.feed("220 mx ESMTP");
    machine.advance();  // the send
    EXPECT_EQ(machine.unmatched_lines(), 0u);
    machine.feed("250-mx\r\x01");
    EXPECT_EQ(machine.waiting_for(), "step 3: no line matched /^250 /, last \"250-mx\\x0d\\x01\"");
}

TEST(DialogueMachine, OversizedLineAndSilence) {
    // Appended, not `std::string(100, 'x') + "..."`: GCC 12's -Warray-bounds misfires on that (PR 105329).
    std::string long_line(100, 'x');
    long_line += "\r\n220 ok\r\n";
    EXPECT_TRUE(play(smtp, long_line, 7, 64).too_long);
    // A server that sends nothing leaves the machine waiting for a line (the deadline ends it).
    const Outcome silent = play(smtp, "", 1);
    EXPECT_EQ(silent.end, DialogueMachine::Action::read_line);
    EXPECT_EQ(silent.sent, "");
    // Garbage without a line end is never a line.
    const Outcome partial = play(smtp, "220 no line end", 3);
    EXPECT_EQ(partial.end, DialogueMachine::Action::read_line);
}

TEST(DialogueMachine, HostileRegexInputIsAFailureNotACrash) {
    // Catastrophic backtracking: Boost.Regex throws at its complexity limit.
    const auto script = steps({{expect, "^(a+)+$"}});
    DialogueMachine machine(script);
    std::string hostile(60, 'a');
    hostile += '!';
    machine.feed(hostile);
    ASSERT_EQ(machine.next(), DialogueMachine::Action::failed);
    EXPECT_EQ(machine.reason(), FailureReason::bad_greeting);
    EXPECT_TRUE(machine.detail().starts_with("expect /^(a+)+$/: ")) << machine.detail();
}

}  // namespace
}  // namespace tierwatch

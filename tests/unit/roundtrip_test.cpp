// The roundtrip prober's sans-io pieces: token prefix, message, dates, UID sets, SEARCH results
// fed byte by byte, and the one-round-trip-per-check turns driven on an io_context.
#include "probes/roundtrip/roundtrip.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstring>
#include <optional>
#include <vector>

#include "daemon/alarms/grading.hpp"
#include "probes/wire/imap_parser.hpp"
#include "probes/wire/line_reader.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;

TEST(RoundtripToken, PrefixIsStablePerHostAndCheck) {
    const std::string prefix = roundtrip_token_prefix("monitor1", "mail-roundtrip");
    EXPECT_EQ(prefix, roundtrip_token_prefix("monitor1", "mail-roundtrip"));
    EXPECT_NE(prefix, roundtrip_token_prefix("monitor2", "mail-roundtrip"));
    EXPECT_NE(prefix, roundtrip_token_prefix("monitor1", "mail-roundtrip2"));
    // No ambiguity from where one part ends: ("ab", "c") is not ("a", "bc").
    EXPECT_NE(roundtrip_token_prefix("ab", "c"), roundtrip_token_prefix("a", "bc"));
    ASSERT_EQ(prefix.size(), 19u);
    EXPECT_TRUE(prefix.starts_with("tw-"));
    EXPECT_EQ(prefix.find_first_not_of("0123456789abcdef", 3), std::string::npos) << prefix;
}

TEST(RoundtripMessage, HeadersCarryTheTokenAndTheBodyEndsTheData) {
    const auto when = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 2h + 27min + 39s;
    const std::string message = roundtrip_message("tw-0123-ab", "probe@example.com", when);
    EXPECT_NE(message.find("\r\nX-Tierwatch-Roundtrip: tw-0123-ab\r\n"), std::string::npos);
    EXPECT_NE(message.find("\r\nDate: Mon, 23 Nov 2026 02:27:39 +0000\r\n"), std::string::npos);
    EXPECT_TRUE(
        message.starts_with("From: tierwatch <probe@example.com>\r\nTo: <probe@example.com>\r\n"));
    EXPECT_NE(message.find("\r\n\r\n"), std::string::npos);  // headers, then the body
    EXPECT_TRUE(message.ends_with("\r\n.\r\n"));
    // Exactly one terminating dot line, and no bare LF a server could take as a line end.
    EXPECT_EQ(message.find("\r\n.\r\n"), message.size() - 5);
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\n') {
            EXPECT_EQ(message[i - 1], '\r') << i;
        }
    }
}

TEST(RoundtripDates, ImapAndRfc5322) {
    const auto day = std::chrono::sys_days(std::chrono::year(2027) / 1 / 5);
    EXPECT_EQ(imap_date(day + 23h), "5-Jan-2027");
    EXPECT_EQ(imap_date(day - 1s), "4-Jan-2027");
    EXPECT_EQ(rfc5322_date(day), "Tue, 05 Jan 2027 00:00:00 +0000");
}

TEST(RoundtripUidSet, JoinsAndBounds) {
    const std::vector<std::uint32_t> uids{3, 7, 9};
    EXPECT_EQ(uid_set(uids, 10), "3,7,9");
    EXPECT_EQ(uid_set(uids, 2), "3,7");
    EXPECT_EQ(uid_set({}, 10), "");
}

// "* SEARCH" responses read as the prober reads them: through a LineReader in every chunk size.
TEST(ImapSearchResults, ByteByByteAndGarbage) {
    const std::string input =
        "* 2 EXISTS\r\n* SEARCH 4 17 4294967295\r\n* search\r\n* OK [UIDNEXT 9] x\r\nA3 OK SEARCH "
        "done\r\n";
    for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
        LineReader reader(512);
        ImapResponseParser parser;
        std::vector<std::uint32_t> found;
        std::size_t offset = 0;
        bool tagged = false;
        while (!tagged) {
            std::string_view line;
            while (reader.next(line) == LineReader::Status::line) {
                ASSERT_EQ(parser.feed(line), ParseStatus::complete);
                ASSERT_TRUE(imap_search_results(parser.response(), found));
                tagged = parser.response().kind == ImapResponse::Kind::tagged;
            }
            if (tagged) break;
            ASSERT_LT(offset, input.size());
            const auto space = reader.prepare();
            const std::size_t n = std::min({chunk, space.size(), input.size() - offset});
            std::memcpy(space.data(), input.data() + offset, n);
            reader.commit(n);
            offset += n;
        }
        EXPECT_EQ(found, (std::vector<std::uint32_t>{4, 17, 4294967295u})) << chunk;
    }
    for (std::string_view garbage :
         {"* SEARCH 1 x", "* SEARCH 0", "* SEARCH 4294967296", "* SEARCH -1"}) {
        ImapResponseParser parser;
        ASSERT_EQ(parser.feed(garbage), ParseStatus::complete);
        std::vector<std::uint32_t> found;
        EXPECT_FALSE(imap_search_results(parser.response(), found)) << garbage;
    }
}

// Three round trips of one check and one of another, started at once: the check's run one after
// the other in arrival order, the other check's runs at once.
TEST(RoundtripTurns, OneAtATimePerCheckInOrder) {
    boost::asio::io_context io;
    RoundtripTurns turns;
    std::vector<std::string> events;
    auto run = [&](std::string key, std::string name) -> boost::asio::awaitable<void> {
        auto turn = co_await turns.acquire(key, io.get_executor());
        events.push_back(name + " start");
        for (int i = 0; i < 3; ++i) co_await boost::asio::post(io, boost::asio::use_awaitable);
        events.push_back(name + " end");
    };
    for (const char* name : {"a1", "a2", "a3"})
        boost::asio::co_spawn(io, run("a", name), boost::asio::detached);
    boost::asio::co_spawn(io, run("b", "b1"), boost::asio::detached);
    io.run();
    const std::vector<std::string> a_only = [&] {
        std::vector<std::string> out;
        for (const auto& e : events)
            if (e[0] == 'a') out.push_back(e);
        return out;
    }();
    EXPECT_EQ(a_only, (std::vector<std::string>{"a1 start", "a1 end", "a2 start", "a2 end",
                                                "a3 start", "a3 end"}));
    // b did not wait for a.
    const auto b_start = std::find(events.begin(), events.end(), "b1 start");
    const auto a1_end = std::find(events.begin(), events.end(), "a1 end");
    EXPECT_LT(b_start, a1_end);
    EXPECT_FALSE(turns.busy("a"));
    EXPECT_FALSE(turns.busy("b"));
}

// A waiter that is destroyed before its turn does not take the turn with it.
TEST(RoundtripTurns, AbandonedWaiterIsSkipped) {
    boost::asio::io_context io;
    RoundtripTurns turns;
    bool third_ran = false;
    std::optional<RoundtripTurns::Turn> held;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            held.emplace(co_await turns.acquire("a", io.get_executor()));
        },
        boost::asio::detached);
    io.run();
    io.restart();
    {
        boost::asio::io_context other;  // its pending waiter dies with it
        boost::asio::co_spawn(
            other,
            [&]() -> boost::asio::awaitable<void> {
                auto turn = co_await turns.acquire("a", other.get_executor());
            },
            boost::asio::detached);
        other.poll();  // up to its wait
    }
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            auto turn = co_await turns.acquire("a", io.get_executor());
            third_ran = true;
        },
        boost::asio::detached);
    io.poll();
    EXPECT_FALSE(third_ran);
    held.reset();
    io.run();
    EXPECT_TRUE(third_ran);
    EXPECT_FALSE(turns.busy("a"));
}

// A round trip is graded on its delivery time, not on how long the whole probe took.
TEST(RoundtripGrading, DeliveryTimeAgainstTheLatencyThresholds) {
    Check check;
    check.protocol = Protocol::roundtrip;
    check.latency_warning = std::chrono::seconds(5);
    check.latency_critical = std::chrono::seconds(20);
    ProbeResult result;
    result.total = 30s;  // submit, poll and clean up
    result.set(roundtrip_delivery_measurement, 2);
    const auto now = std::chrono::system_clock::now();
    EXPECT_EQ(grade_result(result, check, now).grade, Grade::ok);
    result.set(roundtrip_delivery_measurement, 6);
    const auto warning = grade_result(result, check, now);
    EXPECT_EQ(warning.grade, Grade::warning);
    EXPECT_EQ(warning.why, "delivery 6s above 5s");
    result.set(roundtrip_delivery_measurement, 21);
    EXPECT_EQ(grade_result(result, check, now).grade, Grade::critical);
    result.measurements.clear();  // other probes: their duration
    EXPECT_EQ(grade_result(result, check, now).why, "latency 30s above 20s");
}

}  // namespace
}  // namespace tierwatch

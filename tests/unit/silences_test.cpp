// Silences: the API's request parsing, the store in state_dir, and the bearer-token check.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <fstream>

#include "daemon/web/admin_api.hpp"
#include "daemon/alarms/silences.hpp"
#include "daemon/clock/rfc3339.hpp"
#include "daemon/storage/durable_file.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kConfig = R"(
[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "10.0.1.10"
[[node]]
name = "ldap1"
role = "ldap"
zone = "zone-b"
address = "10.0.2.20"
[[nlb]]
name = "mail"
fqdn = "mail.example.test"
[[check]]
name = "smtp"
protocol = "smtp"
port = 25
roles = ["mta"]
nlbs = ["mail"]
)";

const TimePoint kNow = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 3h;

// "" when it worked, else the error: one string a test can compare.
std::string outcome(const Expected<>& result) { return result ? "" : result.error(); }

class SilencesTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "tierwatch-silences-XXXXXX");
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    Silence parsed(std::string_view body) {
        auto result = parse_silence_request(body, config_, kNow);
        if (!result) {
            ADD_FAILURE() << result.error();
            return {};
        }
        return std::move(result).value();
    }
    std::string error_of(std::string_view body) {
        const auto result = parse_silence_request(body, config_, kNow);
        return result ? "(accepted)" : result.error();
    }

    Config config_ = parse_config(kConfig, "tierwatch.toml");
    std::filesystem::path dir_;
};

TEST(Rfc3339, ParsesUtcOffsetsAndFractions) {
    EXPECT_EQ(parse_rfc3339("2026-11-23T03:00:00Z"), kNow);
    EXPECT_EQ(parse_rfc3339("2026-11-23T05:00:00+02:00"), kNow);
    EXPECT_EQ(parse_rfc3339("2026-11-22T22:30:00-04:30"), kNow);
    EXPECT_EQ(parse_rfc3339("2026-11-23T03:00:00.250Z"), kNow + 250ms);
    for (const auto* bad : {"2026-11-23", "2026-11-23T03:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                            "2026-11-23T25:00:00Z", "2026-11-23T03:00:00Zjunk", "2026-11-23T03:00:00.Z",
                            "2026-11-23T03:00:00+2:00", "2026-11-23T03:-5:-9Z", "-026-11-23T03:00:00Z",
                            "2026-11-23T03:00:00+-2:00", "2026-11-23T+3:00:00Z", ""}) {
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
    }
}

TEST(Rfc3339, TimesOutsideTheClocksRangeAreRefusedNotWrapped) {
    // The clock holds signed 64-bit nanoseconds: 1677-09-21T00:12:43 to 2262-04-11T23:47:16.
    EXPECT_EQ(parse_rfc3339("2262-04-11T23:47:15Z"),
              TimePoint(std::chrono::seconds(9'223'372'035)));
    EXPECT_EQ(parse_rfc3339("1677-09-21T00:12:45Z"),
              TimePoint(std::chrono::seconds(-9'223'372'035)));
    for (const auto* far : {"2262-04-11T23:47:16Z", "4052-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
                            "1677-09-21T00:12:44Z", "0000-01-01T00:00:00Z"}) {
        EXPECT_FALSE(parse_rfc3339(far)) << far;
    }
}

TEST_F(SilencesTest, ParsesMatchersTimesAndDurations) {
    const auto silence = parsed(R"({"matchers": {"nodes": ["mta1"], "checks": "smtp"},
        "duration": "2h", "author": "alice", "comment": "replacing a disk"})");
    EXPECT_EQ(silence.match.nodes, std::vector<std::string>{"mta1"});
    EXPECT_EQ(silence.match.checks, std::vector<std::string>{"smtp"});
    EXPECT_EQ(silence.start, kNow);
    EXPECT_EQ(silence.end, kNow + 2h);

    const auto later = parsed(R"({"matchers": {"zones": ["zone-b"], "nlbs": ["mail"]},
        "start": "2026-11-23T04:00:00Z", "end": "2026-11-23T06:00:00+01:00",
        "author": "bob", "comment": "LB firmware"})");
    EXPECT_EQ(later.start, kNow + 1h);
    EXPECT_EQ(later.end, kNow + 2h);
    EXPECT_EQ(later.state(kNow), "pending");
}

TEST_F(SilencesTest, RefusesWhatWouldSilenceNothingOrEverything) {
    EXPECT_EQ(error_of("nonsense"), "the body is not JSON: syntax error");
    EXPECT_EQ(error_of("[]"), "the body must be a JSON object");
    EXPECT_EQ(error_of(R"({"matchers": {}, "duration": "1h", "author": "a", "comment": "c"})"),
              "a silence needs at least one matcher (nodes, roles, zones, nlbs, checks)");
    EXPECT_EQ(error_of(R"({"matchers": {"nodes": "mta9"}, "duration": "1h", "author": "a", "comment": "c"})"),
              "\"matchers.nodes\": no node named \"mta9\" (did you mean \"mta1\"?) in the configuration");
    EXPECT_EQ(error_of(R"({"matchers": {"node": "mta1"}, "duration": "1h", "author": "a", "comment": "c"})"),
              "unknown matcher \"node\" (did you mean \"nodes\"?); expected \"nodes\", \"roles\", \"zones\", "
              "\"nlbs\", \"checks\"");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "duratoin": "1h", "author": "a", "comment": "c"})"),
              "unknown field \"duratoin\" (did you mean \"duration\"?); expected \"matchers\", \"start\", \"end\", "
              "\"duration\", \"author\", \"comment\"");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "author": "a", "comment": "c"})"),
              "give exactly one of \"end\" (RFC 3339) and \"duration\" (e.g. \"2h\")");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "end": "2026-11-23T02:00:00Z", "author": "a",
                           "start": "2026-11-23T01:00:00Z", "comment": "c"})"),
              "\"end\" is in the past: the silence would never apply");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "duration": "40d", "author": "a", "comment": "c"})"),
              "a silence lasts at most 31 days; use a [[maintenance]] window for longer");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "duration": "9000000000000000ms", "author": "a",
                           "comment": "c"})"),
              "a silence lasts at most 31 days; use a [[maintenance]] window for longer");
    // Start plus duration past the clock's range, and a span whose nanoseconds overflow.
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "start": "2262-04-11T00:00:00Z", "duration": "2d",
                           "author": "a", "comment": "c"})"),
              "\"start\" plus \"duration\" is past the year 2261, the end of the clock's range");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "start": "1700-01-01T00:00:00Z",
                           "end": "2262-01-01T00:00:00Z", "author": "a", "comment": "c"})"),
              "a silence lasts at most 31 days; use a [[maintenance]] window for longer");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "end": "4052-01-01T00:00:00Z", "author": "a",
                           "comment": "c"})"),
              "\"end\" must be an RFC 3339 time, got \"4052-01-01T00:00:00Z\"");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": "mta"}, "duration": "1h", "comment": "c"})"),
              "\"author\" is required: who silenced this, and why, is what the next shift asks");
    EXPECT_EQ(error_of(R"({"matchers": {"roles": ["mta", 3]}, "duration": "1h", "author": "a", "comment": "c"})"),
              "\"matchers.roles\" must list strings");
}

TEST_F(SilencesTest, StoreSurvivesARestartAndExpires) {
    const auto file = dir_ / "silences.json";
    {
        SilenceStore store(file);
        EXPECT_EQ(outcome(store.load(kNow)), "");
        EXPECT_EQ(outcome(store.add(parsed(R"({"matchers": {"roles": "mta"}, "duration": "1h", "author": "alice",
                                       "comment": "disk \"swap\" <b>"})"),
                            kNow)),
                  "");
        EXPECT_EQ(outcome(store.add(parsed(R"({"matchers": {"nodes": "ldap1"}, "duration": "3h", "author": "bob",
                                       "comment": "reindex"})"),
                            kNow)),
                  "");
    }
    SilenceStore reloaded(file);
    ASSERT_EQ(outcome(reloaded.load(kNow + 10min)), "");
    ASSERT_EQ(reloaded.silences().size(), 2u);
    const Silence& first = reloaded.silences()[0];
    EXPECT_EQ(first.id.size(), 16u);
    EXPECT_NE(first.id, reloaded.silences()[1].id);
    EXPECT_EQ(first.comment, "disk \"swap\" <b>");
    EXPECT_EQ(first.end, kNow + 1h);
    EXPECT_EQ(first.created, kNow);

    const auto windows = reloaded.windows();
    ASSERT_EQ(windows.size(), 2u);
    EXPECT_TRUE(windows[0].active(kNow + 10min));
    EXPECT_FALSE(windows[0].active(kNow + 61min));

    const auto unknown = reloaded.expire("0000000000000000", kNow + 20min);
    ASSERT_TRUE(unknown);
    EXPECT_FALSE(*unknown) << "no silence has that id";
    const auto expired = reloaded.expire(first.id, kNow + 20min);
    ASSERT_TRUE(expired) << expired.error();
    EXPECT_TRUE(*expired);
    EXPECT_EQ(reloaded.silences()[0].state(kNow + 20min), "expired");
    EXPECT_FALSE(reloaded.windows()[0].active(kNow + 21min));

    // Expired silences are listed for a day, then forgotten.
    SilenceStore next_day(file);
    ASSERT_EQ(outcome(next_day.load(kNow + 25h)), "");
    ASSERT_EQ(next_day.silences().size(), 1u);
    EXPECT_EQ(next_day.silences()[0].author, "bob");
}

TEST_F(SilencesTest, CorruptFileIsSetAsideNotFatal) {
    const auto file = dir_ / "silences.json";
    std::ofstream(file) << R"({"silences": [{"id": "x"})";
    SilenceStore store(file);
    const auto error = outcome(store.load(kNow));
    EXPECT_NE(error.find("is not a silence file"), std::string::npos) << error;
    EXPECT_NE(error.find("silences.json.corrupt"), std::string::npos) << error;
    EXPECT_TRUE(store.silences().empty());
    EXPECT_TRUE(std::filesystem::exists(dir_ / "silences.json.corrupt"));
}

// A stored silence (silence_to_json's shape) ending at `end`.
std::string stored_file(std::string_view end) {
    return R"({"version": 1, "silences": [{"id": "00000000000000aa", "matchers": {"nodes": ["mta1"]},
        "start": "2026-11-23T00:00:00Z", "end": ")" +
           std::string(end) + R"(", "author": "a", "comment": "c", "created": "2026-11-23T00:00:00Z"}]})";
}

TEST_F(SilencesTest, EndsAtTheEdgeOfTheClockAreKeptAndBeyondItSetAside) {
    const auto file = dir_ / "silences.json";
    // The day after this end is past the clock's range: forgetting must not wrap it into the past.
    std::ofstream(file) << stored_file("2262-04-11T23:00:00Z");
    SilenceStore edge(file);
    EXPECT_EQ(outcome(edge.load(kNow)), "");
    ASSERT_EQ(edge.silences().size(), 1u);
    EXPECT_EQ(edge.silences()[0].state(kNow), "active");

    std::ofstream(file) << stored_file("2263-01-01T00:00:00Z");
    SilenceStore beyond(file);
    const auto error = outcome(beyond.load(kNow));
    EXPECT_NE(error.find("bad time in \"end\""), std::string::npos) << error;
    EXPECT_TRUE(beyond.silences().empty());
    EXPECT_TRUE(std::filesystem::exists(dir_ / "silences.json.corrupt"));
}

TEST_F(SilencesTest, OversizedFileIsSetAsideUnread) {
    const auto file = dir_ / "silences.json";
    { std::ofstream create(file); }
    std::filesystem::resize_file(file, max_state_file_bytes + 1);  // sparse
    SilenceStore store(file);
    EXPECT_EQ(outcome(store.load(kNow)), file.string() +
                                    " is larger than 67108864 bytes, the most a state file may hold; moved to " +
                                    file.string() + ".corrupt, starting with no silences");
    EXPECT_TRUE(std::filesystem::exists(dir_ / "silences.json.corrupt"));
}

TEST_F(SilencesTest, AStoreHoldsABoundedNumber) {
    SilenceStore store(dir_ / "silences.json", 2);
    const auto body = R"({"matchers": {"roles": "mta"}, "duration": "1h", "author": "a", "comment": "c"})";
    EXPECT_EQ(outcome(store.add(parsed(body), kNow)), "");
    EXPECT_EQ(outcome(store.add(parsed(body), kNow)), "");
    EXPECT_EQ(outcome(store.add(parsed(body), kNow)),
              "there are already 2 silences (at most 2, expired ones included for a day): expire some first");
    EXPECT_EQ(store.silences().size(), 2u);
}

TEST_F(SilencesTest, UnwritableStateDirLeavesTheStoreAsItWas) {
    SilenceStore store(dir_ / "missing" / "silences.json");
    const auto error = outcome(store.add(parsed(R"({"matchers": {"roles": "mta"}, "duration": "1h", "author": "a",
                                            "comment": "c"})"),
                                 kNow));
    EXPECT_NE(error.find("cannot save silences to"), std::string::npos) << error;
    EXPECT_TRUE(store.silences().empty());
}

HttpRequest request_with(std::string_view authorization) {
    HttpRequest request{boost::beast::http::verb::post, "/api/v1/silences", 11};
    if (!authorization.empty()) request.set(boost::beast::http::field::authorization, authorization);
    return request;
}

TEST(Authorize, BearerTokenComparedWhole) {
    const Secret token("s3cret-token");
    EXPECT_EQ(authorize(request_with("Bearer s3cret-token"), token), Authorization::granted);
    EXPECT_EQ(authorize(request_with("bearer s3cret-token"), token), Authorization::granted);
    EXPECT_EQ(authorize(request_with("Bearer s3cret-toke"), token), Authorization::wrong);
    EXPECT_EQ(authorize(request_with("Bearer s3cret-token2"), token), Authorization::wrong);
    EXPECT_EQ(authorize(request_with("Bearer "), token), Authorization::missing);  // header values are trimmed
    EXPECT_EQ(authorize(request_with("Basic czNjcmV0"), token), Authorization::missing);
    EXPECT_EQ(authorize(request_with(""), token), Authorization::missing);
    EXPECT_EQ(authorize(request_with("Bearer anything"), Secret()), Authorization::no_token_configured);
}

}  // namespace
}  // namespace tierwatch

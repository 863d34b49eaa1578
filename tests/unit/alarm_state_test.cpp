// Alarm state across a restart: saved and loaded whole; a restored alarm is held while targets
// are graded again, resolved if it stays clear, and continues without a new trigger if it fires.
#include "daemon/alarms/alarm_state.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "config/config.hpp"
#include "daemon/storage/durable_file.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 3h;

// The alarms, or none with the error in `error`: what the daemon does (it starts without them).
std::vector<Alarm> load_alarms(const std::filesystem::path& file, std::string& error) {
    auto loaded = load_alarm_state(file);
    error = loaded ? "" : loaded.error();
    return loaded ? std::move(loaded).value() : std::vector<Alarm>{};
}

class AlarmStateTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "tierwatch-alarms-XXXXXX");
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        config_ = parse_config(R"(
[[node]]
name = "mta1"
role = "mta"
address = "10.0.0.1"
[[check]]
name = "smtp"
protocol = "smtp"
port = 25
roles = ["mta"]
)", "tierwatch.toml");
        alerting_ = parse_alerting(toml::parse(R"(
[tiers]
settle = "0s"
[tiers.tier2]
receivers = ["hook"]
repeat = "30m"
[[pager]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
)", std::string_view("alerting.toml")), "alerting.toml", config_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static AlarmCondition mta_down() {
        AlarmCondition c;
        c.kind = AlarmKind::target;
        c.key = alarm_key(AlarmKind::target, "smtp|node:mta1");
        c.target = "smtp|node:mta1";
        c.severity = Grade::critical;
        c.cause = GradeCause::failure;
        c.summary = "smtp on mta1: connect_refused";
        c.labels.node = "mta1";
        c.labels.check = "smtp";
        return c;
    }

    std::filesystem::path dir_;
    Config config_;
    AlertingConfig alerting_;
};

TEST_F(AlarmStateTest, SavedAlarmsLoadAsTheyWere) {
    AlarmBook book(alerting_);
    const auto events = book.update({mta_down()}, kStart);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].action, PageAction::trigger);
    const auto file = dir_ / "alarms.json";
    ASSERT_TRUE(save_alarm_state(file, book));

    std::string error;
    const auto loaded = load_alarms(file, error);
    EXPECT_EQ(error, "");
    ASSERT_EQ(loaded.size(), 1u);
    const Alarm& original = book.alarms().begin()->second;
    const Alarm& alarm = loaded[0];
    EXPECT_EQ(alarm.condition.key, original.condition.key);
    EXPECT_EQ(alarm.condition.target, "smtp|node:mta1");
    EXPECT_EQ(alarm.condition.severity, Grade::critical);
    EXPECT_EQ(alarm.condition.summary, original.condition.summary);
    EXPECT_EQ(alarm.condition.labels.node, "mta1");
    EXPECT_EQ(alarm.started, kStart);
    EXPECT_EQ(alarm.critical_since, std::optional(kStart));
    EXPECT_EQ(alarm.tier, 2);
    EXPECT_EQ(alarm.notified, std::vector<std::string>{"hook"});
    EXPECT_EQ(alarm.last_sent[1], std::optional(kStart));
    EXPECT_EQ(alarm.sent_severity, Grade::critical);
}

TEST_F(AlarmStateTest, ClearedWhileDownIsResolvedAfterTheHold) {
    AlarmBook before(alerting_);
    before.update({mta_down()}, kStart);
    ASSERT_TRUE(save_alarm_state(dir_ / "alarms.json", before));

    std::string error;
    AlarmBook after(alerting_);
    after.restore(load_alarms(dir_ / "alarms.json", error), kStart + 10min);
    EXPECT_TRUE(after.update({}, kStart + 9min).empty()) << "held while the targets are graded again";
    EXPECT_EQ(after.alarms().size(), 1u);
    const auto events = after.update({}, kStart + 10min);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].action, PageAction::resolve);
    EXPECT_EQ(events[0].receiver, "hook");
    EXPECT_EQ(events[0].dedup_key, mta_down().key);
    EXPECT_TRUE(after.alarms().empty());
}

TEST_F(AlarmStateTest, StillFiringContinuesWithoutANewPage) {
    AlarmBook before(alerting_);
    before.update({mta_down()}, kStart);
    ASSERT_TRUE(save_alarm_state(dir_ / "alarms.json", before));

    std::string error;
    AlarmBook after(alerting_);
    after.restore(load_alarms(dir_ / "alarms.json", error), kStart + 10min);
    EXPECT_TRUE(after.update({mta_down()}, kStart + 2min).empty()) << "no trigger, no early repeat";
    EXPECT_EQ(after.alarms().begin()->second.started, kStart);
    const auto repeat = after.update({mta_down()}, kStart + 30min);
    ASSERT_EQ(repeat.size(), 1u);
    EXPECT_EQ(repeat[0].action, PageAction::repeat) << "repeats keep the schedule from before the restart";
    // Firing again ended the hold: clearing now resolves at once.
    const auto resolved = after.update({}, kStart + 31min);
    ASSERT_EQ(resolved.size(), 1u);
    EXPECT_EQ(resolved[0].action, PageAction::resolve);
}

TEST_F(AlarmStateTest, RestartWhileFiringResolvesTheIdentityThatWasSent) {
    AlarmBook before(alerting_);
    before.update({mta_down()}, kStart);
    ASSERT_TRUE(save_alarm_state(dir_ / "alarms.json", before));

    std::string error;
    AlarmBook after(alerting_);
    after.restore(load_alarms(dir_ / "alarms.json", error), kStart + 10min);
    ASSERT_EQ(error, "");
    AlarmCondition milder = mta_down();
    milder.severity = Grade::warning;  // Tier I only: no tier routes to the hook any more
    milder.labels.zone = "zone-b";     // and a reload renamed a label meanwhile
    const auto resolved = after.update({milder}, kStart + 11min);
    ASSERT_EQ(resolved.size(), 1u);
    EXPECT_EQ(resolved[0].action, PageAction::resolve);
    EXPECT_EQ(resolved[0].severity, Grade::critical) << "the labels the receiver was told before the restart";
    EXPECT_EQ(resolved[0].tier, 2);
    EXPECT_EQ(resolved[0].labels, mta_down().labels);
    EXPECT_TRUE(after.update({}, kStart + 12min).empty()) << "resolved once";
}

TEST_F(AlarmStateTest, StateFileWithoutSentIdentitiesStillLoads) {
    AlarmBook book(alerting_);
    book.update({mta_down()}, kStart);
    const auto file = dir_ / "alarms.json";
    ASSERT_TRUE(save_alarm_state(file, book));
    std::string text;
    {
        std::ifstream in(file);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const auto at = text.find(",\"told\":{");
    ASSERT_NE(at, std::string::npos) << text;
    // As written before identities were kept: the whole "told" object goes, nested braces too.
    std::size_t end = text.find('{', at);
    for (int depth = 0; end < text.size(); ++end) {
        depth += text[end] == '{' ? 1 : text[end] == '}' ? -1 : 0;
        if (depth == 0) break;
    }
    ASSERT_LT(end, text.size()) << text;
    text.erase(at, end + 1 - at);
    std::ofstream(file, std::ios::trunc) << text;

    std::string error;
    const auto loaded = load_alarms(file, error);
    EXPECT_EQ(error, "");
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_TRUE(loaded[0].told.empty());
    EXPECT_EQ(loaded[0].notified, std::vector<std::string>{"hook"});
}

TEST_F(AlarmStateTest, TimeStampsOutsideTheClocksRangeSetTheFileAside) {
    AlarmBook book(alerting_);
    book.update({mta_down()}, kStart);
    const auto file = dir_ / "alarms.json";
    ASSERT_TRUE(save_alarm_state(file, book));
    std::string text;
    {
        std::ifstream in(file);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::string started = "\"started\":";
    const auto at = text.find(started);
    ASSERT_NE(at, std::string::npos) << text;
    const auto value = at + started.size();
    // Year ~294,000: its nanoseconds do not fit the clock's 64 bits.
    text.replace(value, text.find(',', value) - value, "9223372036854775");
    std::ofstream(file, std::ios::trunc) << text;

    std::string error;
    EXPECT_TRUE(load_alarms(file, error).empty());
    EXPECT_NE(error.find("time stamp 9223372036854775 ms is outside the clock's range"), std::string::npos)
        << error;
    EXPECT_NE(error.find("moved to " + file.string() + ".corrupt"), std::string::npos) << error;
    EXPECT_FALSE(std::filesystem::exists(file));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "alarms.json.corrupt"));
}

TEST_F(AlarmStateTest, OversizedFileIsSetAsideUnread) {
    const auto file = dir_ / "alarms.json";
    { std::ofstream create(file); }
    // Sparse: one byte past the limit costs no disk.
    std::filesystem::resize_file(file, max_state_file_bytes + 1);
    std::string error;
    EXPECT_TRUE(load_alarms(file, error).empty());
    EXPECT_EQ(error, file.string() + " is larger than 67108864 bytes, the most a state file may hold; moved to " +
                         file.string() + ".corrupt, starting without it: alarms that cleared while tierwatchd "
                                         "was down get no resolve");
    EXPECT_TRUE(std::filesystem::exists(dir_ / "alarms.json.corrupt"));
}

TEST_F(AlarmStateTest, ReadFileStopsAtItsLimit) {
    const auto file = dir_ / "ten";
    std::ofstream(file) << "0123456789";
    const auto whole = read_file(file, 10);
    ASSERT_TRUE(whole);
    EXPECT_EQ(*whole, "0123456789");
    const auto refused = read_file(file, 9);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().too_large);
    EXPECT_EQ(refused.error().text, "larger than 9 bytes, the most a state file may hold");
}

TEST_F(AlarmStateTest, UnreadableFileIsReportedNotFatal) {
    std::ofstream(dir_ / "alarms.json") << R"({"version": 1, "alarms": [{"key": 3}]})";
    std::string error;
    EXPECT_TRUE(load_alarms(dir_ / "alarms.json", error).empty());
    EXPECT_NE(error.find("is not an alarm state file"), std::string::npos) << error;
    error.clear();
    EXPECT_TRUE(load_alarms(dir_ / "missing.json", error).empty());
    EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace tierwatch

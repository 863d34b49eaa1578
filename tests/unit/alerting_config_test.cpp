// Unit tests for the alerting configuration: values, every error at its exact file:line:column,
// tz database zones across DST changes and past the last listed transition, coverage windows.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/alerting.hpp"
#include "tests/support/scoped_env.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using namespace std::string_literals;

constexpr std::string_view kBase = R"(
[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "10.0.1.10"
[[node]]
name = "ldap1"
role = "ldap"
zone = "zone-a"
address = "10.0.1.20"
[[node]]
name = "ldap2"
role = "ldap"
zone = "zone-b"
address = "10.0.2.20"

[[nlb]]
name = "mail"
fqdn = "mail.example.com"

[[check]]
name = "smtp"
protocol = "tcp"
port = 25
roles = ["mta"]
nlbs = ["mail"]

[[check]]
name = "ldap"
protocol = "tcp"
port = 389
roles = ["ldap"]
)";

// Lines 1-4; text appended to it starts on line 5.
constexpr std::string_view kPager =
    "[[pager]]\n"
    "name = \"noc\"\n"
    "kind = \"webhook\"\n"
    "url = \"http://127.0.0.1:9/noc\"\n";

class AlertingConfigTest : public ::testing::Test {
protected:
    AlertingConfigTest() : base_(parse_config(kBase, "/etc/tierwatch/tierwatch.toml")) {}

    AlertingConfig parse(std::string_view text) const {
        const auto root = toml::parse(text, std::string_view("/etc/tierwatch/tierwatch.toml"));
        return parse_alerting(root, "/etc/tierwatch/tierwatch.toml", base_);
    }

    // The error for kPager + `rest`, as "line:column: message".
    std::string error(std::string_view rest) const {
        try {
            parse(std::string(kPager) + std::string(rest));
        } catch (const ConfigError& e) {
            EXPECT_EQ(e.where().file, "/etc/tierwatch/tierwatch.toml");
            return std::to_string(e.where().line) + ":" + std::to_string(e.where().column) + ": " +
                   e.message();
        }
        return "no error";
    }

    Config base_;
};

TimePoint utc(year_month_day day, hours h, minutes m = 0min, seconds s = 0s) {
    return sys_days(day) + h + m + s;
}

TEST_F(AlertingConfigTest, ReadsEverySection) {
    const AlertingConfig config = parse(R"(
[[pager]]
name = "pagerduty-oncall"
kind = "pagerduty"
routing_key_file = "pagerduty.key"
retry_initial = "10ms"
retry_max = "3s"
[[pager]]
name = "alertmanager"
kind = "alertmanager"
url = "http://127.0.0.1:9093"
timeout = "10s"
[[pager]]
name = "engineering"
kind = "email"
url = "smtp://relay.example.com:587"
to = ["engineering@example.com"]
username = "tierwatch"
secret_file = "/run/credentials/relay"

[[group]]
name = "mta-pool"
roles = ["mta"]
warning_when_down = 1
critical_when_up_below = 2

[[group]]
name = "ldap-masters"
targets = ["ldap1", "ldap@ldap2"]
critical_when_up_below = 1

[tiers]
settle = "0s"
[tiers.tier1]
receivers = ["alertmanager"]
[tiers.tier2]
receivers = ["pagerduty-oncall", "alertmanager"]
repeat = "30m"
[[tiers.tier2.coverage]]
weekdays = ["mon-fri"]
start = "08:00"
end = 18:00:00
time_zone = "Europe/Berlin"
receivers = ["alertmanager"]
[tiers.tier3]
after = "45m"
receivers = ["engineering"]
classes = ["certificate", "smtp"]

[[maintenance]]
nodes = ["mta1"]
start = 2026-12-01T02:00:00Z
end = 2026-12-01T04:00:00+01:00
reason = "kernel upgrade"

[flapping]
window = "15m"
max_changes = 8
)");
    ASSERT_EQ(config.pagers.size(), 3u);
    EXPECT_EQ(config.pagers[0].kind, PagerKind::pagerduty);
    EXPECT_EQ(config.pagers[0].routing_key_file, "/etc/tierwatch/pagerduty.key");
    EXPECT_EQ(config.pagers[0].retry_max, 3s) << "kind-specific keys kept, typed";
    EXPECT_EQ(config.pagers[0].retry_initial, 10ms);
    EXPECT_EQ(config.pagers[2].email.to, std::vector<std::string>{"engineering@example.com"});
    EXPECT_EQ(config.pagers[2].email.username, "tierwatch");
    EXPECT_TRUE(config.pagers[2].email.starttls);
    EXPECT_EQ(config.pagers[1].timeout, 10s);
    EXPECT_EQ(config.pagers[2].secret_file, "/run/credentials/relay");
    EXPECT_EQ(config.pager("alertmanager"), &config.pagers[1]);

    ASSERT_EQ(config.groups.size(), 2u);
    EXPECT_EQ(config.groups[0].match.roles, std::vector<std::string>{"mta"});
    EXPECT_EQ(config.groups[0].warning_when_down, 1u);
    EXPECT_EQ(config.groups[0].critical_when_up_below, 2u);
    ASSERT_EQ(config.groups[1].targets.size(), 2u);
    EXPECT_EQ(config.groups[1].targets[1].check, "ldap");
    EXPECT_EQ(config.groups[1].targets[1].node, "ldap2");
    EXPECT_FALSE(config.groups[1].warning_when_down);

    EXPECT_EQ(config.settle, 0s);
    EXPECT_EQ(config.tier(1).receivers, std::vector<std::string>{"alertmanager"});
    EXPECT_EQ(config.tier(2).repeat, 30min);
    ASSERT_EQ(config.tier(2).coverage.size(), 1u);
    const CoverageWindow& window = config.tier(2).coverage[0];
    EXPECT_EQ(window.weekdays, 0b0111110);
    EXPECT_EQ(window.start, 8h);
    EXPECT_EQ(window.end, 18h);
    EXPECT_EQ(window.zone->name(), "Europe/Berlin");
    EXPECT_EQ(config.tier(3).after, 45min);
    EXPECT_EQ(config.tier(3).classes, (std::vector<std::string>{"certificate", "smtp"}));

    ASSERT_EQ(config.maintenance.size(), 1u);
    EXPECT_EQ(config.maintenance[0].start, utc(2026y / December / 1, 2h));
    EXPECT_EQ(config.maintenance[0].end, utc(2026y / December / 1, 3h));
    EXPECT_EQ(config.maintenance[0].reason, "kernel upgrade");
    EXPECT_EQ(config.flapping.window, 15min);
    EXPECT_EQ(config.flapping.max_changes, 8u);
}

TEST_F(AlertingConfigTest, CoverageChoosesReceiversByLocalTimeAndFallsBackToTheTierList) {
    const AlertingConfig config = parse(std::string(kPager) + R"(
[[pager]]
name = "office"
kind = "webhook"
url = "http://127.0.0.1:9/office"
[tiers.tier2]
receivers = ["noc"]
[[tiers.tier2.coverage]]
weekdays = ["mon-fri"]
start = "08:00"
end = "18:00"
time_zone = "Europe/Berlin"
receivers = ["office"]
)");
    const TierConfig& tier = config.tier(2);
    // Wednesday 15 July 2026 (CEST, UTC+2); Saturday 18 July is outside the weekdays.
    EXPECT_EQ(tier.receivers_at(utc(2026y / July / 15, 6h))[0], "office");
    EXPECT_EQ(tier.receivers_at(utc(2026y / July / 15, 5h, 59min))[0], "noc");
    EXPECT_EQ(tier.receivers_at(utc(2026y / July / 15, 15h, 59min))[0], "office");
    EXPECT_EQ(tier.receivers_at(utc(2026y / July / 15, 16h))[0], "noc");
    EXPECT_EQ(tier.receivers_at(utc(2026y / July / 18, 10h))[0], "noc");
}

TEST(CoverageWindow, PastMidnightBelongsToTheWeekdayItStartsOn) {
    CoverageWindow window;
    window.weekdays = 1U << Friday.c_encoding();
    window.start = 22h;
    window.end = 6h;
    window.zone = TimeZone::load("UTC");
    EXPECT_TRUE(window.covers(utc(2026y / July / 17, 23h)));        // Friday night
    EXPECT_TRUE(window.covers(utc(2026y / July / 18, 5h, 59min)));  // Saturday early morning
    EXPECT_FALSE(window.covers(utc(2026y / July / 18, 6h)));
    EXPECT_FALSE(window.covers(utc(2026y / July / 18, 23h)));  // Saturday night
    EXPECT_FALSE(window.covers(utc(2026y / July / 17, 5h)));   // Thursday's night
    EXPECT_FALSE(window.covers(utc(2026y / July / 17, 21h, 59min)));
}

TEST_F(AlertingConfigTest, MatchersAndExplicitGroups) {
    const Check& smtp = base_.checks[0];
    const Check& ldap = base_.checks[1];
    const Node& mta1 = base_.nodes[0];
    const Node& ldap2 = base_.nodes[2];
    const Nlb& mail = base_.nlbs[0];

    TargetMatcher roles;
    roles.roles = {"mta"};
    EXPECT_TRUE(roles.matches(smtp, &mta1, nullptr));
    EXPECT_FALSE(roles.matches(smtp, nullptr, &mail)) << "an NLB target has no role";
    TargetMatcher nlbs;
    nlbs.nlbs = {"mail"};
    EXPECT_TRUE(nlbs.matches(smtp, nullptr, &mail));
    EXPECT_FALSE(nlbs.matches(smtp, &mta1, nullptr));
    TargetMatcher both;
    both.zones = {"zone-b"};
    both.checks = {"ldap"};
    EXPECT_TRUE(both.matches(ldap, &ldap2, nullptr));
    EXPECT_FALSE(both.matches(smtp, &mta1, nullptr));

    GroupConfig group;
    group.targets = {{"", "mta1"}, {"ldap", "ldap2"}};
    EXPECT_TRUE(group.contains(smtp, &mta1, nullptr));
    EXPECT_TRUE(group.contains(ldap, &ldap2, nullptr));
    EXPECT_FALSE(group.contains(ldap, &base_.nodes[1], nullptr));
}

// Pager secrets go through the same resolver as password_file: paths, or systemd credentials.
// A reload keeps the running pagers when their settings are the same, wherever they are written.
TEST_F(AlertingConfigTest, PagerSettingsCompareByValueNotPosition) {
    const AlertingConfig first = parse(std::string(kPager) + "timeout = \"5s\"\n");
    const AlertingConfig moved = parse("\n\n" + std::string(kPager) + "timeout = \"5s\"\n");
    const AlertingConfig longer = parse(std::string(kPager) + "timeout = \"6s\"\n");
    ASSERT_EQ(first.pagers.size(), 1u);
    EXPECT_NE(first.pagers[0].where.line, moved.pagers[0].where.line);
    EXPECT_TRUE(first.pagers[0].same_settings(moved.pagers[0]));
    EXPECT_FALSE(first.pagers[0].same_settings(longer.pagers[0]));
}

TEST_F(AlertingConfigTest, PagerSecretsFromSystemdCredentials) {
    const std::string pagers = "[[pager]]\n"
                               "name = \"oncall\"\n"
                               "kind = \"pagerduty\"\n"
                               "routing_key_file = \"credential:pagerduty-key\"\n"
                               "[[pager]]\n"
                               "name = \"hook\"\n"
                               "kind = \"webhook\"\n"
                               "url = \"https://hooks.example.com/x\"\n"
                               "secret_file = \"credential:hook\"\n";
    {
        const test::ScopedEnv env("CREDENTIALS_DIRECTORY", "/run/credentials/tierwatchd.service");
        const AlertingConfig config = parse(pagers);
        ASSERT_EQ(config.pagers.size(), 2u);
        EXPECT_EQ(config.pagers[0].routing_key_file, "/run/credentials/tierwatchd.service/pagerduty-key");
        EXPECT_EQ(config.pagers[1].secret_file, "/run/credentials/tierwatchd.service/hook");
        EXPECT_EQ(error("secret_file = \"credential:../hook\"\n"),
                  "5:15: secret_file \"credential:../hook\": a credential name is one file name, as in "
                  "LoadCredential=NAME:/path");
    }
    const test::ScopedEnv env("CREDENTIALS_DIRECTORY", std::nullopt);
    EXPECT_EQ(error("secret_file = \"credential:hook\"\n"),
              "5:15: secret_file \"credential:hook\" needs $CREDENTIALS_DIRECTORY, which systemd sets for a "
              "unit with LoadCredential=hook:/path; it is not set here");
}

TEST_F(AlertingConfigTest, ErrorsNameTheExactLineAndColumn) {
    EXPECT_EQ(error("[tiers.tier2]\n"
                    "receivers = [\"noc\", \"pagerduty\"]\n"),
              "6:21: no [[pager]] named \"pagerduty\"");
    EXPECT_EQ(error("[[group]]\n"
                    "name = \"mail-pool\"\n"
                    "roles = [\"mta\", \"mailbox\"]\n"
                    "warning_when_down = 1\n"),
              "7:17: no node with role named \"mailbox\"");
    EXPECT_EQ(error("[[group]]\n"
                    "name = \"ldap-masters\"\n"
                    "targets = [\"ldap@mta1\"]\n"
                    "critical_when_up_below = 1\n"),
              "7:12: check \"ldap\" does not probe \"mta1\"");
    EXPECT_EQ(error("[[group]]\n"
                    "name = \"mta-b\"\n"
                    "roles = [\"mta\"]\n"
                    "zones = [\"zone-b\"]\n"
                    "warning_when_down = 1\n"),
              "5:1: group \"mta-b\" matches no target: no check probes what it names");
    EXPECT_EQ(error("[[group]]\n"
                    "name = \"mta-pool\"\n"
                    "roles = [\"mta\"]\n"),
              "5:1: a group needs \"warning_when_down\" or \"critical_when_up_below\"");
    EXPECT_EQ(error("[[group]]\n"
                    "name = \"mta-pool\"\n"
                    "roles = [\"mta\"]\n"
                    "critical_when_up_below = 0\n"),
              "8:26: expected an integer from 1 for \"critical_when_up_below\"");
    EXPECT_EQ(error("[[group]]\n"
                    "name = \"mta-pool\"\n"
                    "role = [\"mta\"]\n"),
              "7:1: unknown key \"role\" in [[group]] (did you mean \"roles\"?); expected one of "
              "\"name\", \"roles\", \"zones\", "
              "\"nlbs\", \"checks\", \"nodes\", \"targets\", \"warning_when_down\", "
              "\"critical_when_up_below\"");
    EXPECT_EQ(error("[tiers.tier2]\n"
                    "receivers = [\"noc\"]\n"
                    "[[tiers.tier2.coverage]]\n"
                    "start = \"08:00\"\n"
                    "end = \"20:00\"\n"
                    "time_zone = \"Europe/Berlinn\"\n"
                    "receivers = [\"noc\"]\n"),
              "10:13: time zone \"Europe/Berlinn\": no such time zone in /usr/share/zoneinfo");
    EXPECT_EQ(error("[[tiers.tier2.coverage]]\n"
                    "weekdays = [\"mon\", \"fir\"]\n"
                    "time_zone = \"UTC\"\n"
                    "receivers = [\"noc\"]\n"),
              "6:20: expected a weekday (\"sun\", \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", "
              "\"sat\") or a "
              "range like \"mon-fri\", got \"fir\"");
    EXPECT_EQ(error("[[tiers.tier1.coverage]]\n"
                    "start = \"8:00\"\n"
                    "time_zone = \"UTC\"\n"
                    "receivers = [\"noc\"]\n"),
              "6:9: expected a time of day like \"08:00\" for \"start\"");
    EXPECT_EQ(error("[tiers.tier1]\n"
                    "receivers = [\"noc\"]\n"
                    "after = \"45m\"\n"),
              "7:1: unknown key \"after\" in [tiers.tier1]; expected one of \"receivers\", "
              "\"repeat\", \"coverage\"");
    EXPECT_EQ(error("[tiers.tier2]\n"
                    "repeat = \"30 minutes\"\n"),
              "6:10: expected a positive duration like \"30m\" for \"repeat\"");
    EXPECT_EQ(error("[tiers.tier3]\n"
                    "classes = [\"certificates\"]\n"),
              "6:12: expected an alarm class (\"target\", \"group\", \"zone_down\", \"nlb_down\", "
              "\"flapping\", "
              "\"failure\", \"latency\", \"certificate\") or a check name, got \"certificates\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"noc\"\n"
                    "kind = \"webhook\"\n"
                    "url = \"http://127.0.0.1:9/other\"\n"),
              "6:8: a pager named \"noc\" is already defined");
    EXPECT_EQ(
        error("[[pager]]\n"
              "name = \"pd\"\n"
              "kind = \"pagerdutty\"\n"),
        "7:8: expected \"alertmanager\", \"pagerduty\", \"webhook\", \"email\" for \"kind\", got "
        "\"pagerdutty\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"am\"\n"
                    "kind = \"alertmanager\"\n"
                    "url = \"127.0.0.1:9093\"\n"),
              "8:7: kind \"alertmanager\" needs \"url\" = \"http(s)://...\"");
    EXPECT_EQ(error("[[maintenance]]\n"
                    "nodes = [\"mta1\"]\n"
                    "start = 2026-12-01T02:00:00\n"
                    "end = 2026-12-01T04:00:00Z\n"),
              "7:9: \"start\" needs a UTC offset (Z or +01:00): a local date-time is ambiguous");
    EXPECT_EQ(error("[[maintenance]]\n"
                    "nodes = [\"mta1\"]\n"
                    "start = 2026-12-01T02:00:00Z\n"
                    "end = 2026-12-01T02:00:00Z\n"),
              "8:7: \"end\" must be after \"start\"");
    // A typo of 2052: its nanoseconds since 1970 do not fit the clock's 64 bits.
    EXPECT_EQ(error("[[maintenance]]\n"
                    "nodes = [\"mta1\"]\n"
                    "start = 2026-12-01T02:00:00Z\n"
                    "end = 4052-12-01T02:00:00Z\n"),
              "8:7: \"end\" is outside the years the clock can hold (1678 to 2261)");
    EXPECT_EQ(error("[[maintenance]]\n"
                    "nodes = [\"mta1\"]\n"
                    "start = 1066-10-14T09:00:00Z\n"
                    "end = 2026-12-01T02:00:00Z\n"),
              "7:9: \"start\" is outside the years the clock can hold (1678 to 2261)");
    EXPECT_EQ(error("[[maintenance]]\n"
                    "start = 2026-12-01T02:00:00Z\n"
                    "end = 2026-12-01T04:00:00Z\n"),
              "5:1: a maintenance window needs at least one of nodes, roles, zones, nlbs, checks");
    EXPECT_EQ(error("[flapping]\n"
                    "max_changes = 1\n"),
              "6:15: expected an integer from 2 for \"max_changes\"");
}

// ---------------------------------------------------------------------------------------------
// Time zones

TEST(TimeZone, BerlinAcrossBothDaylightSavingChanges) {
    const auto berlin = TimeZone::load("Europe/Berlin");
    // 2026: forward at 01:00 UTC on 29 March, back at 01:00 UTC on 25 October.
    EXPECT_EQ(berlin->offset_at(utc(2026y / March / 29, 0h, 59min, 59s)), 1h);
    EXPECT_EQ(berlin->offset_at(utc(2026y / March / 29, 1h)), 2h);
    EXPECT_EQ(berlin->offset_at(utc(2026y / October / 25, 0h, 59min, 59s)), 2h);
    EXPECT_EQ(berlin->offset_at(utc(2026y / October / 25, 1h)), 1h);
}

TEST(TimeZone, PastTheListedTransitionsTheFooterRuleApplies) {
    // TZif files list transitions up to 2037 at most; later years come from the POSIX rule.
    const auto berlin = TimeZone::load("Europe/Berlin");
    const sys_days spring = sys_days(2100y / March / Sunday[last]);
    const sys_days autumn = sys_days(2100y / October / Sunday[last]);
    EXPECT_EQ(berlin->offset_at(spring + 1h - 1s), 1h);
    EXPECT_EQ(berlin->offset_at(spring + 1h), 2h);
    EXPECT_EQ(berlin->offset_at(autumn + 1h - 1s), 2h);
    EXPECT_EQ(berlin->offset_at(autumn + 1h), 1h);

    // The southern hemisphere's summer spans the new year.
    const auto sydney = TimeZone::load("Australia/Sydney");
    EXPECT_EQ(sydney->offset_at(utc(2100y / January / 15, 0h)), 11h);
    EXPECT_EQ(sydney->offset_at(utc(2100y / July / 15, 0h)), 10h);

    const auto new_york = TimeZone::load("America/New_York");
    EXPECT_EQ(new_york->offset_at(utc(2026y / March / 8, 6h, 59min, 59s)), -5h);
    EXPECT_EQ(new_york->offset_at(utc(2026y / March / 8, 7h)), -4h);
    EXPECT_EQ(TimeZone::load("UTC")->offset_at(utc(2100y / July / 15, 0h)), 0s);
}

TEST(TimeZone, PosixRules) {
    const auto us = TimeZone::parse_rule("EST5EDT,M3.2.0,M11.1.0");
    ASSERT_TRUE(us);
    EXPECT_EQ(us->std_offset, -5h);
    EXPECT_EQ(us->dst_offset, -4h);
    EXPECT_EQ(us->dst_start.month, 3);
    EXPECT_EQ(us->dst_start.week, 2);
    EXPECT_EQ(us->dst_start.time, 2h);

    const auto tehran = TimeZone::parse_rule("<+0330>-3:30");
    ASSERT_TRUE(tehran);
    EXPECT_EQ(tehran->std_offset, 3h + 30min);
    EXPECT_FALSE(tehran->dst_offset);

    const auto late = TimeZone::parse_rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    ASSERT_TRUE(late);
    EXPECT_EQ(late->dst_start.time, -1h);

    EXPECT_FALSE(TimeZone::parse_rule("CET-1CEST"));
    EXPECT_FALSE(TimeZone::parse_rule("X"));
    EXPECT_FALSE(TimeZone::parse_rule("CET-1CEST,M13.5.0,M10.5.0/3"));
}

TEST_F(AlertingConfigTest, PagerKeysBelongToTheirKindAndTyposAreNamed) {
    // A key of another kind would be ignored silently: it is refused naming the kind it is for.
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"hook\"\n"
                    "kind = \"webhook\"\n"
                    "url = \"http://127.0.0.1:9/hook\"\n"
                    "routing_key_file = \"pd.key\"\n"),
              "9:1: \"routing_key_file\" is only for kind \"pagerduty\", not \"webhook\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"pd\"\n"
                    "kind = \"pagerduty\"\n"
                    "routing_key_file = \"pd.key\"\n"
                    "secret_file = \"hmac.key\"\n"),
              "9:1: \"secret_file\" is only for kind \"webhook\", \"email\", not \"pagerduty\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"am\"\n"
                    "kind = \"alertmanager\"\n"
                    "url = \"http://127.0.0.1:9093\"\n"
                    "from = \"tierwatch@example.com\"\n"),
              "9:1: \"from\" is only for kind \"email\", not \"alertmanager\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"pd\"\n"
                    "kind = \"pagerduty\"\n"
                    "routing_key_flie = \"pd.key\"\n"),
              "8:1: unknown key \"routing_key_flie\" in [[pager]] of kind \"pagerduty\" (did you "
              "mean \"routing_key_file\"?); expected one of \"name\", \"kind\", \"url\", "
              "\"timeout\", \"ca_file\", \"tls_verify\", \"retry_initial\", \"retry_max\", "
              "\"routing_key_file\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"mail\"\n"
                    "kind = \"email\"\n"
                    "url = \"smtp://127.0.0.1:587\"\n"
                    "to = [\"oncall@example.com\"]\n"
                    "start_tls = false\n"),
              "10:1: unknown key \"start_tls\" in [[pager]] of kind \"email\" (did you mean "
              "\"starttls\"?); expected one of \"name\", \"kind\", \"url\", \"timeout\", "
              "\"ca_file\", \"tls_verify\", \"retry_initial\", \"retry_max\", \"from\", "
              "\"to\", \"starttls\", \"helo_name\", \"username\", \"secret_file\"");
}

TEST_F(AlertingConfigTest, PagerRequiredKeysAndValuesAreCheckedAtLoad) {
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"hook\"\n"
                    "kind = \"webhook\"\n"),
              "5:1: kind \"webhook\" needs \"url\" = \"http(s)://...\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"pd\"\n"
                    "kind = \"pagerduty\"\n"),
              "5:1: kind \"pagerduty\" needs \"routing_key_file\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"mail\"\n"
                    "kind = \"email\"\n"
                    "url = \"http://relay:587\"\n"
                    "to = [\"oncall@example.com\"]\n"),
              "8:7: kind \"email\" needs \"url\" = \"smtp://relay:587\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"mail\"\n"
                    "kind = \"email\"\n"
                    "url = \"smtp://relay:587\"\n"),
              "5:1: kind \"email\" needs \"to\" = [\"oncall@example.com\"]");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"mail\"\n"
                    "kind = \"email\"\n"
                    "url = \"smtp://relay:587\"\n"
                    "to = [\"\"]\n"),
              "9:7: expected a non-empty string in \"to\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"mail\"\n"
                    "kind = \"email\"\n"
                    "url = \"smtp://relay:587\"\n"
                    "to = [\"oncall@example.com\"]\n"
                    "username = \"tierwatch\"\n"),
              "10:12: \"username\" needs \"secret_file\" holding the SMTP password");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"mail\"\n"
                    "kind = \"email\"\n"
                    "url = \"smtp://relay:587\"\n"
                    "to = [\"oncall@example.com\"]\n"
                    "starttls = \"yes\"\n"),
              "10:12: expected true or false for \"starttls\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"hook\"\n"
                    "kind = \"webhook\"\n"
                    "url = \"http://127.0.0.1:9/hook\"\n"
                    "retry_initial = \"2s\"\n"
                    "retry_max = \"1s\"\n"),
              "10:13: \"retry_max\" must not be below \"retry_initial\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"am\"\n"
                    "kind = \"alertmanager\"\n"
                    "url = \"http://127.0.0.1:9093\"\n"
                    "repost = \"soon\"\n"),
              "9:10: expected a positive duration like \"30m\" for \"repost\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"hook\"\n"
                    "kind = \"webhook\"\n"
                    "url = \"http://127.0.0.1:9/hook\"\n"
                    "tls_verify = \"no\"\n"),
              "9:14: expected true or false for \"tls_verify\"");
}

TEST_F(AlertingConfigTest, PagerCaFileIsResolvedAgainstTheConfigFolderAndCheckedReadable) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("tierwatch-pager-ca-" + std::to_string(::getpid()));
    fs::create_directories(dir / "pki");
    std::ofstream(dir / "pki" / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
    const fs::path file = dir / "tierwatch.toml";
    const auto load = [&](std::string_view text) {
        return parse_alerting(toml::parse(text, std::string_view(file.string())), file, base_);
    };
    const std::string hook = "[[pager]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/x\"\n";

    const AlertingConfig relative = load(hook + "ca_file = \"pki/ca.pem\"\n");
    EXPECT_EQ(relative.pagers[0].ca_file, dir / "pki" / "ca.pem");
    EXPECT_TRUE(relative.pagers[0].tls_verify);

    // A missing CA file fails the load at its value, naming the resolved path and the reason.
    try {
        load(hook + "ca_file = \"pki/missing.pem\"\n");
        ADD_FAILURE() << "a missing ca_file loaded";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.where().line, 5u);
        EXPECT_EQ(e.where().column, 11u);
        EXPECT_EQ(e.message(), "cannot read ca_file \"" + (dir / "pki" / "missing.pem").string() +
                                   "\": No such file or directory");
    }
    // Not verifying, or not speaking TLS at all, the file is never opened: no check.
    EXPECT_NO_THROW(load(hook + "ca_file = \"pki/missing.pem\"\ntls_verify = false\n"));
    EXPECT_NO_THROW(load("[[pager]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n"
                         "ca_file = \"pki/missing.pem\"\n"));
    // An e-mail relay upgraded with STARTTLS verifies too.
    EXPECT_THROW(load("[[pager]]\nname = \"mail\"\nkind = \"email\"\nurl = \"smtp://relay:587\"\n"
                      "to = [\"oncall@example.com\"]\nca_file = \"pki/missing.pem\"\n"),
                 ConfigError);
    fs::remove_all(dir);
}

TEST_F(AlertingConfigTest, PagerCaFileMustBeAPath) {
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"hook\"\n"
                    "kind = \"webhook\"\n"
                    "url = \"https://127.0.0.1:9/hook\"\n"
                    "ca_file = 7\n"),
              "9:11: expected a file path for \"ca_file\"");
    EXPECT_EQ(error("[[pager]]\n"
                    "name = \"hook\"\n"
                    "kind = \"webhook\"\n"
                    "url = \"https://127.0.0.1:9/hook\"\n"
                    "ca_file = \"\"\n"),
              "9:11: \"ca_file\" must not be empty");
}

TEST(TimeZone, RefusesWhatIsNotAZoneName) {
    EXPECT_THROW(TimeZone::load("../../etc/passwd"), std::runtime_error);
    EXPECT_THROW(TimeZone::load("/etc/localtime"), std::runtime_error);
    EXPECT_THROW(TimeZone::load("Nowhere/City"), std::runtime_error);
    EXPECT_THROW(TimeZone::from_tzif("bad", "TZif2 but far too short"), std::runtime_error);
}

// A version 1 header (44 bytes) whose counts promise `data` more bytes than follow it.
std::string tzif_v1(std::uint32_t timecnt, std::uint32_t typecnt, std::string_view data) {
    std::string bytes = "TZif";
    bytes.append(16, '\0');
    for (const std::uint32_t count : {0u, 0u, 0u, timecnt, typecnt, 0u}) {
        for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(count >> shift);
    }
    return bytes.append(data);
}

TEST(TimeZone, TruncatedOrCorruptFilesAreErrorsNotOverReads) {
    // One transition and one type need 4 + 1 + 6 bytes; each cut of them must be refused
    // (under ASan, reading on was a heap over-read).
    const std::string whole = "\x00\x00\x00\x10\x00\x00\x00\x0e\x10\x00\x00\x00"s;
    const auto fine = TimeZone::from_tzif("ok", tzif_v1(1, 1, whole.substr(0, 11)));
    EXPECT_EQ(fine->offset_at(TimePoint(seconds(17))), 1h);
    for (std::size_t cut = 0; cut < 11; ++cut) {
        EXPECT_THROW(TimeZone::from_tzif("cut", tzif_v1(1, 1, whole.substr(0, cut))),
                     std::runtime_error)
            << cut;
    }
    // A UTC offset of 68 years (0x7fffffff s) is no offset RFC 8536 allows.
    std::string wild = whole.substr(0, 11);
    wild.replace(5, 4, "\x7f\xff\xff\xff");
    EXPECT_THROW(TimeZone::from_tzif("wild", tzif_v1(1, 1, wild)), std::runtime_error);
    // Counts near 2^32 must not wrap the size check.
    EXPECT_THROW(TimeZone::from_tzif("huge", tzif_v1(0xffffffffu, 1, whole)), std::runtime_error);
    // A version 2 file whose second header is missing.
    std::string v2 = tzif_v1(1, 1, whole.substr(0, 11));
    v2[4] = '2';
    EXPECT_THROW(TimeZone::from_tzif("v2", v2), std::runtime_error);
}

TEST(TimeZone, ACorruptZoneFileIsNamedInTheError) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("tierwatch-tz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "Bad");
    {
        std::ofstream out(dir / "Bad" / "Zone", std::ios::binary);
        out << tzif_v1(1, 1, "\x00\x00"s);
    }
    const test::ScopedEnv tzdir("TZDIR", dir.string());
    try {
        TimeZone::load("Bad/Zone");
        ADD_FAILURE() << "a truncated zone file loaded";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), (dir / "Bad" / "Zone").string() + ": corrupt TZif header");
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tierwatch

// Unit tests for grading over time, roll-ups, dependencies and paging decisions: a simulated
// fleet probed on an injected clock, asserting on the page events a pager would deliver.
#include "daemon/alarms/alarms.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/alarms/rollup.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// Two zones, each with an MTA, an LDAP master and a mailbox server; one NLB with two addresses.
constexpr std::string_view kFleet = R"(
[defaults]
interval = "15s"
rise = 2
fall = 2

[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "10.0.1.10"
[[node]]
name = "mta2"
role = "mta"
zone = "zone-b"
address = "10.0.2.10"
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
[[node]]
name = "mailbox1"
role = "mailbox"
zone = "zone-a"
address = "10.0.1.30"
[[node]]
name = "mailbox2"
role = "mailbox"
zone = "zone-b"
address = "10.0.2.30"

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

[[check]]
name = "https"
protocol = "tcp"
port = 443
roles = ["mailbox"]
nlbs = ["mail"]
rise = 1
fall = 1
)";

constexpr std::string_view kPagers = R"(
[[pager]]
name = "noc"
kind = "webhook"
url = "http://127.0.0.1:9/noc"
[[pager]]
name = "pagerduty"
kind = "pagerduty"
routing_key_file = "pagerduty.key"
[[pager]]
name = "engineering"
kind = "webhook"
url = "http://127.0.0.1:9/engineering"
[[pager]]
name = "day"
kind = "webhook"
url = "http://127.0.0.1:9/day"
[[pager]]
name = "night"
kind = "webhook"
url = "http://127.0.0.1:9/night"

[[group]]
name = "mta-pool"
roles = ["mta"]
warning_when_down = 1
critical_when_up_below = 1

[[group]]
name = "ldap-masters"
targets = ["ldap1", "ldap2"]
critical_when_up_below = 1

[flapping]
window = "10m"
max_changes = 5
)";

constexpr std::string_view kTiers = R"(
[tiers]
settle = "30s"
[tiers.tier1]
receivers = ["noc"]
[tiers.tier2]
receivers = ["pagerduty"]
repeat = "30m"
[tiers.tier3]
after = "45m"
receivers = ["engineering"]
)";

// Day and night receivers for Tier II by Berlin local time; 20:00-08:00 runs past midnight.
constexpr std::string_view kCoverageTiers = R"(
[tiers]
settle = "30s"
[tiers.tier1]
receivers = ["noc"]
[tiers.tier2]
receivers = ["pagerduty"]
repeat = "30m"
[[tiers.tier2.coverage]]
weekdays = ["mon-sun"]
start = "08:00"
end = "20:00"
time_zone = "Europe/Berlin"
receivers = ["day"]
[[tiers.tier2.coverage]]
start = "20:00"
end = "08:00"
time_zone = "Europe/Berlin"
receivers = ["night"]
[tiers.tier3]
after = "45m"
receivers = ["engineering"]
)";

constexpr std::string_view kNlbA = "203.0.113.1";
constexpr std::string_view kNlbB = "203.0.113.2";

TimePoint utc(year_month_day day, hours h, minutes m = 0min) {
    return sys_days(day) + h + m;
}

// A Wednesday in summer: Berlin is UTC+2.
const TimePoint kNoon = utc(2026y / July / 15, 12h);

ProbeResult success() {
    ProbeResult result;
    result.total = 20ms;
    return result;
}

ProbeResult failure() {
    ProbeResult result;
    result.reason = FailureReason::connect_refused;
    result.detail = "connection refused";
    return result;
}

// The fleet under an injected clock: every target is probed once per 15s interval, spread
// evenly over it, and the roll-up and alarm book are evaluated after every probe, as the
// daemon would. `failing` decides each probe's outcome.
class Fleet {
public:
    explicit Fleet(std::string_view alerting_toml, TimePoint start = kNoon) : now_(start) {
        load(kFleet, alerting_toml);
        rollup_ = std::make_unique<Rollup>(loaded_.back()->alerting);
        rollup_->set_targets(targets_);
        book_ = std::make_unique<AlarmBook>(loaded_.back()->alerting);
    }

    // A reload as the engine does it: the alarms and per-target state stay, the next update
    // applies the new configuration. The previous one stays alive, as the engine keeps it.
    void reload(std::string_view fleet_toml, std::string_view alerting_toml) {
        load(fleet_toml, alerting_toml);
        rollup_->reconfigure(loaded_.back()->alerting);
        rollup_->set_targets(targets_);
        book_->reconfigure(loaded_.back()->alerting);
    }

    std::function<bool(const RollupTarget&)> failing = [](const RollupTarget&) { return false; };

    // Runs the fleet for `span` of simulated time.
    void run(Duration span) {
        const TimePoint end = now_ + span;
        const Duration step = Duration(15000) / static_cast<std::int64_t>(targets_.size());
        while (now_ < end) {
            const RollupTarget& target = targets_[next_];
            next_ = (next_ + 1) % targets_.size();
            rollup_->observe(target.id, failing(target) ? failure() : success(), now_);
            for (PageEvent& event : book_->update(rollup_->evaluate(now_), now_)) {
                events_.push_back(std::move(event));
            }
            now_ += step;
        }
    }

    std::vector<PageEvent> events_to(std::string_view receiver) const {
        std::vector<PageEvent> out;
        std::copy_if(events_.begin(), events_.end(), std::back_inserter(out),
                     [&](const PageEvent& e) { return e.receiver == receiver; });
        return out;
    }

    std::size_t count(std::string_view receiver, PageAction action) const {
        return static_cast<std::size_t>(std::count_if(
            events_.begin(), events_.end(),
            [&](const PageEvent& e) { return e.receiver == receiver && e.action == action; }));
    }

    std::set<std::string> receivers_of(PageAction action) const {
        std::set<std::string> out;
        for (const PageEvent& e : events_) {
            if (e.action == action) {
                out.insert(e.receiver);
            }
        }
        return out;
    }

    void silence(MaintenanceWindow silence) { rollup_->set_silences({std::move(silence)}); }
    const Alarm* alarm(std::string_view key) const { return book_->find(key); }
    std::uint64_t escalations() const { return book_->escalations(); }
    const std::vector<PageEvent>& events() const { return events_; }
    void clear_events() { events_.clear(); }
    TimePoint now() const { return now_; }
    const Rollup& rollup() const { return *rollup_; }

private:
    struct Loaded {
        Config config;
        AlertingConfig alerting;
    };

    void load(std::string_view fleet_toml, std::string_view alerting_toml) {
        auto next = std::make_unique<Loaded>();
        next->config = parse_config(fleet_toml, "fleet.toml");
        const std::string text = std::string(kPagers) + std::string(alerting_toml);
        next->alerting = parse_alerting(toml::parse(text, std::string_view("alerting.toml")),
                                        "alerting.toml", next->config);
        const Config& config = next->config;
        targets_.clear();
        for (const Check& check : config.checks) {
            for (const Node& node : config.nodes) {
                if (std::find(check.roles.begin(), check.roles.end(), node.role) !=
                    check.roles.end()) {
                    add(check, &node, nullptr, node.address, check.name + "|node:" + node.name);
                }
            }
            if (!check.nlbs.empty()) {
                for (std::string_view address : {kNlbA, kNlbB}) {
                    add(check, nullptr, &config.nlbs.front(), std::string(address),
                        check.name + "|nlb:mail|" + std::string(address));
                }
            }
        }
        loaded_.push_back(std::move(next));
    }

    void add(const Check& check, const Node* node, const Nlb* nlb, std::string address,
             std::string identity) {
        const auto id = static_cast<std::uint32_t>(targets_.size());
        targets_.push_back(RollupTarget{id, &check, node, nlb, address, identity,
                                        address + ":" + std::to_string(check.port)});
    }

    std::vector<std::unique_ptr<Loaded>> loaded_;
    std::vector<RollupTarget> targets_;
    std::unique_ptr<Rollup> rollup_;
    std::unique_ptr<AlarmBook> book_;
    std::vector<PageEvent> events_;
    std::size_t next_ = 0;
    TimePoint now_;
};

auto node_is(std::initializer_list<std::string_view> names) {
    std::vector<std::string> wanted(names.begin(), names.end());
    return [wanted](const RollupTarget& t) {
        return t.node && std::find(wanted.begin(), wanted.end(), t.node->name) != wanted.end();
    };
}

auto in_zone(std::string zone) {
    return [zone](const RollupTarget& t) { return t.node && t.node->zone == zone; };
}

const std::string kMtaPool = "tierwatch/group/mta-pool";
const std::string kMailbox1 = "tierwatch/target/https|node:mailbox1";

// ---------------------------------------------------------------------------------------------
// One target over time

TEST(TargetGrader, FallFailuresBeforeDownAndRiseSuccessesBeforeUp) {
    TargetGrader grader(FlappingConfig{});
    const Graded bad{Grade::critical, GradeCause::failure, "connect_refused"};
    const Graded good{};
    auto feed = [&](const Graded& g) {
        return grader.observe(g, 2, 3, 10min, kNoon);
    };
    EXPECT_EQ(feed(bad), Transition::pending);
    EXPECT_EQ(feed(bad), Transition::pending);
    EXPECT_EQ(grader.grade(), Grade::ok);
    EXPECT_EQ(feed(bad), Transition::changed);
    EXPECT_TRUE(grader.down());
    EXPECT_EQ(grader.why(), "connect_refused");
    EXPECT_EQ(feed(good), Transition::pending);
    EXPECT_EQ(feed(bad), Transition::unchanged);  // the run of successes starts over
    EXPECT_EQ(feed(good), Transition::pending);
    EXPECT_EQ(feed(good), Transition::changed);
    EXPECT_EQ(grader.grade(), Grade::ok);
    EXPECT_EQ(grader.transitions(), 2u);
}

TEST(TargetGrader, MixedWorseRunSettlesOnItsMildestGrade) {
    TargetGrader grader(FlappingConfig{});
    grader.observe({Grade::critical, GradeCause::failure, "timeout"}, 1, 2, 10min, kNoon);
    EXPECT_EQ(grader.observe({Grade::warning, GradeCause::latency, "latency 900ms above 500ms"}, 1,
                             2, 10min, kNoon),
              Transition::changed);
    EXPECT_EQ(grader.grade(), Grade::warning);
    EXPECT_EQ(grader.cause(), GradeCause::latency);
}

TEST(TargetGrader, FlappingNeedsMaxChangesInsideTheWindowAndClearsAfterAQuietWindow) {
    // Alternating critical / ok with rise = fall = 1: every result is a change.
    auto alternate = [](TargetGrader& grader, TimePoint from, Duration every, int changes) {
        for (int i = 0; i < changes; ++i) {
            const Graded g =
                i % 2 == 0 ? Graded{Grade::critical, GradeCause::failure, "timeout"} : Graded{};
            grader.observe(g, 1, 1, 10min, from + every * i);
        }
    };
    TargetGrader slow(FlappingConfig{10min, 4});
    alternate(slow, kNoon, 4min, 8);  // never four changes inside ten minutes
    EXPECT_EQ(slow.transitions(), 8u);
    EXPECT_FALSE(slow.flapping(kNoon + 28min));

    TargetGrader fast(FlappingConfig{10min, 4});
    alternate(fast, kNoon, 1min, 3);
    EXPECT_FALSE(fast.flapping(kNoon + 2min));
    alternate(fast, kNoon + 3min, 1min, 1);  // ok → critical was the third; this one is no change
    EXPECT_FALSE(fast.flapping(kNoon + 3min));
    fast.observe({}, 1, 1, 10min, kNoon + 4min);  // the fourth change
    EXPECT_TRUE(fast.flapping(kNoon + 4min));
    EXPECT_EQ(fast.flap_worst(), Grade::critical);
    EXPECT_TRUE(fast.flapping(kNoon + 13min));
    EXPECT_FALSE(fast.flapping(kNoon + 14min)) << "a whole window without a change ends it";
}

// ---------------------------------------------------------------------------------------------
// Groups, dependencies and tiers

TEST(Alarms, OneMtaDownIsATierOneWarningWithoutAPage) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1"});
    fleet.run(10min);

    const Alarm* group = fleet.alarm(kMtaPool);
    ASSERT_NE(group, nullptr);
    EXPECT_EQ(group->condition.severity, Grade::warning);
    EXPECT_EQ(group->tier, 1);
    const Alarm* target = fleet.alarm("tierwatch/target/smtp|node:mta1");
    ASSERT_NE(target, nullptr);
    EXPECT_EQ(target->condition.severity, Grade::warning) << "the pool pages for its members";
    EXPECT_GE(fleet.count("noc", PageAction::trigger), 1u);
    EXPECT_TRUE(fleet.events_to("pagerduty").empty());
    EXPECT_TRUE(fleet.events_to("engineering").empty());
}

TEST(Alarms, BothMtasDownIsExactlyOneCriticalPageToTierTwo) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(20min);

    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].action, PageAction::trigger);
    EXPECT_EQ(pages[0].dedup_key, kMtaPool);
    EXPECT_EQ(pages[0].severity, Grade::critical);
    EXPECT_EQ(pages[0].tier, 2);
    EXPECT_NE(pages[0].summary.find("mta1, mta2"), std::string::npos) << pages[0].summary;
    EXPECT_TRUE(fleet.events_to("engineering").empty());
}

TEST(Alarms, RedundantLdapPairHoldsWhileEitherMasterIsUp) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"ldap1"});
    fleet.run(10min);
    EXPECT_EQ(fleet.alarm("tierwatch/group/ldap-masters"), nullptr);
    EXPECT_TRUE(fleet.events_to("pagerduty").empty());

    fleet.failing = node_is({"ldap1", "ldap2"});
    fleet.run(10min);
    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].dedup_key, "tierwatch/group/ldap-masters");
}

TEST(Alarms, ZoneDownIsExactlyOnePageAndItsNodeAlarmsAreSuppressed) {
    Fleet fleet(kTiers);
    fleet.run(1min);
    fleet.failing = in_zone("zone-a");
    fleet.run(20min);

    const std::string zone_key = "tierwatch/zone_down/zone-a";
    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].dedup_key, zone_key);
    EXPECT_EQ(pages[0].labels.zone, "zone-a");
    for (const PageEvent& event : fleet.events()) {
        EXPECT_EQ(event.dedup_key, zone_key) << "nothing else is sent anywhere, even to Tier I";
    }
    for (const std::string& key :
         {kMailbox1, std::string("tierwatch/target/smtp|node:mta1"), kMtaPool}) {
        const Alarm* alarm = fleet.alarm(key);
        ASSERT_NE(alarm, nullptr) << key << " is still graded and shown";
        EXPECT_TRUE(alarm->condition.suppressed) << key;
    }
}

TEST(Alarms, NlbAddressFailingEveryCheckIsOneCriticalPageNamingTheAddress) {
    Fleet fleet(kTiers);
    fleet.failing = [](const RollupTarget& t) { return t.nlb && t.address == kNlbA; };
    fleet.run(20min);

    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].dedup_key, "tierwatch/nlb_down/mail/203.0.113.1");
    EXPECT_EQ(pages[0].severity, Grade::critical);
    EXPECT_EQ(pages[0].labels.address, kNlbA);
    EXPECT_EQ(pages[0].labels.nlb, "mail");
    EXPECT_NE(pages[0].summary.find("203.0.113.1"), std::string::npos);
    const Alarm* target = fleet.alarm("tierwatch/target/https|nlb:mail|203.0.113.1");
    ASSERT_NE(target, nullptr);
    EXPECT_TRUE(target->condition.suppressed);
    EXPECT_EQ(fleet.alarm("tierwatch/nlb_down/mail/203.0.113.2"), nullptr);
}

TEST(Alarms, FlappingTargetPagesOnceAsFlappingNotOncePerChange) {
    Fleet fleet(kTiers);
    int probes = 0;
    // mailbox1 (rise = fall = 1) alternates every probe for 20 minutes, then settles.
    fleet.failing = [&probes](const RollupTarget& t) {
        return t.node && t.node->name == "mailbox1" && (probes++ % 2 == 0);
    };
    fleet.run(20min);
    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].dedup_key, "tierwatch/flapping/https|node:mailbox1");
    EXPECT_EQ(pages[0].action, PageAction::trigger);
    ASSERT_GT(fleet.rollup().grader(6)->transitions(), 20u) << "mailbox1's https target is id 6";
    // The status page links the alarm to its target through this value, not by parsing the key.
    const Alarm* flapping = fleet.alarm("tierwatch/flapping/https|node:mailbox1");
    ASSERT_NE(flapping, nullptr);
    EXPECT_EQ(flapping->condition.target, "https|node:mailbox1");

    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(11min);
    EXPECT_EQ(fleet.count("pagerduty", PageAction::resolve), 1u);
    EXPECT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u);
}

TEST(Alarms, MaintenanceWindowGradesButNeverPages) {
    const std::string maintenance = std::string(kTiers) + R"(
[[maintenance]]
nodes = ["mailbox1"]
start = 2026-07-15T11:00:00Z
end = 2026-07-15T13:00:00Z
reason = "kernel upgrade"
)";
    Fleet fleet(maintenance);
    fleet.failing = node_is({"mailbox1"});
    fleet.run(50min);
    const Alarm* alarm = fleet.alarm(kMailbox1);
    ASSERT_NE(alarm, nullptr);
    EXPECT_EQ(alarm->condition.severity, Grade::critical);
    EXPECT_TRUE(alarm->condition.maintenance);
    EXPECT_TRUE(fleet.events().empty());

    fleet.run(20min);  // past 13:00 and still failing: now it pages
    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_GE(pages[0].at, utc(2026y / July / 15, 13h));
}

TEST(Alarms, UnresolvedPastTierThreeAfterEscalatesOnceAndResolveReachesEveryone) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mailbox1"});
    fleet.run(2h);

    EXPECT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u);
    EXPECT_EQ(fleet.count("pagerduty", PageAction::repeat), 4u)
        << "every 30 minutes while firing, and the update to tier 3 when it escalated";
    const auto escalations = fleet.events_to("engineering");
    ASSERT_EQ(escalations.size(), 1u);
    EXPECT_EQ(escalations[0].action, PageAction::escalate);
    EXPECT_EQ(escalations[0].tier, 3);
    const TimePoint first_page = fleet.events_to("pagerduty").front().at;
    EXPECT_GE(escalations[0].at - first_page, 45min - 1min);
    EXPECT_LE(escalations[0].at - first_page, 45min + 1min);
    EXPECT_EQ(fleet.alarm(kMailbox1)->tier, 3);
    EXPECT_EQ(fleet.escalations(), 1u) << "tierwatch_escalations_total counts the alarm once";

    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(1min);
    EXPECT_EQ(fleet.alarm(kMailbox1), nullptr);
    EXPECT_EQ(fleet.receivers_of(PageAction::resolve),
              (std::set<std::string>{"noc", "pagerduty", "engineering"}));
    for (const std::string_view receiver : {"noc", "pagerduty", "engineering"}) {
        EXPECT_EQ(fleet.count(receiver, PageAction::resolve), 1u) << receiver;
    }
}

TEST(Alarms, SilencedAlarmIsShownButPagesOnlyOnceTheSilenceEnds) {
    Fleet fleet(kTiers);
    MaintenanceWindow silence;
    silence.match.checks = {"https"};
    silence.start = kNoon - 1h;
    silence.end = kNoon + 30min;
    silence.reason = "certificate rollover";
    fleet.silence(silence);
    fleet.failing = node_is({"mailbox1"});
    fleet.run(20min);
    ASSERT_NE(fleet.alarm(kMailbox1), nullptr);
    EXPECT_TRUE(fleet.alarm(kMailbox1)->condition.silenced);
    EXPECT_TRUE(fleet.events().empty());
    fleet.run(15min);
    EXPECT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u);
}

TEST(Alarms, RoutedClassPagesTierThreeStraightAway) {
    // kTiers ends inside [tiers.tier3].
    Fleet fleet(std::string(kTiers) + "classes = [\"https\"]\n");
    fleet.failing = node_is({"mailbox1"});
    fleet.run(2min);
    const auto pages = fleet.events_to("engineering");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].action, PageAction::trigger);
    EXPECT_EQ(pages[0].tier, 3);
    EXPECT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u)
        << "a critical alarm still pages Tier II";
    fleet.run(2h);
    EXPECT_EQ(fleet.count("engineering", PageAction::escalate), 0u) << "already with Tier III";
}

// Severity and tier of what a receiver was told; tests that change labels compare those too.
std::pair<Grade, int> level(const SentIdentity& identity) {
    return {identity.severity, identity.tier};
}

TEST(Alarms, WarningThatBecomesCriticalTriggersTierTwoAndUpdatesTierOne) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1"});
    fleet.run(5min);
    EXPECT_TRUE(fleet.events_to("pagerduty").empty());
    fleet.clear_events();
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(5min);
    ASSERT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u);
    const auto noc = fleet.events_to("noc");
    const bool updated = std::any_of(noc.begin(), noc.end(), [](const PageEvent& e) {
        return e.dedup_key == kMtaPool && e.action == PageAction::repeat &&
               e.severity == Grade::critical;
    });
    EXPECT_TRUE(updated) << "Tier I hears the pool is now critical, under the same dedup key";
    const auto update = std::find_if(noc.begin(), noc.end(), [](const PageEvent& e) {
        return e.dedup_key == kMtaPool && e.action == PageAction::repeat;
    });
    ASSERT_NE(update, noc.end());
    ASSERT_TRUE(update->replaces) << "label-identified receivers end the warning alert they were told";
    EXPECT_EQ(level(*update->replaces), std::pair(Grade::warning, 1));
    EXPECT_EQ(update->replaces->labels, update->labels);
}

// The pool's events to `receiver`; the member targets' own alarms are left out.
std::vector<PageEvent> pool_events(const std::vector<PageEvent>& events) {
    std::vector<PageEvent> out;
    std::copy_if(events.begin(), events.end(), std::back_inserter(out),
                 [](const PageEvent& e) { return e.dedup_key == kMtaPool; });
    return out;
}

TEST(Alarms, CriticalThenWarningThenOkResolvesWhatEachReceiverWasTold) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(5min);
    ASSERT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u);
    fleet.clear_events();
    fleet.failing = node_is({"mta1"});
    fleet.run(5min);
    const auto noc = pool_events(fleet.events_to("noc"));
    ASSERT_FALSE(noc.empty());
    EXPECT_EQ(level(noc.back().identity()), std::pair(Grade::warning, 1));
    ASSERT_TRUE(noc.back().replaces);
    EXPECT_EQ(level(*noc.back().replaces), std::pair(Grade::critical, 2));
    // A warning no longer routes to Tier II: PagerDuty hears the end of its critical alert at
    // once, not when the pool is whole again.
    const auto pd = pool_events(fleet.events_to("pagerduty"));
    ASSERT_EQ(pd.size(), 1u);
    EXPECT_EQ(pd[0].action, PageAction::resolve);
    EXPECT_EQ(level(pd[0].identity()), std::pair(Grade::critical, 2));
    EXPECT_EQ(pd[0].at, noc.back().at) << "in the same update that told Tier I of the warning";
    fleet.clear_events();
    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(5min);
    const auto noc_resolve = pool_events(fleet.events_to("noc"));
    ASSERT_EQ(noc_resolve.size(), 1u);
    EXPECT_EQ(noc_resolve[0].action, PageAction::resolve);
    EXPECT_EQ(level(noc_resolve[0].identity()), std::pair(Grade::warning, 1));
    EXPECT_TRUE(pool_events(fleet.events_to("pagerduty")).empty()) << "resolved once only";
}

TEST(Alarms, WarningAgainAfterTierTwoWasReleasedTriggersItAfresh) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(5min);
    fleet.failing = node_is({"mta1"});
    fleet.run(5min);
    fleet.clear_events();
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(5min);
    const auto pd = pool_events(fleet.events_to("pagerduty"));
    ASSERT_EQ(pd.size(), 1u);
    EXPECT_EQ(pd[0].action, PageAction::trigger) << "its alert was ended, so this is a new one";
    EXPECT_FALSE(pd[0].replaces);
}

TEST(Alarms, EscalationToTierThreeUpdatesEveryReceiverThatWasTold) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(10min);
    ASSERT_EQ(fleet.count("pagerduty", PageAction::trigger), 1u);
    fleet.clear_events();
    fleet.run(40min);  // past tiers.tier3.after = 45m of critical
    const auto engineering = pool_events(fleet.events_to("engineering"));
    ASSERT_EQ(engineering.size(), 1u);
    EXPECT_EQ(engineering[0].action, PageAction::escalate);
    EXPECT_EQ(level(engineering[0].identity()), std::pair(Grade::critical, 3));
    EXPECT_FALSE(engineering[0].replaces) << "Tier III was told nothing before";
    for (const char* receiver : {"noc", "pagerduty"}) {
        const auto told = pool_events(fleet.events_to(receiver));
        const auto update = std::find_if(told.begin(), told.end(), [&](const PageEvent& e) {
            return e.at == engineering[0].at;
        });
        ASSERT_NE(update, told.end()) << receiver << " is updated when the alarm escalates";
        EXPECT_EQ(update->action, PageAction::repeat) << receiver;
        EXPECT_EQ(level(update->identity()), std::pair(Grade::critical, 3)) << receiver;
        ASSERT_TRUE(update->replaces) << receiver;
        EXPECT_EQ(level(*update->replaces), std::pair(Grade::critical, 2)) << receiver;
    }
    // The pool comes back one member at a time (warning on the way), as in the field.
    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(5min);
    for (const char* receiver : {"noc", "pagerduty", "engineering"}) {
        const auto told = pool_events(fleet.events_to(receiver));
        ASSERT_GE(told.size(), 2u) << receiver;
        ASSERT_EQ(told.back().action, PageAction::resolve) << receiver;
        EXPECT_EQ(std::count_if(told.begin(), told.end(),
                                [](const PageEvent& e) { return e.action == PageAction::resolve; }),
                  1) << receiver;
        EXPECT_EQ(told.back().identity(), told[told.size() - 2].identity())
            << receiver << ": the resolve names what it was last told";
    }
    EXPECT_FALSE(fleet.alarm(kMtaPool));
}

TEST(Alarms, AnUnchangedIdentityIsNotUpdatedAgain) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mta1", "mta2"});
    fleet.run(10min);
    fleet.clear_events();
    fleet.run(15min);  // no repeat due (30m), no escalation yet (45m)
    EXPECT_TRUE(pool_events(fleet.events()).empty());
}

// kFleet with mailbox1 moved to another zone: its alarm keeps its key, its labels change.
std::string fleet_with_mailbox1_in(std::string_view zone) {
    std::string text(kFleet);
    const std::string from = "name = \"mailbox1\"\nrole = \"mailbox\"\nzone = \"zone-a\"";
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos);
    text.replace(at, from.size(),
                 "name = \"mailbox1\"\nrole = \"mailbox\"\nzone = \"" + std::string(zone) + "\"");
    return text;
}

TEST(Alarms, ReloadWhileFiringUpdatesAndResolvesWhatEachReceiverWasTold) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mailbox1"});
    fleet.run(2min);
    const auto first = fleet.events_to("pagerduty");
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(first[0].dedup_key, kMailbox1);
    const AlarmLabels before = first[0].labels;
    ASSERT_EQ(before.zone, "zone-a");
    fleet.clear_events();

    // The reload moves mailbox1 to zone-b (still up: not a zone outage) and Tier II from pagerduty to "day".
    std::string tiers(kTiers);
    tiers.replace(tiers.find("receivers = [\"pagerduty\"]"), 25, "receivers = [\"day\"]");
    fleet.reload(fleet_with_mailbox1_in("zone-b"), tiers);
    fleet.run(1min);
    const auto pd = fleet.events_to("pagerduty");
    ASSERT_EQ(pd.size(), 1u) << "no tier routes to pagerduty now";
    EXPECT_EQ(pd[0].action, PageAction::resolve);
    EXPECT_EQ(pd[0].labels, before) << "the resolve names the alert pagerduty was told";
    EXPECT_EQ(level(pd[0].identity()), std::pair(Grade::critical, 2));
    const auto noc = fleet.events_to("noc");
    ASSERT_EQ(noc.size(), 1u);
    EXPECT_EQ(noc[0].action, PageAction::repeat);
    EXPECT_EQ(noc[0].labels.zone, "zone-b");
    ASSERT_TRUE(noc[0].replaces) << "Alertmanager ends the alert under the old labels";
    EXPECT_EQ(noc[0].replaces->labels, before);
    const auto day = fleet.events_to("day");
    ASSERT_EQ(day.size(), 1u);
    EXPECT_EQ(day[0].action, PageAction::trigger);
    EXPECT_EQ(day[0].labels.zone, "zone-b");
    fleet.clear_events();

    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(2min);
    for (const char* receiver : {"noc", "day"}) {
        const auto resolves = fleet.events_to(receiver);
        ASSERT_EQ(resolves.size(), 1u) << receiver;
        EXPECT_EQ(resolves[0].action, PageAction::resolve) << receiver;
        EXPECT_EQ(resolves[0].labels.zone, "zone-b") << receiver << " was told zone-b";
    }
    EXPECT_TRUE(fleet.events_to("pagerduty").empty());
}

TEST(Alarms, ReloadWhileSuppressedStillResolvesTheOldLabels) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mailbox1"});
    fleet.run(2min);
    ASSERT_EQ(fleet.events_to("noc").size(), 1u);
    fleet.clear_events();
    // Silenced across the reload, so no update tells anyone the new labels.
    MaintenanceWindow silence;
    silence.start = fleet.now();
    silence.end = fleet.now() + 1h;
    silence.match.nodes = {"mailbox1"};
    fleet.silence(silence);
    fleet.reload(fleet_with_mailbox1_in("zone-b"), kTiers);
    fleet.run(1min);
    EXPECT_TRUE(fleet.events().empty());
    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(2min);
    const auto noc = fleet.events_to("noc");
    ASSERT_EQ(noc.size(), 1u);
    EXPECT_EQ(noc[0].action, PageAction::resolve);
    EXPECT_EQ(noc[0].labels.zone, "zone-a") << "the labels noc was told, not the reloaded ones";
}

TEST(Alarms, DedupKeyIsTheAlarmIdentityNeverATimeOrCounter) {
    Fleet first(kTiers);
    Fleet later(kTiers, kNoon + 24h * 40);
    for (Fleet* fleet : {&first, &later}) {
        fleet->failing = node_is({"mailbox1"});
        fleet->run(2min);
        ASSERT_FALSE(fleet->events_to("pagerduty").empty());
        EXPECT_EQ(fleet->events_to("pagerduty").front().dedup_key, kMailbox1);
    }
}

TEST(Alarms, EventsCarryTheLabelsTheReceiversRouteOn) {
    Fleet fleet(kTiers);
    fleet.failing = node_is({"mailbox1"});
    fleet.run(2min);
    const auto pages = fleet.events_to("pagerduty");
    ASSERT_EQ(pages.size(), 1u);
    const auto labels = pages[0].label_pairs();
    const std::vector<std::pair<std::string_view, std::string>> want{
        {"alarm", "target"}, {"severity", "critical"}, {"tier", "2"},      {"node", "mailbox1"},
        {"zone", "zone-a"},  {"role", "mailbox"},      {"check", "https"}, {"address", "10.0.1.30"},
    };
    EXPECT_EQ(labels, want);
    EXPECT_NE(pages[0].summary.find("connect_refused"), std::string::npos) << pages[0].summary;
}

// ---------------------------------------------------------------------------------------------
// Coverage schedules

struct CoverageCase {
    TimePoint failing_from;
    std::string receiver;
    std::string why;
};

TEST(Coverage, SameAlarmAtTenAndThreeLocalTimeGoesToTheScheduledReceivers) {
    const std::vector<CoverageCase> cases{
        {utc(2026y / July / 15, 8h), "day", "10:00 CEST"},
        {utc(2026y / July / 15, 1h), "night", "03:00 CEST"},
        {utc(2026y / January / 14, 9h), "day", "10:00 CET"},
        {utc(2026y / January / 14, 2h), "night", "03:00 CET"},
        // Berlin springs forward at 01:00 UTC on Sunday 29 March 2026: 06:30 UTC is 08:30 CEST
        // (a fixed UTC+1 would say 07:30, night); a day earlier 06:30 UTC is 07:30 CET.
        {utc(2026y / March / 29, 6h, 30min), "day", "08:30 CEST, just after spring forward"},
        {utc(2026y / March / 28, 6h, 30min), "night", "07:30 CET, before spring forward"},
        // Falls back at 01:00 UTC on Sunday 25 October 2026: 06:30 UTC is 07:30 CET (night), but
        // 08:30 CEST on the Saturday before.
        {utc(2026y / October / 25, 6h, 30min), "night", "07:30 CET, just after fall back"},
        {utc(2026y / October / 24, 6h, 30min), "day", "08:30 CEST, before fall back"},
        // Past the transitions the TZif file lists, from its POSIX rule.
        {utc(2100y / July / 14, 6h, 30min), "day", "08:30 CEST in 2100"},
        {utc(2100y / January / 14, 6h, 30min), "night", "07:30 CET in 2100"},
    };
    for (const CoverageCase& c : cases) {
        Fleet fleet(kCoverageTiers, c.failing_from);
        fleet.failing = node_is({"mailbox1"});
        fleet.run(2min);
        EXPECT_EQ(fleet.count(c.receiver, PageAction::trigger), 1u) << c.why;
        EXPECT_TRUE(fleet.events_to(c.receiver == "day" ? "night" : "day").empty()) << c.why;
        EXPECT_TRUE(fleet.events_to("pagerduty").empty())
            << c.why << ": a window covers every hour";
    }
}

TEST(Coverage, ResolveReachesTheDayAndNightReceiversAfterAHandover) {
    // Fires at 19:40 CEST with day coverage; night takes over at 20:00, before the 30-minute
    // repeat is due, and hears of the alarm then.
    Fleet fleet(kCoverageTiers, utc(2026y / July / 15, 17h, 40min));
    fleet.failing = node_is({"mailbox1"});
    fleet.run(40min);
    EXPECT_EQ(fleet.count("day", PageAction::trigger), 1u);
    const auto night = fleet.events_to("night");
    ASSERT_FALSE(night.empty());
    EXPECT_EQ(night[0].action, PageAction::trigger) << "a receiver new to the alarm gets a trigger";
    EXPECT_GE(night[0].at, utc(2026y / July / 15, 18h));
    EXPECT_LT(night[0].at, utc(2026y / July / 15, 18h, 1min)) << "at the hand-over";
    EXPECT_EQ(fleet.count("day", PageAction::resolve), 0u) << "going off shift is not a resolve";
    fleet.failing = [](const RollupTarget&) { return false; };
    fleet.run(1min);
    EXPECT_EQ(fleet.count("day", PageAction::resolve), 1u);
    EXPECT_EQ(fleet.count("night", PageAction::resolve), 1u);
    EXPECT_EQ(fleet.count("noc", PageAction::resolve), 1u);
}

}  // namespace
}  // namespace tierwatch

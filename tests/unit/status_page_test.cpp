// Unit tests for the status page and the read API's pieces, without sockets or a clock: HTML
// escaping of hostile text everywhere it is shown, the zones × roles aggregation, alarm order,
// the per-target result ring, the API's query filters and JSON shapes.
#include "daemon/web/status_page.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/engine/engine.hpp"
#include "daemon/web/status_routes.hpp"
#include "probes/ldap/ldap_replication.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow =
    TimePoint(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23)) + 2h + 30min;

// Strings a server banner, a certificate or a careless config could carry.
const std::vector<std::string> kHostile = {
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>",
    "'><svg onload=alert(3)>",   "</td></tr></table><h1>injected</h1>",
    "&lt;already escaped&gt;",   std::string("nul\0byte", 8),
};

// True when `html` holds none of the markup `hostile` would inject if it were written raw.
bool contains_raw(const std::string& html, const std::string& hostile) {
    return html.find(hostile) != std::string::npos;
}

TEST(HtmlEscape, EscapesEveryMarkupCharacter) {
    EXPECT_EQ(html_escape("<a href=\"x\" title='y'>&</a>"),
              "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    EXPECT_EQ(html_escape("plain text, ünïcode \u2713"), "plain text, ünïcode \u2713");
    EXPECT_EQ(html_escape(""), "");
    // Escaping is not idempotent on purpose: text that looks escaped is shown as typed.
    EXPECT_EQ(html_escape("&lt;"), "&amp;lt;");
    EXPECT_EQ(html_escape(std::string("a\0b", 3)),
              "a\xEF\xBF\xBD"
              "b");
}

TEST(HtmlEscape, HostileStringsLeaveNoMarkup) {
    for (const auto& hostile : kHostile) {
        const std::string escaped = html_escape(hostile);
        EXPECT_EQ(escaped.find('<'), std::string::npos) << hostile;
        EXPECT_EQ(escaped.find('>'), std::string::npos) << hostile;
        EXPECT_EQ(escaped.find('"'), std::string::npos) << hostile;
        EXPECT_EQ(escaped.find('\''), std::string::npos) << hostile;
        EXPECT_EQ(escaped.find('\0'), std::string::npos) << hostile;
    }
}

TEST(StatusGrid, AggregatesZonesByRolesWithWorstGradeAndCounts) {
    StatusGrid grid;
    grid.declare_zone("zone-a");
    grid.declare_role("mta");
    grid.declare_zone("zone-b");
    grid.declare_role("ldap");
    grid.add_node_target("zone-a", "mta", Grade::ok, false);
    grid.add_node_target("zone-a", "mta", Grade::warning, false);
    grid.add_node_target("zone-b", "mta", Grade::critical, false);
    grid.add_node_target("zone-b", "mta", Grade::ok, true);
    grid.add_node_target("zone-b", "mta", std::nullopt, false);
    grid.add_node_target("zone-a", "ldap", std::nullopt, false);

    ASSERT_EQ(grid.zones(), (std::vector<std::string>{"zone-a", "zone-b"}));
    ASSERT_EQ(grid.roles(), (std::vector<std::string>{"mta", "ldap"}));
    const GridCell& a_mta = grid.cell(0, 0);
    EXPECT_EQ(a_mta.total, 2u);
    EXPECT_EQ(a_mta.up, 2u);  // a warning is not down
    EXPECT_EQ(a_mta.worst(), Grade::warning);
    const GridCell& b_mta = grid.cell(1, 0);
    EXPECT_EQ(b_mta.total, 3u);
    EXPECT_EQ(b_mta.up, 1u);
    EXPECT_EQ(b_mta.critical, 1u);
    EXPECT_EQ(b_mta.pending, 1u);
    EXPECT_EQ(b_mta.flapping, 1u);
    EXPECT_EQ(b_mta.worst(), Grade::critical);
    EXPECT_EQ(grid.cell(0, 1).worst(), std::nullopt);  // only pending: no grade to show yet
    EXPECT_TRUE(grid.cell(1, 1).empty());              // zone-b has no ldap
    EXPECT_EQ(grid.totals().total, 6u);
    EXPECT_EQ(grid.totals().critical, 1u);
}

TEST(StatusGrid, LateZonesAndRolesKeepEveryCountInPlace) {
    StatusGrid grid;
    grid.add_node_target("z1", "r1", Grade::critical, false);
    grid.add_node_target("z1", "r2", Grade::ok, false);  // widens the matrix
    grid.add_node_target("z2", "r1", Grade::warning, false);
    grid.add_node_target("z2", "r3", Grade::ok, false);
    grid.add_node_target("z1", "r3", Grade::ok, false);
    ASSERT_EQ(grid.roles(), (std::vector<std::string>{"r1", "r2", "r3"}));
    EXPECT_EQ(grid.cell(0, 0).worst(), Grade::critical);
    EXPECT_EQ(grid.cell(0, 1).worst(), Grade::ok);
    EXPECT_EQ(grid.cell(0, 2).total, 1u);
    EXPECT_EQ(grid.cell(1, 0).worst(), Grade::warning);
    EXPECT_TRUE(grid.cell(1, 1).empty());
    EXPECT_EQ(grid.cell(1, 2).total, 1u);
}

TEST(StatusGrid, OneRowPerNlbAddressNamingTheChecksNotOk) {
    StatusGrid grid;
    grid.add_nlb_target("mail", "10.0.0.1", "imaps", Grade::ok, false);
    grid.add_nlb_target("mail", "10.0.0.2", "imaps", Grade::critical, false);
    grid.add_nlb_target("mail", "10.0.0.2", "smtp", Grade::warning, false);
    grid.add_nlb_target("mail", "10.0.0.2", "imaps", Grade::critical, false);
    grid.add_nlb_target("mail", "", "imaps", Grade::critical, false);  // the name does not resolve
    ASSERT_EQ(grid.nlb_rows().size(), 3u);
    EXPECT_EQ(grid.nlb_rows()[0].cell.worst(), Grade::ok);
    EXPECT_TRUE(grid.nlb_rows()[0].failing_checks.empty());
    EXPECT_EQ(grid.nlb_rows()[1].address, "10.0.0.2");
    EXPECT_EQ(grid.nlb_rows()[1].cell.total, 3u);
    EXPECT_EQ(grid.nlb_rows()[1].failing_checks, (std::vector<std::string>{"imaps", "smtp"}));
    EXPECT_EQ(grid.nlb_rows()[2].address, "");
}

Alarm make_alarm(std::string key, Grade severity, int tier, TimePoint started,
                 bool suppressed = false, bool silenced = false, bool maintenance = false) {
    Alarm alarm;
    alarm.condition.key = std::move(key);
    alarm.condition.severity = severity;
    alarm.condition.suppressed = suppressed;
    alarm.condition.silenced = silenced;
    alarm.condition.maintenance = maintenance;
    alarm.condition.summary = "summary of " + alarm.condition.key;
    alarm.tier = tier;
    alarm.started = started;
    return alarm;
}

std::unordered_map<std::string, Alarm> book(std::vector<Alarm> alarms) {
    std::unordered_map<std::string, Alarm> out;
    for (auto& alarm : alarms) out.emplace(alarm.condition.key, std::move(alarm));
    return out;
}

std::vector<std::string> keys(const std::vector<const Alarm*>& alarms) {
    std::vector<std::string> out;
    for (const Alarm* alarm : alarms) out.push_back(alarm->condition.key);
    return out;
}

TEST(AlarmOrder, WorstFirstThenPagingThenTierThenOldest) {
    const auto alarms = book({
        make_alarm("warning-old", Grade::warning, 1, kNow - 2h),
        make_alarm("critical-suppressed", Grade::critical, 2, kNow - 3h, true),
        make_alarm("critical-new", Grade::critical, 2, kNow - 1min),
        make_alarm("critical-old", Grade::critical, 2, kNow - 1h),
        make_alarm("critical-tier3", Grade::critical, 3, kNow - 1min),
        make_alarm("warning-silenced", Grade::warning, 1, kNow - 5h, false, true),
        make_alarm("b-same", Grade::warning, 1, kNow - 10min),
        make_alarm("a-same", Grade::warning, 1, kNow - 10min),
    });
    EXPECT_EQ(keys(worst_alarms(alarms, 100)),
              (std::vector<std::string>{"critical-tier3", "critical-old", "critical-new",
                                        "critical-suppressed", "warning-old", "a-same", "b-same",
                                        "warning-silenced"}));
    EXPECT_EQ(keys(worst_alarms(alarms, 2)),
              (std::vector<std::string>{"critical-tier3", "critical-old"}));
    EXPECT_TRUE(worst_alarms({}, 10).empty());
}

TEST(AlarmOrder, StateNamesFollowTheMetricsPrecedence) {
    EXPECT_EQ(alarm_state(make_alarm("k", Grade::critical, 2, kNow).condition), AlarmState::paging);
    EXPECT_EQ(alarm_state(make_alarm("k", Grade::critical, 2, kNow, true, true, true).condition),
              AlarmState::suppressed);
    EXPECT_EQ(alarm_state(make_alarm("k", Grade::critical, 2, kNow, false, true, true).condition),
              AlarmState::silenced);
    EXPECT_EQ(alarm_state(make_alarm("k", Grade::critical, 2, kNow, false, false, true).condition),
              AlarmState::maintenance);
}

TEST(FormatAge, ShortAndPreciseWhereItMatters) {
    EXPECT_EQ(format_age(0s), "0s");
    EXPECT_EQ(format_age(45s), "45s");
    EXPECT_EQ(format_age(12min + 3s), "12m3s");
    EXPECT_EQ(format_age(3h + 5min + 59s), "3h5m");
    EXPECT_EQ(format_age(std::chrono::days(2) + 4h + 59min), "2d4h");
    EXPECT_EQ(format_age(-5s), "0s");  // a clock step back never shows a negative age
}

TEST(ResultHistory, KeepsTheNewestEightNewestFirst) {
    ResultHistory history;
    EXPECT_EQ(history.size(), 0u);
    for (int i = 0; i < 11; ++i) {
        ProbeResult result;
        result.reason = i % 2 ? FailureReason::connect_refused : FailureReason::none;
        result.total = std::chrono::milliseconds(i);
        history.push(kNow + std::chrono::seconds(i), result);
    }
    ASSERT_EQ(history.size(), ResultHistory::capacity);
    EXPECT_EQ(history.newest(0).at_ms,
              std::chrono::duration_cast<std::chrono::milliseconds>((kNow + 10s).time_since_epoch())
                  .count());
    EXPECT_EQ(history.newest(0).duration_us, 10'000u);
    EXPECT_EQ(history.newest(0).reason, FailureReason::none);
    EXPECT_EQ(history.newest(1).reason, FailureReason::connect_refused);
    EXPECT_EQ(history.newest(7).duration_us, 3'000u);  // results 0-2 fell out
    EXPECT_LE(sizeof(ResultHistory), 136u);            // 100,000 targets: about 13 MB

    ProbeResult slow;
    slow.total = std::chrono::hours(3);
    history.push(kNow, slow);
    EXPECT_EQ(history.newest(0).duration_us, UINT32_MAX);  // saturates, never wraps
}

// A target on a node whose every string is hostile, with a TLS result.
struct HostileTarget {
    Check check;
    Node node;
    Target target;
    TargetGrader grader;

    explicit HostileTarget(const std::string& evil) {
        check.name = "check" + evil;
        check.protocol = Protocol::imaps;
        check.cert_warning = std::chrono::days(21);
        check.cert_critical = std::chrono::days(7);
        node = Node{"node" + evil, "role" + evil, "zone" + evil, "10.0.0.1", "name" + evil, "", {}};
        target.id = 7;
        target.spec.check = &check;
        target.spec.node = &node;
        target.label = "10.0.0.1:993" + evil;
        target.has_result = true;
        target.probes = 5;
        target.failures = 1;
        target.last.reason = FailureReason::bad_greeting;
        target.last.detail = "greeting " + evil;
        target.last.total = 12ms;
        target.last.add_phase(Phase::connect, 1ms);
        target.last.add_phase(Phase::tls, 4ms);
        target.last.certificate = std::make_shared<const CertificateFacts>(
            CertificateFacts{std::chrono::duration_cast<std::chrono::seconds>(
                                 (kNow + std::chrono::days(5)).time_since_epoch())
                                 .count(),
                             "CN=subject" + evil,
                             "CN=issuer" + evil,
                             {"san" + evil},
                             "TLS 1.3",
                             "cipher" + evil});
        target.last.measurements.push_back({&ldap_replication_lag_measurement, 1.5, "peer" + evil});
        target.history.push(kNow - 1s, target.last);
        grader.observe({Grade::critical, GradeCause::failure, "bad_greeting: " + evil}, 1, 1, 1h,
                       kNow - 1s);
    }
};

TEST(TargetPage, ShowsHistoryPhasesCertificateAndEscapesEverything) {
    for (const auto& evil : kHostile) {
        HostileTarget t(evil);
        const std::string html = render_target_page(t.target, &t.grader, kNow, "0.1.0<x>");
        EXPECT_FALSE(contains_raw(html, evil)) << evil;
        EXPECT_NE(html.find("id=\"history\""), std::string::npos);
        EXPECT_NE(html.find("bad_greeting"), std::string::npos);
        EXPECT_NE(html.find("4.0 ms"), std::string::npos);  // the tls phase
        // Expiry inside cert_critical: critical by shape and word too.
        EXPECT_NE(html.find("\u2716 CRIT</span> 5.0 days left \u00B7 2026-11-28T02:30:00.000Z"),
                  std::string::npos);
        EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"10\">"), std::string::npos);
        EXPECT_EQ(html.find("<script"), std::string::npos);
    }
}

TEST(TargetPage, ATargetWithoutResultsSaysSo) {
    HostileTarget t("plain");
    t.target.has_result = false;
    t.target.history = {};
    const std::string html = render_target_page(t.target, nullptr, kNow, "0.1.0");
    EXPECT_NE(html.find("PENDING"), std::string::npos);
    EXPECT_NE(html.find("No result yet."), std::string::npos);
    EXPECT_EQ(html.find("id=\"history\""), std::string::npos);
}

TEST(StatusPageHtml, GridAlarmsAndProblemsAreShownAndEscaped) {
    for (const auto& evil : kHostile) {
        StatusSnapshot s;
        s.now = kNow;
        s.version = "0.1.0";
        s.grid.add_node_target("zone" + evil, "role" + evil, Grade::critical, false);
        s.grid.add_node_target("zone" + evil, "mta", Grade::ok, false);
        s.grid.add_nlb_target("nlb" + evil, "10.0.0.9", "check" + evil, Grade::warning, false);
        auto alarms = book({make_alarm("key" + evil, Grade::critical, 2, kNow - 90s),
                            make_alarm("quiet", Grade::warning, 1, kNow - 1h, false, false, true)});
        alarms.at("key" + evil).condition.summary = "summary" + evil;
        alarms.at("key" + evil).condition.labels.node = "node" + evil;
        alarms.at("key" + evil).escalated = true;
        alarms.at("key" + evil).notified = {"oncall", "noc"};
        s.alarms = worst_alarms(alarms, 500);
        s.alarm_targets = {9};  // the worst links to its target; the other has none
        s.alarms_total = alarms.size();
        s.problems.push_back({3, "check" + evil, "target" + evil, "node" + evil, "zone" + evil,
                              "role" + evil, Grade::critical, true, "why" + evil});
        s.problems_total = 1;
        const std::string html = render_status_page(s);

        EXPECT_FALSE(contains_raw(html, evil)) << evil;
        EXPECT_EQ(html.find("<script"), std::string::npos);
        EXPECT_NE(html.find("data-grade=\"critical\""), std::string::npos);
        EXPECT_NE(html.find("0/1 up"), std::string::npos);
        EXPECT_NE(html.find("\u260E PAGED 2"), std::string::npos);
        EXPECT_NE(html.find("\u2298 MAINTENANCE"), std::string::npos);
        EXPECT_NE(html.find("escalated"), std::string::npos);
        EXPECT_NE(html.find(">1m30s<"), std::string::npos);
        EXPECT_NE(html.find("href=\"/status/target/3\""), std::string::npos);  // the problem row
        EXPECT_NE(html.find("<a href=\"/status/target/9\">summary"), std::string::npos);
        EXPECT_NE(html.find("2 alarms firing (1 paged)"), std::string::npos);
        // The critical alarm comes before the one in maintenance.
        EXPECT_LT(html.find("data-state=\"paging\""), html.find("data-state=\"maintenance\""));
        EXPECT_EQ(html.find("http://"), std::string::npos);  // nothing fetched from anywhere
        EXPECT_EQ(html.find("https://"), std::string::npos);
    }
}

TEST(StatusPageHtml, BoundedListsSayHowManyMore) {
    StatusSnapshot s;
    s.now = kNow;
    auto alarms =
        book({make_alarm("a", Grade::critical, 2, kNow), make_alarm("b", Grade::warning, 1, kNow)});
    s.alarms = worst_alarms(alarms, 1);
    s.alarms_total = 2;
    const std::string html = render_status_page(s);
    EXPECT_NE(html.find("and 1 more, less severe"), std::string::npos);
    EXPECT_NE(html.find("Waiting for the first results"), std::string::npos);
}

TEST(StatusPageHtml, RecordStatesPanelOnlyWhenATargetHasStates) {
    StatusSnapshot s;
    s.now = kNow;
    EXPECT_EQ(render_status_page(s).find("Record states"), std::string::npos);
    s.state_rows.push_back({7, "mail<domain>", "example.com", {{"spf", Grade::critical}, {"dkim:<s1>", Grade::ok}}});
    const std::string html = render_status_page(s);
    EXPECT_NE(html.find("<h2>Record states</h2>"), std::string::npos);
    EXPECT_NE(html.find("<a href=\"/status/target/7\">mail&lt;domain&gt;</a>"), std::string::npos);
    EXPECT_NE(html.find("<span class=\"state\">spf <span class=\"badge critical\">"), std::string::npos);
    EXPECT_NE(html.find("dkim:&lt;s1&gt; <span class=\"badge ok\">"), std::string::npos) << html;
}

TEST(TargetFilterQuery, ParsesDecodesAndNamesBadParameters) {
    auto filter = parse_target_filter("zone=zone%2Da&role=mta&grade=critical&check=smtp+tls&id=4");
    ASSERT_TRUE(filter) << filter.error();
    EXPECT_EQ(filter->zone, "zone-a");
    EXPECT_EQ(filter->role, "mta");
    EXPECT_EQ(filter->grade, "critical");
    EXPECT_EQ(filter->check, "smtp tls");
    EXPECT_EQ(filter->id, 4u);
    EXPECT_TRUE(parse_target_filter(""));
    EXPECT_TRUE(parse_target_filter("&&zone=a&"));

    const auto refused = [](std::string_view query) {
        const auto parsed = parse_target_filter(query);
        return parsed ? std::string("(accepted)") : parsed.error();
    };
    EXPECT_NE(refused("colour=red").find("'colour'"), std::string::npos) << refused("colour=red");
    EXPECT_NE(refused("grade=bad").find("'bad' is not ok, warning, critical or pending"),
              std::string::npos)
        << refused("grade=bad");
    EXPECT_NE(refused("zone=%4").find("'zone': malformed"), std::string::npos) << refused("zone=%4");
    EXPECT_NE(refused("zone=%zz").find("'zone': malformed"), std::string::npos);
    EXPECT_NE(refused("id=7x").find("'id'"), std::string::npos) << refused("id=7x");
}

TEST(TargetFilterQuery, MatchesOnLabelsAndGrade) {
    HostileTarget t("");
    EXPECT_TRUE(parse_target_filter("zone=zone&role=role&check=check")
                    ->matches(t.target, "critical"));
    EXPECT_FALSE(parse_target_filter("zone=other")->matches(t.target, "critical"));
    EXPECT_FALSE(parse_target_filter("grade=ok")->matches(t.target, "critical"));
    EXPECT_FALSE(parse_target_filter("nlb=mail")->matches(t.target, "critical"));
    EXPECT_TRUE(parse_target_filter("id=7")->matches(t.target, "critical"));
    EXPECT_FALSE(parse_target_filter("id=8")->matches(t.target, "critical"));
}

TEST(ApiJson, TargetCarriesGradeLastResultCertificateAndHistory) {
    HostileTarget t("");
    const auto json = target_json(t.target, &t.grader, kNow);
    EXPECT_EQ(json.at("id").to_number<int>(), 7);
    EXPECT_EQ(json.at("node").as_string(), "node");
    EXPECT_EQ(json.at("zone").as_string(), "zone");
    EXPECT_EQ(json.at("grade").as_string(), "critical");
    EXPECT_EQ(json.at("why").as_string(), "bad_greeting: ");
    EXPECT_EQ(json.at("failures").as_uint64(), 1u);
    const auto& last = json.at("last").as_object();
    EXPECT_EQ(last.at("reason").as_string(), "bad_greeting");
    EXPECT_EQ(last.at("at").as_string(), "2026-11-23T02:29:59.000Z");
    EXPECT_EQ(last.at("tls").at("not_after").as_string(), "2026-11-28T02:30:00.000Z");
    EXPECT_DOUBLE_EQ(last.at("tls").at("days_left").as_double(), 5.0);
    EXPECT_EQ(last.at("tls").at("version").as_string(), "TLS 1.3");
    EXPECT_DOUBLE_EQ(last.at("phases").at("tls").as_double(), 0.004);
    const auto& history = json.at("history").as_array();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].at("result").as_string(), "bad_greeting");
    EXPECT_DOUBLE_EQ(history[0].at("duration_seconds").as_double(), 0.012);

    t.target.has_result = false;
    const auto pending = target_json(t.target, nullptr, kNow);
    EXPECT_EQ(pending.at("grade").as_string(), "pending");
    EXPECT_TRUE(pending.at("last").is_null());
}

TEST(ApiJson, AlarmCarriesStateAgeAndOnlyTheLabelsThatApply) {
    auto alarm = make_alarm("target/x", Grade::critical, 2, kNow - 90s, false, true);
    alarm.condition.labels.node = "mta1";
    alarm.condition.labels.check = "smtp";
    alarm.notified = {"oncall"};
    const auto json = alarm_json(alarm, kNow);
    EXPECT_EQ(json.at("state").as_string(), "silenced");
    EXPECT_EQ(json.at("age_seconds").as_int64(), 90);
    EXPECT_EQ(json.at("started").as_string(), "2026-11-23T02:28:30.000Z");
    EXPECT_EQ(json.at("tier").as_int64(), 2);
    EXPECT_EQ(boost::json::serialize(json.at("labels")), R"({"node":"mta1","check":"smtp"})");
    EXPECT_EQ(boost::json::serialize(json.at("notified")), R"(["oncall"])");
}

// The routes against an engine that was never started: no socket, no probe, an empty table.
class StatusRoutes : public ::testing::Test {
protected:
    StatusRoutes()
        : engine_(io_.get_executor(), std::make_shared<const Config>(parse_config(R"(
[daemon]
listen = "127.0.95.9:29479"  # never bound: the test calls the routes directly
[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "127.0.0.1"
[[check]]
name = "smtp"
protocol = "tcp"
port = 25
roles = ["mta"]
)",
                                                                                  "routes.toml"))) {
    }

    // Returns whether the status routes took the request.
    bool serve(boost::beast::http::verb method, std::string target) {
        HttpRequest request{method, target, 11};
        bool served = false;
        boost::asio::co_spawn(
            io_,
            [&]() -> boost::asio::awaitable<void> {
                served = co_await serve_status_routes(engine_, request, response_);
            },
            boost::asio::detached);
        io_.run();
        io_.restart();
        return served;
    }
    std::string header(boost::beast::http::field field) const {
        return std::string(response_[field]);
    }

    boost::asio::io_context io_;
    Engine engine_;
    HttpResponse response_;
};

TEST_F(StatusRoutes, PageIsSelfContainedHtmlThatForbidsScripts) {
    ASSERT_TRUE(serve(boost::beast::http::verb::get, "/status"));
    EXPECT_EQ(response_.result_int(), 200);
    EXPECT_EQ(header(boost::beast::http::field::content_type), "text/html; charset=utf-8");
    EXPECT_NE(std::string(response_["Content-Security-Policy"]).find("default-src 'none'"),
              std::string::npos);
    EXPECT_EQ(header(boost::beast::http::field::cache_control), "no-store");
    EXPECT_NE(response_.body().find("Waiting for the first results"), std::string::npos);
    // Rows and columns come from the configuration before any target exists.
    EXPECT_NE(response_.body().find("<th scope=\"row\">zone-a</th>"), std::string::npos);
    EXPECT_NE(response_.body().find("<th scope=\"col\">mta</th>"), std::string::npos);
}

TEST_F(StatusRoutes, UnknownTargetsAreNotFound) {
    ASSERT_TRUE(serve(boost::beast::http::verb::get, "/status/target/0"));
    EXPECT_EQ(response_.result_int(), 404);
    EXPECT_NE(response_.body().find("No target 0"), std::string::npos);
    ASSERT_TRUE(serve(boost::beast::http::verb::get, "/status/target/%3Cscript%3E"));
    EXPECT_EQ(response_.result_int(), 404);
    EXPECT_EQ(response_.body().find("<script"), std::string::npos);
}

TEST_F(StatusRoutes, ApiAnswersJsonAndNamesBadQueries) {
    for (const std::string path : {"/api/v1/targets", "/api/v1/alarms", "/api/v1/groups"}) {
        ASSERT_TRUE(serve(boost::beast::http::verb::get, path)) << path;
        EXPECT_EQ(response_.result_int(), 200) << path;
        EXPECT_EQ(header(boost::beast::http::field::content_type), "application/json");
        const auto document = boost::json::parse(response_.body()).as_object();
        EXPECT_EQ(document.at("count").to_number<int>(), 0) << path;
        EXPECT_TRUE(document.at("generated").is_string()) << path;
    }
    ASSERT_TRUE(serve(boost::beast::http::verb::get, "/api/v1/targets?zone=a&colour=red"));
    EXPECT_EQ(response_.result_int(), 400);
    EXPECT_NE(boost::json::parse(response_.body()).at("error").as_string().find("'colour'"),
              std::string::npos);
}

TEST_F(StatusRoutes, ReadOnlyAndOnlyItsOwnPaths) {
    ASSERT_TRUE(serve(boost::beast::http::verb::post, "/api/v1/targets"));
    EXPECT_EQ(response_.result_int(), 405);
    EXPECT_EQ(header(boost::beast::http::field::allow), "GET, HEAD");
    EXPECT_FALSE(serve(boost::beast::http::verb::get, "/metrics"));
    EXPECT_FALSE(serve(boost::beast::http::verb::post, "/api/v1/silences"));  // the write API's
    EXPECT_FALSE(serve(boost::beast::http::verb::get, "/statusx"));
}

}  // namespace
}  // namespace tierwatch

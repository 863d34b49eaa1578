// Unit tests for the pager kinds and the dispatcher: request bodies against each receiver's
// documented contract, a PagerDuty Events v2 endpoint on 127.0.0.1:0 that validates every
// request, retries and backoff in simulated time, hung receivers, and secrets kept out of sight.
#include "daemon/paging/pagers.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "config/config.hpp"
#include "daemon/clock/rfc3339.hpp"
#include "daemon/paging/dispatcher.hpp"
#include "daemon/paging/pager_email.hpp"
#include "probes/wire/mail_common.hpp"
#include "tests/support/fault_server.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/unit/paging_test_util.hpp"

namespace tierwatch {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::make_event;

constexpr std::string_view kRoutingKey = "R0UT1NGKEY0123456789abcdefABCDEF";  // 32 characters

// Secret files for the pagers under test, removed when the test binary exits.
fs::path temp_file(const std::string& name, std::string_view contents) {
    struct Cleanup {
        std::vector<fs::path> paths;
        ~Cleanup() {
            std::error_code ignored;
            for (const auto& path : paths) fs::remove(path, ignored);
        }
    };
    static Cleanup cleanup;
    const fs::path path =
        fs::temp_directory_path() / ("tierwatch-pagers-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path) << contents;
    cleanup.paths.push_back(path);
    return path;
}

PagerConfig pager_config(std::string name, PagerKind kind, std::string url) {
    PagerConfig config;
    config.name = std::move(name);
    config.kind = kind;
    config.url = std::move(url);
    if (kind == PagerKind::pagerduty)
        config.routing_key_file = temp_file("routing.key", std::string(kRoutingKey) + "\n");
    return config;
}

// ------------------------------------------------------------------------------------ sans-io

TEST(HttpUrl, ParsesSchemesPortsAndPaths) {
    auto url = HttpUrl::parse("https://events.pagerduty.com");
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->tls);
    EXPECT_EQ(url->host, "events.pagerduty.com");
    EXPECT_EQ(url->port, 443);
    EXPECT_EQ(url->path, "/");
    url = HttpUrl::parse("http://127.0.0.1:9093/am/");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->port, 9093);
    EXPECT_EQ(url->path, "/am/");
    url = HttpUrl::parse("http://[::1]:8080/hook");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->port, 8080);
    for (const char* bad :
         {"ftp://x", "http://", "http://h:0", "http://h:70000", "http://user@h/", "http://[::1"}) {
        EXPECT_FALSE(HttpUrl::parse(bad)) << bad;
    }
}

TEST(Backoff, DoublesUpToTheCapAndJitterOnlyShortens) {
    Backoff backoff{1000ms, 60000ms, 0.2};
    EXPECT_EQ(backoff.delay(1, 0.0), 1000ms);
    EXPECT_EQ(backoff.delay(2, 0.0), 2000ms);
    EXPECT_EQ(backoff.delay(6, 0.0), 32000ms);
    EXPECT_EQ(backoff.delay(7, 0.0), 60000ms);
    EXPECT_EQ(backoff.delay(500, 0.0), 60000ms);
    EXPECT_EQ(backoff.delay(1, 0.5), 900ms);
    EXPECT_EQ(backoff.delay(500, 0.999), 48012ms);
}

TEST(Backoff, PagerRetryKeysReplaceTheDefaultsAndKeepInitialUnderTheCap) {
    const Backoff defaults;
    PagerConfig scaled;
    scaled.retry_initial = 10ms;
    scaled.retry_max = 3s;
    const Backoff fast = pager_backoff(scaled, defaults);
    EXPECT_EQ(fast.initial, 10ms);
    EXPECT_EQ(fast.max, 3000ms);
    EXPECT_EQ(fast.delay(20, 0.0), 3000ms);

    PagerConfig capped;
    capped.retry_max = 500ms;
    const Backoff low = pager_backoff(capped, defaults);
    EXPECT_EQ(low.max, 500ms);
    EXPECT_EQ(low.initial, 500ms) << "the default 1s start would exceed the cap";

    const Backoff same = pager_backoff(PagerConfig{}, defaults);
    EXPECT_EQ(same.initial, defaults.initial);
    EXPECT_EQ(same.max, defaults.max);
}

TEST(Classify, RetriesTransientFailuresAndDropsRefusals) {
    EXPECT_EQ(status_failure(202), SendFailure::none);
    EXPECT_EQ(status_failure(429), SendFailure::http_429);
    EXPECT_EQ(status_failure(500), SendFailure::http_5xx);
    EXPECT_EQ(status_failure(503), SendFailure::http_5xx);
    EXPECT_EQ(status_failure(408), SendFailure::http_5xx);
    EXPECT_EQ(status_failure(400), SendFailure::http_4xx);
    EXPECT_EQ(status_failure(301), SendFailure::unexpected_status);
    EXPECT_EQ(classify({SendFailure::http_429, 429, "", {}}), Delivery::retry);
    EXPECT_EQ(classify({SendFailure::timeout, 0, "", {}}), Delivery::retry);
    EXPECT_EQ(classify({SendFailure::connect, 0, "", {}}), Delivery::retry);
    EXPECT_EQ(classify({SendFailure::http_4xx, 400, "", {}}), Delivery::drop);
    EXPECT_EQ(classify({SendFailure::none, 202, "", {}}), Delivery::accepted);
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
    EXPECT_EQ(format_rfc3339(TimePoint(std::chrono::milliseconds(1'790'000'000'123))),
              "2026-09-21T14:13:20.123Z");
    EXPECT_EQ(format_rfc3339(TimePoint{}), "1970-01-01T00:00:00.000Z");
}

TEST(Webhook, HmacMatchesRfc4231AndSignsTheExactBody) {
    EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    auto config = pager_config("noc", PagerKind::webhook, "http://127.0.0.1:1/hooks/tierwatch");
    config.secret_file = temp_file("hook.secret", "s3cret-value\n");
    const auto pager = make_pager(config, {});
    const auto request = pager->request(make_event(PageAction::resolve, "noc", "group/mta-pool"));
    EXPECT_EQ(request.target, "/hooks/tierwatch");
    std::string signature;
    for (const auto& [name, value] : request.headers) {
        if (name == "X-Tierwatch-Signature") signature = value;
    }
    EXPECT_EQ(signature, "sha256=" + hmac_sha256_hex("s3cret-value", request.body));
    const auto body = json::parse(request.body).as_object();
    EXPECT_EQ(body.at("version"), "1");
    EXPECT_EQ(body.at("action"), "resolve");
    EXPECT_EQ(body.at("status"), "resolved");
    EXPECT_EQ(body.at("dedup_key"), "group/mta-pool");
    EXPECT_EQ(body.at("alarm"), "group");
    EXPECT_EQ(body.at("severity"), "critical");
    EXPECT_EQ(body.at("tier"), 2);
    EXPECT_EQ(body.at("labels").as_object().at("zone"), "zone-a");
    EXPECT_FALSE(body.at("labels").as_object().contains("node"));
    EXPECT_EQ(body.at("starts_at"), "2026-09-21T14:13:20.000Z");
    EXPECT_EQ(body.size(), 12u);
    EXPECT_EQ(request.body.find("s3cret"), std::string::npos);
    EXPECT_EQ(pager->redact("echo s3cret-value back"), "echo <redacted> back");
}

TEST(Alertmanager, AlertCarriesLabelsAnnotationsAndEndsAtOnlyWhenResolved) {
    const auto pager =
        make_pager(pager_config("am", PagerKind::alertmanager, "http://127.0.0.1:9093"),
                   PagerOptions{.generator_url = "http://127.0.0.1:9469/status"});
    PageEvent event = make_event(PageAction::trigger, "am", "target/smtp@mta1/10.0.1.10");
    event.kind = AlarmKind::target;
    event.labels = {"mta1", "zone-a", "mta", "smtp", "", "10.0.1.10", ""};
    auto request = pager->request(event);
    EXPECT_EQ(request.target, "/api/v2/alerts");
    auto alerts = json::parse(request.body).as_array();
    ASSERT_EQ(alerts.size(), 1u);
    auto alert = alerts[0].as_object();
    const json::object labels = alert.at("labels").as_object();
    EXPECT_EQ(labels.at("alertname"), "tierwatch_target");
    EXPECT_EQ(labels.at("alarm"), "target");
    EXPECT_EQ(labels.at("severity"), "critical");
    EXPECT_EQ(labels.at("tier"), "2");
    EXPECT_EQ(labels.at("node"), "mta1");
    EXPECT_EQ(labels.at("zone"), "zone-a");
    EXPECT_EQ(labels.at("role"), "mta");
    EXPECT_EQ(labels.at("check"), "smtp");
    EXPECT_FALSE(labels.contains("nlb"));  // empty labels are left out
    EXPECT_EQ(alert.at("annotations").as_object().at("summary").as_string(), event.summary);
    EXPECT_TRUE(alert.at("annotations").as_object().contains("description"));
    EXPECT_EQ(alert.at("startsAt"), "2026-09-21T14:13:20.000Z");
    EXPECT_FALSE(alert.contains("endsAt"));
    EXPECT_EQ(alert.at("generatorURL"), "http://127.0.0.1:9469/status");
    EXPECT_EQ(pager->repost(), 60s);

    event.action = PageAction::resolve;
    alert = json::parse(pager->request(event).body).as_array()[0].as_object();
    EXPECT_EQ(alert.at("endsAt"), "2026-09-21T14:13:50.000Z");
    // Same labels, so Alertmanager resolves the same alert.
    EXPECT_EQ(json::serialize(alert.at("labels")), json::serialize(labels));
}

TEST(Alertmanager, AnUpdateEndsTheLabelSetTheReceiverWasToldInTheSamePost) {
    const auto pager =
        make_pager(pager_config("am", PagerKind::alertmanager, "http://127.0.0.1:9093"), {});
    PageEvent event = make_event(PageAction::repeat, "am", "tierwatch/group/mta-pool");
    // Told warning / tier 1 in zone-b (before a reload renamed the zone); now critical / tier 2.
    event.replaces = SentIdentity{Grade::warning, 1, event.labels};
    event.replaces->labels.zone = "zone-b";
    for (const PageAction action : {PageAction::repeat, PageAction::resolve}) {
        event.action = action;
        const auto alerts = json::parse(pager->request(event).body).as_array();
        ASSERT_EQ(alerts.size(), 2u) << to_string(action);
        const auto& ended = alerts[0].as_object();
        const auto& current = alerts[1].as_object();
        const auto& old_labels = ended.at("labels").as_object();
        EXPECT_EQ(old_labels.at("severity"), "warning");
        EXPECT_EQ(old_labels.at("tier"), "1");
        EXPECT_EQ(old_labels.at("zone"), "zone-b");
        EXPECT_EQ(old_labels.at("alarm_key").as_string(), event.dedup_key);
        EXPECT_EQ(old_labels.at("alertname"), "tierwatch_group");
        EXPECT_EQ(ended.at("endsAt").as_string(), format_rfc3339(event.at)) << "the old alert ends now";
        const auto& labels = current.at("labels").as_object();
        EXPECT_EQ(labels.at("severity"), "critical");
        EXPECT_EQ(labels.at("zone"), "zone-a");
        EXPECT_EQ(current.contains("endsAt"), action == PageAction::resolve) << to_string(action);
    }
    event.replaces.reset();
    EXPECT_EQ(json::parse(pager->request(event).body).as_array().size(), 1u);
}

// Two tierwatchd of an HA pair: each builds its pagers as the engine does, with its own listen
// address in the default generatorURL, and each has its own alarm book, the second one started
// seven minutes after the first while the alarm already fired.
struct Instance {
    Instance(const AlertingConfig& alerting, std::string_view listen)
        : book(alerting) {
        const PagerOptions options{.generator_url = "http://" + std::string(listen) + "/status"};
        for (const PagerConfig& config : alerting.pagers) pagers.push_back(make_pager(config, options));
    }
    json::value payload(const PageEvent& event) const {
        for (const auto& pager : pagers) {
            if (pager->name() == event.receiver) return json::parse(pager->request(event).body);
        }
        ADD_FAILURE() << "no pager " << event.receiver;
        return {};
    }
    AlarmBook book;
    std::vector<std::unique_ptr<Pager>> pagers;
};

TEST(HaPair, NoInstanceSpecificValueInWhatAnAlarmSends) {
    const Config config = parse_config(R"(
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
    const std::string key_file = temp_file("ha-routing-key", kRoutingKey).string();
    const AlertingConfig alerting = parse_alerting(toml::parse(R"(
[tiers]
settle = "0s"
[tiers.tier1]
receivers = ["am", "pd", "hook"]
[[pager]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9/"
[[pager]]
name = "pd"
kind = "pagerduty"
routing_key_file = ")" + key_file + R"("
[[pager]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
)", std::string_view("alerting.toml")), "alerting.toml", config);
    Instance first(alerting, "127.0.0.1:9105");
    Instance second(alerting, "127.0.0.2:9205");
    AlarmCondition down;
    down.kind = AlarmKind::target;
    down.key = alarm_key(AlarmKind::target, "smtp|node:mta1");
    down.severity = Grade::critical;
    down.summary = "smtp on mta1: connect_refused";
    down.labels = {"mta1", "", "mta", "smtp", "", "10.0.0.1", ""};
    const TimePoint start = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 3h;
    const auto fired_first = first.book.update({down}, start);
    const auto fired_second = second.book.update({down}, start + 7min);
    const auto resolved_first = first.book.update({}, start + 8min);
    const auto resolved_second = second.book.update({}, start + 8min);
    std::vector<std::pair<PageEvent, PageEvent>> pairs;
    for (const auto* events : {&fired_first, &fired_second, &resolved_first, &resolved_second})
        ASSERT_EQ(events->size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        pairs.emplace_back(fired_first[i], fired_second[i]);
        pairs.emplace_back(resolved_first[i], resolved_second[i]);
    }

    const auto text = [](const json::value& v) { return json::serialize(v); };
    for (const auto& [x_event, y_event] : pairs) {
        ASSERT_EQ(x_event.receiver, y_event.receiver);
        SCOPED_TRACE(x_event.receiver + " " + std::string(to_string(x_event.action)));
        const json::value x = first.payload(x_event);
        const json::value y = second.payload(y_event);
        if (x_event.receiver == "am") {
            const auto& ax = x.as_array().at(0).as_object();
            const auto& ay = y.as_array().at(0).as_object();
            EXPECT_EQ(text(ax.at("labels")), text(ay.at("labels"))) << "one alert, not two";
            EXPECT_EQ(text(ax.at("annotations")), text(ay.at("annotations")));
            EXPECT_NE(ax.at("generatorURL"), ay.at("generatorURL")) << "the listen-address default";
        } else if (x_event.receiver == "pd") {
            EXPECT_EQ(x.at("dedup_key"), y.at("dedup_key"));
            if (x_event.action != PageAction::resolve) {
                auto px = x.at("payload").as_object();
                auto py = y.at("payload").as_object();
                px.erase("timestamp");  // when each instance first saw it, as startsAt
                py.erase("timestamp");
                EXPECT_EQ(text(px), text(py));
            }
        } else {
            EXPECT_EQ(text(x.at("labels")), text(y.at("labels")));
            EXPECT_EQ(x.at("dedup_key"), y.at("dedup_key"));
            EXPECT_EQ(x.at("summary"), y.at("summary"));
        }
    }
    // With the pager's own generator_url (the README's advice for a pair), two instances that
    // saw the alarm start at the same moment send byte-identical Alertmanager posts, whatever
    // their listen addresses and start times.
    AlertingConfig shared = alerting;
    shared.pagers[0].alertmanager.generator_url = "https://tierwatch.example/status";
    Instance one(shared, "127.0.0.1:9105");
    Instance two(shared, "127.0.0.2:9205");
    for (const TimePoint at : {start, start + 1min}) {
        const auto fired_one = one.book.update({down}, at);
        const auto fired_two = two.book.update({down}, at);
        ASSERT_EQ(fired_one.size(), fired_two.size());
        for (std::size_t i = 0; i < fired_one.size(); ++i) {
            if (fired_one[i].receiver != "am") continue;
            EXPECT_EQ(one.pagers[0]->request(fired_one[i]).body,
                      two.pagers[0]->request(fired_two[i]).body);
        }
    }
}

TEST(PagerDuty, UnreadableRoutingKeyFileIsNamedButNeverRead) {
    auto config = pager_config("pd", PagerKind::pagerduty, "");
    config.routing_key_file = "/nonexistent/pagerduty.key";
    try {
        make_pager(config, {});
        FAIL() << "expected an error";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("/nonexistent/pagerduty.key"), std::string::npos);
    }
    // Without a url the real endpoint is the default; the tests never contact it.
    const auto pager = make_pager(pager_config("pd", PagerKind::pagerduty, ""), {});
    EXPECT_EQ(pager->url().host, "events.pagerduty.com");
    EXPECT_TRUE(pager->url().tls);
}

// ------------------------------------------------------------------------------------ PagerDuty
// endpoint

// Checks one request against the Events API v2 contract
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/); returns what is wrong.
std::vector<std::string> pagerduty_violations(const test::RecordedRequest& request) {
    std::vector<std::string> wrong;
    if (request.method != "POST") wrong.push_back("method " + request.method);
    if (request.target != "/v2/enqueue") wrong.push_back("path " + request.target);
    if (!request.content_type.starts_with("application/json"))
        wrong.push_back("content type " + request.content_type);
    boost::system::error_code ec;
    const json::value parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) return {"body is not a JSON object"};
    const auto& body = parsed.as_object();
    static const std::set<std::string> top{"routing_key", "event_action", "dedup_key",
                                           "payload",     "images",       "links",
                                           "client",      "client_url"};
    for (const auto& [key, value] : body) {
        if (!top.count(std::string(key))) wrong.push_back("unknown field " + std::string(key));
    }
    const auto string_field = [&](const json::object& o, const char* name,
                                  bool required) -> std::string {
        const auto* v = o.if_contains(name);
        if (v == nullptr) {
            if (required) wrong.push_back(std::string("missing ") + name);
            return {};
        }
        if (!v->is_string()) {
            wrong.push_back(std::string(name) + " is not a string");
            return {};
        }
        return std::string(v->as_string());
    };
    if (string_field(body, "routing_key", true).size() != 32)
        wrong.push_back("routing_key is not 32 characters");
    const std::string action = string_field(body, "event_action", true);
    if (action != "trigger" && action != "acknowledge" && action != "resolve")
        wrong.push_back("event_action " + action);
    const std::string dedup = string_field(body, "dedup_key", action != "trigger");
    if (dedup.size() > 255) wrong.push_back("dedup_key longer than 255");
    if (action == "trigger") {
        const auto* payload = body.if_contains("payload");
        if (payload == nullptr || !payload->is_object()) {
            wrong.push_back("trigger without payload object");
            return wrong;
        }
        const auto& p = payload->as_object();
        const std::string summary = string_field(p, "summary", true);
        if (summary.empty() || summary.size() > 1024) wrong.push_back("summary length");
        if (string_field(p, "source", true).empty()) wrong.push_back("empty source");
        const std::string severity = string_field(p, "severity", true);
        if (severity != "critical" && severity != "error" && severity != "warning" &&
            severity != "info") {
            wrong.push_back("severity " + severity);
        }
        static const std::regex iso8601(
            R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))");
        if (p.contains("timestamp") &&
            !std::regex_match(string_field(p, "timestamp", false), iso8601)) {
            wrong.push_back("timestamp not ISO 8601");
        }
        for (const char* optional : {"component", "group", "class"})
            string_field(p, optional, false);
        if (const auto* details = p.if_contains("custom_details");
            details && !details->is_object()) {
            wrong.push_back("custom_details is not an object");
        }
        static const std::set<std::string> fields{"summary",   "source",        "severity",
                                                  "timestamp", "component",     "group",
                                                  "class",     "custom_details"};
        for (const auto& [key, value] : p) {
            if (!fields.count(std::string(key)))
                wrong.push_back("unknown payload field " + std::string(key));
        }
    }
    return wrong;
}

// A PagerDuty stand-in: validates, then answers from a script (202 once the script runs out).
class PagerDutyEndpoint {
public:
    PagerDutyEndpoint()
        : server_([this](const test::RecordedRequest& request) {
              std::lock_guard lock(mutex_);
              for (auto& v : pagerduty_violations(request))
                  violations_.push_back(v + " in " + request.body);
              const auto body = json::parse(request.body).as_object();
              seen_.emplace_back(std::string(body.at("event_action").as_string()),
                                 std::string(body.at("dedup_key").as_string()));
              unsigned status = 202;
              if (fail_all_ != 0) {
                  status = fail_all_;
              } else if (!script_.empty()) {
                  status = script_.front();
                  script_.erase(script_.begin());
              }
              if (status == 202) {
                  accepted_.push_back(seen_.back());
                  return std::pair<unsigned, std::string>{
                      202, R"({"status":"success","message":"Event processed","dedup_key":")" +
                               seen_.back().second + "\"}"};
              }
              return std::pair<unsigned, std::string>{
                  status, R"({"status":"invalid event","message":"Event object is invalid"})"};
          }) {}

    std::string url() const { return server_.url(); }
    void script(std::vector<unsigned> statuses) {
        std::lock_guard lock(mutex_);
        script_ = std::move(statuses);
    }
    void fail_all(unsigned status) {
        std::lock_guard lock(mutex_);
        fail_all_ = status;
    }
    std::vector<std::pair<std::string, std::string>> accepted() const {
        std::lock_guard lock(mutex_);
        return accepted_;
    }
    std::size_t requests() const { return server_.count(); }
    std::vector<std::string> violations() const {
        std::lock_guard lock(mutex_);
        return violations_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<unsigned> script_;
    unsigned fail_all_ = 0;
    std::vector<std::pair<std::string, std::string>> seen_;  // action, dedup_key
    std::vector<std::pair<std::string, std::string>> accepted_;
    std::vector<std::string> violations_;
    test::RecordingServer server_;
};

// An outbox, a dispatcher on a simulated clock, and a log capture, for one test.
struct Harness {
    explicit Harness(std::vector<PagerConfig> pagers, Backoff backoff = {1000ms, 60000ms, 0.0})
        : dir(fs::temp_directory_path() / ("tierwatch-dispatch-" + std::to_string(::getpid()))),
          clock(io.get_executor()) {
        fs::remove_all(dir);
        outbox.emplace(dir, OutboxLimits{}, registry);
        alerting.pagers = std::move(pagers);
        DispatcherOptions options;
        options.backoff = backoff;
        options.clock = &clock;
        options.random = [] { return 0.0; };
        dispatcher.emplace(io.get_executor(), alerting, *outbox, registry, options);
        logger_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
        previous = spdlog::default_logger();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", logger_sink));
        dispatcher->start();
    }
    ~Harness() {
        dispatcher->stop();
        io.restart();
        io.poll();
        dispatcher.reset();
        spdlog::set_default_logger(previous);
        fs::remove_all(dir);
    }
    // Runs until `done`, advancing simulated time whenever the dispatcher only waits on it.
    bool run(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            io.restart();
            const auto handled = io.run_for(5ms);
            if (handled == 0) clock.advance_to_next();
        }
        return true;
    }
    double metric(const std::string& series) { return test::metric(registry, series).value_or(-1); }

    fs::path dir;
    boost::asio::io_context io;
    test::FakeClock clock;
    metrics::Registry registry;
    std::optional<Outbox> outbox;
    AlertingConfig alerting;
    std::optional<Dispatcher> dispatcher;
    std::ostringstream log;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> logger_sink;
    std::shared_ptr<spdlog::logger> previous;
};

TEST(PagerDutyContract, TriggerAndResolveMeetTheContractInOrder) {
    PagerDutyEndpoint endpoint;
    Harness h({pager_config("pd", PagerKind::pagerduty, endpoint.url())});
    PageEvent trigger = make_event(PageAction::trigger, "pd", "zone_down/zone-a");
    trigger.kind = AlarmKind::zone_down;
    trigger.summary = std::string(2000, 'z');  // longer than PagerDuty's 1024 limit
    h.dispatcher->submit({trigger, make_event(PageAction::repeat, "pd", "group/mta-pool"),
                          make_event(PageAction::resolve, "pd", "zone_down/zone-a")});
    // Wait for the dispatcher's count, not the endpoint's: the last answer may still be on its way.
    ASSERT_TRUE(h.run([&] { return h.metric("tierwatch_pages_sent_total{receiver=\"pd\"}") == 3; }));
    EXPECT_EQ(endpoint.violations(), std::vector<std::string>{});
    EXPECT_EQ(endpoint.accepted(),
              (std::vector<std::pair<std::string, std::string>>{{"trigger", "zone_down/zone-a"},
                                                                {"trigger", "group/mta-pool"},
                                                                {"resolve", "zone_down/zone-a"}}));
    EXPECT_TRUE(h.run([&] { return h.metric("tierwatch_pages_queued{receiver=\"pd\"}") == 0; }));
    EXPECT_EQ(h.metric("tierwatch_outbox_depth"), 0);
}

TEST(PagerDutyContract, RetriesTooManyRequestsAndServerErrorsWithBackoff) {
    PagerDutyEndpoint endpoint;
    endpoint.script({429, 500, 503});
    Harness h({pager_config("pd", PagerKind::pagerduty, endpoint.url())});
    h.dispatcher->submit(make_event(PageAction::trigger, "pd", "nlb_down/mail/192.0.2.1"));
    // The dispatcher's count, not the endpoint's: the success is logged and counted after it.
    ASSERT_TRUE(h.run([&] { return h.metric("tierwatch_pages_sent_total{receiver=\"pd\"}") == 1; }));
    EXPECT_EQ(endpoint.accepted().size(), 1u);
    EXPECT_EQ(endpoint.requests(), 4u);
    // The exact next interval each time: 1s, 2s, 4s (no jitter in this test).
    EXPECT_EQ(h.clock.requested, (std::vector<std::chrono::milliseconds>{1000ms, 2000ms, 4000ms}));
    EXPECT_EQ(h.metric("tierwatch_pages_failed_total{receiver=\"pd\",reason=\"http_429\"}"), 1);
    EXPECT_EQ(h.metric("tierwatch_pages_failed_total{receiver=\"pd\",reason=\"http_5xx\"}"), 2);
    EXPECT_NE(h.log.str().find("retrying"), std::string::npos);
    EXPECT_NE(h.log.str().find("accepting pages again"), std::string::npos);
}

TEST(PagerDutyContract, BadRequestIsDroppedWithAClearErrorAndTheNextPageStillGoes) {
    PagerDutyEndpoint endpoint;
    endpoint.script({400});
    Harness h({pager_config("pd", PagerKind::pagerduty, endpoint.url())});
    h.dispatcher->submit(
        {make_event(PageAction::trigger, "pd", "a"), make_event(PageAction::trigger, "pd", "b")});
    ASSERT_TRUE(h.run([&] { return endpoint.accepted().size() == 1; }));
    EXPECT_EQ(endpoint.accepted()[0].second, "b");
    EXPECT_TRUE(h.clock.requested.empty());  // no retry for a 400
    EXPECT_EQ(h.metric("tierwatch_pages_failed_total{receiver=\"pd\",reason=\"http_4xx\"}"), 1);
    const std::string log = h.log.str();
    EXPECT_NE(log.find("pager pd: trigger a dropped, the receiver refused it: HTTP 400"),
              std::string::npos)
        << log;
    // The routing key appears in no log line and no metric.
    std::string metrics;
    h.registry.render(metrics);
    EXPECT_EQ(log.find(kRoutingKey), std::string::npos);
    EXPECT_EQ(metrics.find(kRoutingKey), std::string::npos);
}

TEST(PagerDutyContract, TenMinutesOfServerErrorsThenEveryPageInOrder) {
    PagerDutyEndpoint endpoint;
    endpoint.fail_all(500);
    Harness h({pager_config("pd", PagerKind::pagerduty, endpoint.url())});
    const TimePoint start = h.clock.now();
    std::vector<std::pair<std::string, std::string>> expected;
    for (int i = 0; i < 5; ++i) {
        const std::string key = "target/smtp@mta" + std::to_string(i);
        h.dispatcher->submit(make_event(PageAction::trigger, "pd", key));
        expected.emplace_back("trigger", key);
    }
    h.dispatcher->submit(make_event(PageAction::resolve, "pd", "target/smtp@mta1"));
    expected.emplace_back("resolve", "target/smtp@mta1");
    ASSERT_TRUE(h.run([&] { return h.clock.now() - start >= std::chrono::minutes(10); }));
    EXPECT_TRUE(endpoint.accepted().empty());
    endpoint.fail_all(0);
    ASSERT_TRUE(h.run([&] { return endpoint.accepted().size() == expected.size(); }));
    EXPECT_EQ(endpoint.accepted(), expected);
    // Capped: no wait exceeded the one-minute cap of this harness.
    for (const auto d : h.clock.requested) EXPECT_LE(d, 60000ms);
    EXPECT_GE(h.metric("tierwatch_pages_failed_total{receiver=\"pd\",reason=\"http_5xx\"}"), 10);
    EXPECT_EQ(endpoint.violations(), std::vector<std::string>{});
}

TEST(Dispatcher, AHungReceiverDelaysNobodyElseAndTimesOut) {
    test::FaultServer hung({.behaviour = test::Behaviour::silent});
    PagerDutyEndpoint endpoint;
    auto slow = pager_config("hung", PagerKind::webhook,
                             "http://127.0.0.1:" + std::to_string(hung.port()) + "/");
    slow.timeout = std::chrono::seconds(2);  // far longer than the other delivery, even on a loaded machine
    Harness h({slow, pager_config("pd", PagerKind::pagerduty, endpoint.url())});
    h.dispatcher->submit(
        {make_event(PageAction::trigger, "hung", "a"), make_event(PageAction::trigger, "pd", "a")});
    ASSERT_TRUE(test::run_until(h.io, [&] { return endpoint.accepted().size() == 1; }));
    // Delivered while the hung receiver was still waiting for its deadline.
    EXPECT_EQ(h.metric("tierwatch_pages_failed_total{receiver=\"hung\",reason=\"timeout\"}"), 0);
    ASSERT_TRUE(test::run_until(h.io, [&] {
        return h.metric("tierwatch_pages_failed_total{receiver=\"hung\",reason=\"timeout\"}") == 1;
    }));
    EXPECT_EQ(h.metric("tierwatch_pages_queued{receiver=\"hung\"}"), 1);  // kept for the retry
}

// HTTPS receivers: the chain and the address are verified before the page is sent.
TEST(Dispatcher, HttpsReceiverIsVerifiedBeforeThePageGoesOut) {
    const fs::path pki_dir =
        fs::temp_directory_path() / ("tierwatch-pagers-pki-" + std::to_string(::getpid()));
    const auto pki = test::make_pki(pki_dir);
    test::FaultServer good(
        {.behaviour = test::Behaviour::https, .certificate = pki.good, .http = {.status = 200}});
    test::FaultServer expired(
        {.behaviour = test::Behaviour::https, .certificate = pki.expired, .http = {.status = 200}});
    auto trusted = pager_config("good", PagerKind::webhook,
                                "https://127.0.0.1:" + std::to_string(good.port()) + "/hook");
    trusted.ca_file = pki.root_ca;
    auto stale = pager_config("stale", PagerKind::webhook,
                              "https://127.0.0.1:" + std::to_string(expired.port()) + "/hook");
    stale.ca_file = pki.root_ca;
    Harness h({trusted, stale});
    h.dispatcher->submit({make_event(PageAction::trigger, "good", "a"),
                          make_event(PageAction::trigger, "stale", "a")});
    ASSERT_TRUE(test::run_until(h.io, [&] {
        return h.metric("tierwatch_pages_sent_total{receiver=\"good\"}") == 1 &&
               h.metric("tierwatch_pages_failed_total{receiver=\"stale\",reason=\"tls\"}") == 1;
    }));
    EXPECT_EQ(good.request_lines(), std::vector<std::string>{"POST /hook HTTP/1.1"});
    EXPECT_TRUE(expired.request_lines().empty()) << "nothing is sent to an unverified receiver";
    EXPECT_NE(h.log.str().find("certificate"), std::string::npos) << h.log.str();
    fs::remove_all(pki_dir);
}

TEST(Dispatcher, UnknownReceiversAreRefusedWithAMetric) {
    Harness h({});
    h.dispatcher->submit(make_event(PageAction::trigger, "nobody", "a"));
    EXPECT_EQ(
        h.metric("tierwatch_pages_failed_total{receiver=\"nobody\",reason=\"unknown_receiver\"}"),
        1);
    EXPECT_EQ(h.outbox->queue().size(), 0u);
}

TEST(Dispatcher, AlertmanagerFiringAlarmsArePostedAgainUntilResolved) {
    std::atomic<int> posts{0};
    std::atomic<int> resolves{0};
    test::RecordingServer am([&](const test::RecordedRequest& request) {
        const auto alert = json::parse(request.body).as_array()[0].as_object();
        (alert.contains("endsAt") ? resolves : posts) += 1;
        return std::pair<unsigned, std::string>{200, ""};
    });
    auto config = pager_config("am", PagerKind::alertmanager, am.url());
    config.alertmanager.repost = 30s;
    Harness h({config});
    h.dispatcher->submit(make_event(PageAction::trigger, "am", "zone_down/zone-a"));
    ASSERT_TRUE(h.run([&] { return posts == 3; }));
    EXPECT_EQ(h.clock.requested.front(), 30000ms);
    h.dispatcher->submit(make_event(PageAction::resolve, "am", "zone_down/zone-a"));
    ASSERT_TRUE(test::run_until(h.io, [&] { return resolves == 1; }));
    // Re-posts are memory-only: nothing of them is left on disk for a restart.
    const int before = posts;
    for (int i = 0; i < 3; ++i) {
        h.clock.advance_to_next();
        h.io.restart();
        h.io.run_for(20ms);
    }
    EXPECT_EQ(posts, before);
}

// ------------------------------------------------------------------------------------ e-mail

TEST(Email, MessageIsDotStuffedAndHeadersCannotBeInjected) {
    PageEvent event = make_event(PageAction::resolve, "mail", "group/mta-pool",
                                 "pool back\r\nBcc: someone@example.com\n.hidden line");
    const std::string message =
        email_message(event, "tierwatch@example.com", {"a@example.com", "b@example.com"});
    EXPECT_TRUE(
        message.starts_with("From: tierwatch@example.com\r\nTo: a@example.com, b@example.com\r\n"));
    EXPECT_NE(message.find("Subject: [tierwatch] RESOLVED critical tier 2: pool back  Bcc: "
                           "someone@example.com .hidden line\r\n"),
              std::string::npos)
        << message;
    const std::string headers = message.substr(0, message.find("\r\n\r\n"));
    EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos);
    EXPECT_NE(message.find("\r\n..hidden line\r\n"), std::string::npos) << message;
    EXPECT_NE(message.find("X-Tierwatch-Dedup-Key: group/mta-pool\r\n"), std::string::npos);
    EXPECT_NE(message.find("References: <group.mta.pool@tierwatch.invalid>\r\n"),
              std::string::npos);
    EXPECT_TRUE(message.ends_with("\r\n.\r\n"));
    // Every line ends in CRLF: no bare LF reaches the relay.
    for (std::size_t at = message.find('\n'); at != std::string::npos;
         at = message.find('\n', at + 1)) {
        ASSERT_EQ(message[at - 1], '\r') << at;
    }
}

// A scripted SMTP relay on 127.0.0.1:0: STARTTLS with the test PKI, AUTH PLAIN, one connection
// at a time, recording every command and message.
class SmtpRelay {
public:
    SmtpRelay(const test::CertKeyPair& certificate, unsigned rcpt_status, unsigned auth_status = 235)
        : rcpt_status_(rcpt_status),
          auth_status_(auth_status),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        tls_.use_certificate_chain_file(certificate.cert_chain.string());
        tls_.use_private_key_file(certificate.key.string(), boost::asio::ssl::context::pem);
        thread_ = std::thread([this] { serve(); });
    }
    ~SmtpRelay() {
        stopping_ = true;
        boost::system::error_code ignored;
        // Wake the blocking accept with a connection of our own.
        boost::asio::ip::tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::vector<std::string> commands() const {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    std::vector<std::string> messages() const {
        std::lock_guard lock(mutex_);
        return messages_;
    }

private:
    void serve() {
        while (!stopping_) {
            boost::asio::ip::tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) return;
            try {
                converse(socket);
            } catch (const std::exception&) {
                // The client went away mid-dialogue: wait for the next one.
            }
        }
    }
    void converse(boost::asio::ip::tcp::socket& socket) {
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> tls(socket, tls_);
        bool secure = false;
        boost::asio::streambuf buffer;
        const auto send = [&](const std::string& text) {
            secure ? boost::asio::write(tls, boost::asio::buffer(text))
                   : boost::asio::write(socket, boost::asio::buffer(text));
        };
        const auto line = [&] {
            const std::size_t n = secure ? boost::asio::read_until(tls, buffer, "\r\n")
                                         : boost::asio::read_until(socket, buffer, "\r\n");
            std::string text(boost::asio::buffers_begin(buffer.data()),
                             boost::asio::buffers_begin(buffer.data()) + n - 2);
            buffer.consume(n);
            return text;
        };
        send("220 relay.test ESMTP\r\n");
        while (true) {
            const std::string command = line();
            {
                std::lock_guard lock(mutex_);
                commands_.push_back(command);
            }
            if (command.starts_with("EHLO")) {
                send(secure ? "250-relay.test\r\n250 AUTH PLAIN\r\n"
                            : "250-relay.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n");
            } else if (command == "STARTTLS") {
                send("220 2.0.0 ready\r\n");
                tls.handshake(boost::asio::ssl::stream_base::server);
                secure = true;
            } else if (command.starts_with("AUTH PLAIN")) {
                send(auth_status_ == 235 ? "235 2.7.0 ok\r\n"
                                         : std::to_string(auth_status_) + " 5.7.8 bad credentials\r\n");
            } else if (command.starts_with("MAIL FROM")) {
                send("250 2.1.0 ok\r\n");
            } else if (command.starts_with("RCPT TO")) {
                send(std::to_string(rcpt_status_) +
                     (rcpt_status_ == 250 ? " 2.1.5 ok\r\n" : " 5.1.1 no such user\r\n"));
            } else if (command == "DATA") {
                send("354 go ahead\r\n");
                std::string message;
                for (std::string text = line(); text != "."; text = line())
                    message += text + "\r\n";
                {
                    std::lock_guard lock(mutex_);
                    messages_.push_back(message);
                }
                send("250 2.0.0 queued\r\n");
            } else if (command == "QUIT") {
                send("221 bye\r\n");
                return;
            } else {
                send("500 what\r\n");
            }
        }
    }

    unsigned rcpt_status_;
    unsigned auth_status_;
    boost::asio::io_context io_;
    boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_server};
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::vector<std::string> commands_;
    std::vector<std::string> messages_;
    std::thread thread_;
};

struct EmailFixture {
    EmailFixture()
        : pki_dir(fs::temp_directory_path() /
                  ("tierwatch-email-pki-" + std::to_string(::getpid()))),
          pki(test::make_pki(pki_dir)) {}
    ~EmailFixture() { fs::remove_all(pki_dir); }

    PagerConfig config(std::uint16_t port) const {
        auto config =
            pager_config("mail", PagerKind::email, "smtp://127.0.0.1:" + std::to_string(port));
        config.email.from = "tierwatch@example.com";
        config.email.to = {"oncall@example.com", "noc@example.com"};
        config.email.username = "pager";
        config.ca_file = pki.root_ca;
        config.secret_file = temp_file("smtp.password", "pa55word\n");
        return config;
    }

    fs::path pki_dir;
    test::Pki pki;
};

TEST(Email, DeliversThroughStartTlsWithAuthPlain) {
    EmailFixture fixture;
    SmtpRelay relay(fixture.pki.good, 250);
    Harness h({fixture.config(relay.port())});
    h.dispatcher->submit(make_event(PageAction::trigger, "mail", "group/mta-pool"));
    ASSERT_TRUE(test::run_until(h.io, [&] {
        return h.metric("tierwatch_pages_sent_total{receiver=\"mail\"}") == 1;
    })) << h.log.str();
    const auto commands = relay.commands();
    const std::vector<std::string> expected{"EHLO tierwatch.invalid",
                                            "STARTTLS",
                                            "EHLO tierwatch.invalid",
                                            "AUTH PLAIN " + sasl_plain("pager", "pa55word"),
                                            "MAIL FROM:<tierwatch@example.com>",
                                            "RCPT TO:<oncall@example.com>",
                                            "RCPT TO:<noc@example.com>",
                                            "DATA"};
    ASSERT_GE(commands.size(), expected.size());
    EXPECT_EQ(
        std::vector<std::string>(commands.begin(),
                                 commands.begin() + static_cast<std::ptrdiff_t>(expected.size())),
        expected);
    ASSERT_EQ(relay.messages().size(), 1u);
    EXPECT_NE(relay.messages()[0].find(
                  "Subject: [tierwatch] FIRING critical tier 2: MTA pool below quorum"),
              std::string::npos);
    EXPECT_EQ(h.log.str().find("pa55word"), std::string::npos);
}

TEST(Email, RejectedRecipientDropsThePageAndAnUntrustedRelayGetsNothing) {
    EmailFixture fixture;
    SmtpRelay rejecting(fixture.pki.good, 550);
    SmtpRelay untrusted(fixture.pki.self_signed, 250);
    auto second = fixture.config(untrusted.port());
    second.name = "mail2";
    Harness h({fixture.config(rejecting.port()), second});
    h.dispatcher->submit({make_event(PageAction::trigger, "mail", "a"),
                          make_event(PageAction::trigger, "mail2", "a")});
    ASSERT_TRUE(test::run_until(h.io, [&] {
        return h.metric(
                   "tierwatch_pages_failed_total{receiver=\"mail\",reason=\"smtp_rejected\"}") ==
                   1 &&
               h.metric("tierwatch_pages_failed_total{receiver=\"mail2\",reason=\"tls\"}") == 1;
    })) << h.log.str();
    EXPECT_EQ(h.outbox->queue().size("mail"), 0u);   // dropped
    EXPECT_EQ(h.outbox->queue().size("mail2"), 1u);  // kept for a retry
    EXPECT_NE(h.log.str().find("5.1.1 no such user"), std::string::npos) << h.log.str();
    for (const auto& command : untrusted.commands())
        EXPECT_FALSE(command.starts_with("AUTH")) << command;
    EXPECT_TRUE(untrusted.messages().empty());
}

// A refused login is the one SMTP 5xx that a fix on our side cures: the page waits for it.
TEST(Email, RefusedLoginKeepsThePageForARetry) {
    EmailFixture fixture;
    SmtpRelay relay(fixture.pki.good, 250, 535);
    Harness h({fixture.config(relay.port())});
    h.dispatcher->submit(make_event(PageAction::trigger, "mail", "a"));
    ASSERT_TRUE(test::run_until(h.io, [&] {
        return h.metric("tierwatch_pages_failed_total{receiver=\"mail\",reason=\"auth\"}") == 1;
    })) << h.log.str();
    EXPECT_EQ(h.outbox->queue().size("mail"), 1u);
    EXPECT_NE(h.log.str().find("5.7.8 bad credentials"), std::string::npos) << h.log.str();
    EXPECT_EQ(h.log.str().find("pa55word"), std::string::npos);
    EXPECT_TRUE(relay.messages().empty());
}

// Posts to a real Alertmanager when the integration test (test_paging_alertmanager.py) asks:
// TIERWATCH_ALERTMANAGER_URL, and TIERWATCH_ALERTMANAGER_PHASE "fire" or "resolve".
TEST(AlertmanagerLive, PostsAlarms) {
    const char* url = std::getenv("TIERWATCH_ALERTMANAGER_URL");
    if (url == nullptr) GTEST_SKIP() << "run by tests/integration/test_paging_alertmanager.py";
    const std::string phase = std::getenv("TIERWATCH_ALERTMANAGER_PHASE")
                                  ? std::getenv("TIERWATCH_ALERTMANAGER_PHASE")
                                  : "fire";
    boost::asio::io_context io;
    metrics::Registry registry;
    const fs::path dir = fs::temp_directory_path() / ("tierwatch-am-" + std::to_string(::getpid()));
    Outbox outbox(dir, {}, registry);
    AlertingConfig alerting;
    alerting.pagers.push_back(pager_config("alertmanager", PagerKind::alertmanager, url));
    DispatcherOptions options;
    options.pager.generator_url = "http://127.0.0.1:9469/status";
    Dispatcher dispatcher(io.get_executor(), alerting, outbox, registry, options);
    dispatcher.start();
    PageEvent zone = make_event(PageAction::trigger, "alertmanager", "zone_down/zone-a",
                                "every target in zone-a is down");
    zone.kind = AlarmKind::zone_down;
    zone.labels = {};
    zone.labels.zone = "zone-a";
    zone.starts_at = std::chrono::system_clock::now() - 1min;
    PageEvent nlb = make_event(PageAction::trigger, "alertmanager", "nlb_down/mail/127.0.64.9",
                               "NLB address 127.0.64.9 of mail fails every check");
    nlb.kind = AlarmKind::nlb_down;
    nlb.labels = {};
    nlb.labels.nlb = "mail";
    nlb.labels.address = "127.0.64.9";
    nlb.labels.check = "smtp";
    nlb.starts_at = zone.starts_at;
    if (phase == "resolve") {
        zone.action = PageAction::resolve;
        zone.at = std::chrono::system_clock::now();
        dispatcher.submit(zone);
    } else {
        dispatcher.submit({zone, nlb});
    }
    ASSERT_TRUE(test::run_until(
        io, [&] { return outbox.queue().size() == 0; }, 20s));
    EXPECT_EQ(
        test::metric(registry,
                     "tierwatch_pages_failed_total{receiver=\"alertmanager\",reason=\"http_4xx\"}"),
        0.0);
    dispatcher.stop();
    fs::remove_all(dir);
}

}  // namespace
}  // namespace tierwatch

// Characterisation of every operator-facing output of a probe's measurements: /metrics, the
// /api/v1 target JSON, the target page HTML, the grading text (`--once`) and the plugin line,
// rendered for one fixed set of results that covers each protocol's measurements (HTTP status,
// replication lags to two peers, round-trip delivery, certificate facts) and compared with golden
// text captured from the code before the measurement redesign. Operators must not notice it.
// TIERWATCH_UPDATE_GOLDEN=1 rewrites the goldens (review the diff: it is what operators see).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/alarms/grading.hpp"
#include "daemon/cli/plugin_check.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/metrics/probe_metrics.hpp"
#include "daemon/web/result_json.hpp"
#include "daemon/web/status_page.hpp"
#include "daemon/web/status_routes.hpp"
#include "probes/http/http.hpp"
#include "probes/registry/registry.hpp"
#include "probes/ldap/ldap_replication.hpp"
#include "probes/roundtrip/roundtrip.hpp"

namespace tierwatch {

// Friend of Engine and ProbeLoop: loads the table and records results without DNS or probes.
struct EngineTestAccess {
    static TargetTable& table(Engine& engine) { return engine.probe_loop_.table_; }
    static void load(Engine& engine) {
        ProbeLoop& loop = engine.probe_loop_;
        loop.table_.sync(expand_targets(*loop.config_, {}));
        loop.sync_rollup();
    }
    static void record(Engine& engine, std::uint32_t id, ProbeResult result) {
        ProbeLoop& loop = engine.probe_loop_;
        loop.record(loop.table_.at(id), std::move(result));
    }
};

namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint(std::chrono::sys_days(std::chrono::year{2026} / 11 / 23)) + 2h;

std::int64_t epoch_seconds(TimePoint at) {
    return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

std::shared_ptr<const CertificateFacts> certificate(std::chrono::hours left, std::string tls_version) {
    return std::make_shared<const CertificateFacts>(CertificateFacts{
        epoch_seconds(kNow + left), "CN=mail.example.test", "CN=Example CA",
        {"mail.example.test", "imap.example.test"}, std::move(tls_version), "TLS_AES_256_GCM_SHA384"});
}

// The lag of `node` behind each (peer, seconds), as ldap_replication reports it.
void add_lags(ProbeResult& result, std::initializer_list<std::pair<const char*, double>> lags) {
    for (const auto& [peer, seconds] : lags) {
        result.measurements.push_back({&ldap_replication_lag_measurement, seconds, peer});
    }
}

ProbeResult base_result(FailureReason reason, std::chrono::microseconds total) {
    ProbeResult result;
    result.reason = reason;
    result.total = total;
    result.add_phase(Phase::connect, total / 8);
    if (reason != FailureReason::none) result.detail = "detail of " + std::string(to_string(reason));
    return result;
}

std::filesystem::path golden_path(std::string_view name) {
    return std::filesystem::path(TIERWATCH_GOLDEN_DIR) / name;
}

// Compares `actual` with the golden file, or rewrites it under TIERWATCH_UPDATE_GOLDEN=1.
void expect_golden(std::string_view name, const std::string& actual) {
    const auto path = golden_path(name);
    if (std::getenv("TIERWATCH_UPDATE_GOLDEN") != nullptr) {
        std::ofstream(path, std::ios::binary) << actual;
        return;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path << " is missing (TIERWATCH_UPDATE_GOLDEN=1 writes it)";
    std::ostringstream expected;
    expected << in.rdbuf();
    EXPECT_EQ(actual, expected.str()) << "differs from " << path;
}

class OutputsGolden : public ::testing::Test {
protected:
    OutputsGolden()
        : dir_(std::filesystem::temp_directory_path() /
               ("outputs_golden_" + std::to_string(::getpid()))) {
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "probe.password") << "s3cret\n";
        std::ofstream(dir_ / "ldap.password") << "s3cret\n";
        config_ = std::make_shared<const Config>(parse_config(R"(
[daemon]
listen = "127.0.95.10:29480"  # never bound
state_dir = ")" + dir_.string() + R"("
[[node]]
name = "web1"
role = "web"
zone = "zone-a"
address = "10.0.0.1"
[[node]]
name = "web2"
role = "web"
zone = "zone-b"
address = "10.0.0.2"
[[node]]
name = "ldap1"
role = "ldap"
zone = "zone-a"
address = "10.0.1.1"
[[node]]
name = "ldap2"
role = "ldap"
zone = "zone-b"
address = "10.0.1.2"
[[node]]
name = "ldap3"
role = "ldap"
zone = "zone-c"
address = "10.0.1.3"
[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "10.0.2.1"
[[check]]
name = "https"
protocol = "https"
roles = ["web"]
path = "/health"
latency_warning = "100ms"
[[check]]
name = "ldap-replication"
protocol = "ldap_replication"
roles = ["ldap"]
bind_dn = "cn=probe,dc=example,dc=test"
password_file = "ldap.password"
search_base = "dc=example,dc=test"
lag_warning = "60s"
lag_critical = "5m"
[[check]]
name = "roundtrip"
protocol = "roundtrip"
roles = ["mta"]
submit = "smtp://10.0.2.1:587"
fetch = "imaps://10.0.2.1:993"
username = "probe@example.test"
password_file = "probe.password"
interval = "30s"
latency_warning = "5s"
latency_critical = "20s"
[[check]]
name = "smtp"
protocol = "smtp"
roles = ["mta"]
)",
                                                              dir_ / "golden.toml"));
    }
    ~OutputsGolden() override {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    // One fixed result per target, by check and node.
    ProbeResult result_for(const Target& target) const {
        const std::string& check = target.spec.check->name;
        const std::string& node = target.spec.node->name;
        if (check == "https" && node == "web1") {
            auto result = base_result(FailureReason::none, 42'500us);
            result.add_phase(Phase::tls, 20ms);
            result.add_phase(Phase::command, 7'250us);
            result.set(http_status_measurement, 200);
            result.certificate = certificate(24h * 10, "TLS 1.3");
            return result;
        }
        if (check == "https") {
            auto result = base_result(FailureReason::unexpected_status, 12ms);
            result.set(http_status_measurement, 503);
            result.certificate = certificate(24h * 90, "TLS 1.2");
            return result;
        }
        if (check == "ldap-replication" && node == "ldap1") {
            auto result = base_result(FailureReason::none, 8ms);
            add_lags(result, {{"ldap2", 0.5}, {"ldap3", 75.25}});
            return result;
        }
        if (check == "ldap-replication" && node == "ldap2") {
            auto result = base_result(FailureReason::none, 9ms);
            add_lags(result, {{"ldap1", 0}, {"ldap3", 400.125}});
            return result;
        }
        if (check == "ldap-replication") {  // one peer read before the other failed
            auto result = base_result(FailureReason::timeout, 5s);
            add_lags(result, {{"ldap1", 1.5}});
            return result;
        }
        if (check == "roundtrip") {
            auto result = base_result(FailureReason::none, 6'800ms);
            result.add_phase(Phase::auth, 300ms);
            result.set(roundtrip_delivery_measurement, std::chrono::duration<double>(6'543'210us).count());
            result.certificate = certificate(24h * 30, "TLS 1.3");
            return result;
        }
        return base_result(FailureReason::connect_refused, 1ms);
    }

    std::filesystem::path dir_;
    std::shared_ptr<const Config> config_;
};

TEST_F(OutputsGolden, Metrics) {
    boost::asio::io_context io;
    Engine engine(io.get_executor(), config_);
    EngineTestAccess::load(engine);
    auto& table = EngineTestAccess::table(engine);
    ASSERT_EQ(table.active_count(), 7u);
    for (std::uint32_t id = 0; id < table.size(); ++id) {
        EngineTestAccess::record(engine, id, result_for(table.at(id)));
    }
    std::string text;
    boost::asio::co_spawn(io, engine.render_metrics(text), boost::asio::detached);
    io.run();
    // The one sample that is the wall clock at construction.
    text = std::regex_replace(
        text, std::regex("(tierwatch_config_last_reload_success_timestamp_seconds) [0-9.e+]+"),
        "$1 NOW");
    expect_golden("metrics.txt", text);
}

// The same targets outside an engine, graded at kNow, with one history entry at kNow.
class OutputsGoldenTargets : public OutputsGolden {
protected:
    OutputsGoldenTargets() {
        table_.sync(expand_targets(*config_, {}));
        graders_.resize(table_.size());
        for (std::uint32_t id = 0; id < table_.size(); ++id) {
            Target& target = table_.at(id);
            target.last = result_for(target);
            target.has_result = true;
            target.probes = 1;
            target.failures = target.last.ok() ? 0 : 1;
            target.history.push(kNow - 1s, target.last);
            const Graded graded = grade_result(target.last, *target.spec.check, kNow);
            graders_[id].observe(graded, 1, 1, 1h, kNow - 1s);
        }
    }

    TargetTable table_;
    std::vector<TargetGrader> graders_;
};

TEST_F(OutputsGoldenTargets, ApiJson) {
    std::string text;
    for (std::uint32_t id = 0; id < table_.size(); ++id) {
        text += boost::json::serialize(target_json(table_.at(id), &graders_[id], kNow)) + "\n";
    }
    expect_golden("api_targets.jsonl", text);
}

TEST_F(OutputsGoldenTargets, TargetPages) {
    std::string text;
    for (std::uint32_t id = 0; id < table_.size(); ++id) {
        text += render_target_page(table_.at(id), &graders_[id], kNow, "golden") + "\n";
    }
    expect_golden("target_pages.html", text);
}

// Rendering in slices of one target yields the text of one pass, and a family per declared
// measurement kind is written (HELP and TYPE) even when no target has a value of it.
TEST_F(OutputsGoldenTargets, MetricsRendererSlicesAndEmptyFamilies) {
    Rollup rollup(*config_->alerting);
    std::string whole;
    ProbeMetricsRenderer one_pass(table_, rollup);
    EXPECT_FALSE(one_pass.render_slice(whole, 1'000'000));
    EXPECT_TRUE(one_pass.done());

    std::string sliced;
    ProbeMetricsRenderer by_one(table_, rollup);
    std::size_t slices = 1;
    while (by_one.render_slice(sliced, 1)) ++slices;
    EXPECT_EQ(sliced, whole);
    EXPECT_GE(slices, table_.size() * (6 + all_measurement_kinds().size()));

    TargetTable empty;
    std::string headers;
    ProbeMetricsRenderer none(empty, rollup);
    EXPECT_FALSE(none.render_slice(headers, 1));
    for (const MeasurementKind* kind : all_measurement_kinds()) {
        EXPECT_NE(headers.find("# HELP " + std::string(kind->metric) + " " + std::string(kind->help)),
                  std::string::npos)
            << kind->metric;
        EXPECT_NE(headers.find("# TYPE " + std::string(kind->metric) + " gauge"), std::string::npos)
            << kind->metric;
    }
    EXPECT_EQ(headers.find("\n" + std::string(all_measurement_kinds().front()->metric) + "{"),
              std::string::npos);  // headers only
}

// What --once prints per target: its grade and why, and the result's JSON fields.
TEST_F(OutputsGoldenTargets, OnceGradesAndResultJson) {
    std::string text;
    for (std::uint32_t id = 0; id < table_.size(); ++id) {
        const Target& target = table_.at(id);
        const Graded graded = grade_result(target.last, *target.spec.check, kNow);
        boost::json::object fields;
        append_result_json(fields, target.last);
        text += target.label + " " + std::string(to_string(graded.grade)) + " [" + graded.why +
                "] " + boost::json::serialize(fields) + "\n";
    }
    expect_golden("once.txt", text);
}

TEST_F(OutputsGoldenTargets, PluginLines) {
    std::string text;
    for (std::uint32_t id = 0; id < table_.size(); ++id) {
        const Target& target = table_.at(id);
        const PluginReport report =
            report_probe(PluginRequest{}, *target.spec.check, target.label, target.last, kNow);
        text += std::string(to_string(report.state)) + " " + report.line + "\n";
    }
    expect_golden("plugin.txt", text);
}

}  // namespace
}  // namespace tierwatch

namespace tierwatch {
namespace {

// Not a check but a figure: /metrics render time for 10,002 targets with every measurement kind,
// printed, never asserted (the machine is shared). Run with --gtest_also_run_disabled_tests.
TEST(MetricsRenderTime, DISABLED_TenThousandTargets) {
    constexpr int per_role = 3334;
    std::string text = "[daemon]\nlisten = \"127.0.95.10:29480\"\nstate_dir = \"" +
                       (std::filesystem::temp_directory_path() / "render_time").string() + "\"\n";
    for (int i = 0; i < per_role; ++i) {
        for (const char* role : {"web", "ldap", "mta"}) {
            text += "[[node]]\nname = \"" + std::string(role) + std::to_string(i) + "\"\nrole = \"" +
                    role + "\"\nzone = \"zone-" + std::to_string(i % 3) + "\"\naddress = \"10." +
                    std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1\"\n";
        }
    }
    text += R"(
[[check]]
name = "https"
protocol = "https"
roles = ["web"]
[[check]]
name = "ldap-replication"
protocol = "ldap_replication"
roles = ["ldap"]
[[check]]
name = "smtp"
protocol = "smtp"
roles = ["mta"]
)";
    boost::asio::io_context io;
    Engine engine(io.get_executor(), std::make_shared<const Config>(parse_config(text, "render.toml")));
    EngineTestAccess::load(engine);
    auto& table = EngineTestAccess::table(engine);
    ASSERT_EQ(table.active_count(), 3u * per_role);
    for (std::uint32_t id = 0; id < table.size(); ++id) {
        ProbeResult result = base_result(FailureReason::none, 20ms);
        const std::string& check = table.at(id).spec.check->name;
        if (check == "https") {
            result.set(http_status_measurement, 200);
            result.certificate = certificate(24h * 40, "TLS 1.3");
        } else if (check == "ldap-replication") {
            add_lags(result, {{"ldap1", 0.25}, {"ldap2", 1.5}});
        }
        EngineTestAccess::record(engine, id, std::move(result));
    }
    // CPU time as well as wall time: the machine is shared, and CPU time is what a scrape costs.
    const auto cpu_ms = [] {
        timespec now{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
        return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
    };
    std::vector<double> wall;
    std::vector<double> cpu;
    std::size_t bytes = 0;
    for (int run = 0; run < 15; ++run) {
        std::string out;
        const auto started = std::chrono::steady_clock::now();
        const double cpu_started = cpu_ms();
        boost::asio::co_spawn(io, engine.render_metrics(out), boost::asio::detached);
        io.run();
        io.restart();
        cpu.push_back(cpu_ms() - cpu_started);
        wall.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count());
        bytes = out.size();
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf("/metrics for %zu targets: %zu bytes; wall median %.2f ms, min %.2f ms; CPU median "
                "%.2f ms, min %.2f ms (15 renders)\n",
                table.active_count(), bytes, wall[7], wall[0], cpu[7], cpu[0]);
}

}  // namespace
}  // namespace tierwatch

// Exact-output tests for the Prometheus exposition module, checked against the real promtool.
#include "daemon/metrics/exposition.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// Counts heap allocations so a test can prove TextWriter makes none of its own. Not inlined:
// GCC would otherwise pair malloc/free with new/delete at call sites and warn of a mismatch.
static std::size_t allocation_count = 0;

[[gnu::noinline]] void* operator new(std::size_t size) {
    ++allocation_count;
    if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* memory) noexcept {
    std::free(memory);
}
[[gnu::noinline]] void operator delete(void* memory, std::size_t) noexcept {
    std::free(memory);
}

namespace tierwatch::metrics {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

struct Formatted {
    double value;
    const char* text;
};

TEST(AppendValue, FormatsLikePrometheusExpects) {
    const Formatted cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-1, "-1"},
        {0.5, "0.5"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {1e-9, "1e-09"},
        {123456789, "123456789"},
        {1e17, "100000000000000000"},              // integral: no exponent even where longer
        {9007199254740992.0, "9007199254740992"},  // 2^53
        {9007199254740993.0, "9007199254740992"},  // 2^53 + 1 is not a double
        {1e21, "1e+21"},                           // beyond int64: shortest round-trip, still exact
        {1.0 / 3, "0.3333333333333333"},
        {inf, "+Inf"},
        {-inf, "-Inf"},
        {nan, "NaN"},
    };
    for (const auto& [value, text] : cases) {
        std::string out = "x ";
        append_value(out, value);
        EXPECT_EQ(out, std::string("x ") + text) << "value " << value;
        if (std::isfinite(value)) {
            EXPECT_EQ(std::strtod(out.c_str() + 2, nullptr), value) << "must round-trip";
        }
    }
}

TEST(AppendBound, MatchesGoClientLeLabels) {
    // Expected strings are Go's strconv.FormatFloat(v, 'g', -1, 64).
    const Formatted cases[] = {
        {0.005, "0.005"},
        {0.01, "0.01"},
        {0.025, "0.025"},
        {0.5, "0.5"},
        {1, "1"},
        {2.5, "2.5"},
        {10, "10"},
        {0, "0"},
        {-1, "-1"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {100000, "100000"},
        {1e6, "1e+06"},
        {123456789, "1.23456789e+08"},
        {0.1 + 0.2, "0.30000000000000004"},
        {inf, "+Inf"},
        {-inf, "-Inf"},
    };
    for (const auto& [bound, text] : cases) {
        std::string out;
        append_bound(out, bound);
        EXPECT_EQ(out, text) << "bound " << bound;
    }
}

TEST(TextWriter, WritesFamilyHeaderAndSamples) {
    std::string out;
    TextWriter writer(out);
    writer.family("probe_success", "Whether the probe succeeded.", Type::gauge);
    writer.sample("probe_success", {}, 1);
    writer.sample("probe_success", {{"target", "mx1"}, {"check", "smtp"}}, 0);
    EXPECT_EQ(out,
              "# HELP probe_success Whether the probe succeeded.\n"
              "# TYPE probe_success gauge\n"
              "probe_success 1\n"
              "probe_success{target=\"mx1\",check=\"smtp\"} 0\n");
}

TEST(TextWriter, EscapesHelpAndLabelValues) {
    std::string out;
    TextWriter writer(out);
    // HELP escapes only backslash and newline; a quote stays as it is.
    writer.family("odd", "a \\ b\nc \"d\"", Type::counter);
    writer.sample("odd", {{"v", "C:\\mail\n\"q\""}, {"w", ""}}, 2);
    EXPECT_EQ(out,
              "# HELP odd a \\\\ b\\nc \"d\"\n"
              "# TYPE odd counter\n"
              "odd{v=\"C:\\\\mail\\n\\\"q\\\"\",w=\"\"} 2\n");
}

TEST(TextWriter, AllocatesNothingOnceTheBufferHasRoom) {
    const std::size_t at_start = allocation_count;
    std::string out;
    out.reserve(1 << 20);
    Histogram histogram({0.005, 0.5, 1, 2.5, 10});
    histogram.observe(0.7);
    ASSERT_GT(allocation_count, at_start) << "the counter must see ordinary allocations";
    const Label labels[] = {{"target", "mx\"1\"\\a\nb"}, {"check", "smtp"}};
    const std::size_t before = allocation_count;
    TextWriter writer(out);
    writer.family("probe_duration_seconds", "Probe\nduration.", Type::histogram);
    for (int i = 0; i < 1000; ++i) {
        writer.sample("probe_success", labels, i * 0.1);
        histogram.write(writer, "probe_duration_seconds", labels);
    }
    EXPECT_EQ(allocation_count - before, 0u);
    EXPECT_LT(out.size(), out.capacity());
}

TEST(TextWriter, AppendsToExistingBuffer) {
    std::string out = "kept\n";
    TextWriter(out).sample("x", {}, 3);
    EXPECT_EQ(out, "kept\nx 3\n");
}

TEST(Family, UnlabelledCounterIsRenderedBeforeFirstUse) {
    Registry registry;
    registry.counter("tierwatch_reloads_total", "Configuration reloads.");
    std::string out;
    registry.render(out);
    EXPECT_EQ(out,
              "# HELP tierwatch_reloads_total Configuration reloads.\n"
              "# TYPE tierwatch_reloads_total counter\n"
              "tierwatch_reloads_total 0\n");
}

TEST(Registry, RegisteringAgainReturnsTheSameFamilyAndKeepsItsCounts) {
    Registry registry;
    auto& sent = registry.counter("tierwatch_pages_sent_total", "Pages accepted.", {"receiver"});
    sent.with({"oncall"}).inc(3);
    // A reload rebuilds the dispatcher, which registers its families again.
    auto& again = registry.counter("tierwatch_pages_sent_total", "Pages accepted.", {"receiver"});
    EXPECT_EQ(&again, &sent);
    std::string out;
    registry.render(out);
    EXPECT_NE(out.find("tierwatch_pages_sent_total{receiver=\"oncall\"} 3\n"), std::string::npos) << out;
    EXPECT_THROW(registry.gauge("tierwatch_pages_sent_total", "Pages.", {"receiver"}), std::invalid_argument);
    EXPECT_THROW(registry.counter("tierwatch_pages_sent_total", "Pages.", {"pager"}), std::invalid_argument);
}

TEST(Family, UnlabelledFamilyHasExactlyOneChild) {
    Family<Gauge> family("up_targets", "Targets up.", {});
    family.with({}).set(4);
    family.with({}).inc();
    std::string out;
    TextWriter writer(out);
    family.write(writer);
    EXPECT_EQ(out, "# HELP up_targets Targets up.\n# TYPE up_targets gauge\nup_targets 5\n");
}

TEST(Family, ChildrenAreSortedByLabelValuesAndStable) {
    Family<Counter> family("pages_total", "Pages sent.", {"tier", "receiver"});
    Counter& tier3 = family.with({"3", "pagerduty"});
    family.with({"2", "webhook"}).inc(2);
    family.with({"2", "alertmanager"}).inc();
    tier3.inc(0.5);
    EXPECT_EQ(&tier3, &family.with({"3", "pagerduty"}));
    std::string out;
    TextWriter writer(out);
    family.write(writer);
    EXPECT_EQ(out,
              "# HELP pages_total Pages sent.\n"
              "# TYPE pages_total counter\n"
              "pages_total{tier=\"2\",receiver=\"alertmanager\"} 1\n"
              "pages_total{tier=\"2\",receiver=\"webhook\"} 2\n"
              "pages_total{tier=\"3\",receiver=\"pagerduty\"} 0.5\n");
}

TEST(Family, LabelledFamilyWithoutChildrenWritesOnlyItsHeader) {
    Family<Gauge> family("alarms", "Open alarms.", {"tier"});
    std::string out;
    TextWriter writer(out);
    family.write(writer);
    EXPECT_EQ(out, "# HELP alarms Open alarms.\n# TYPE alarms gauge\n");
}

TEST(Family, RejectsWrongNumberOfLabelValues) {
    Family<Counter> family("errors_total", "Errors.", {"reason"});
    EXPECT_THROW(family.with({}), std::invalid_argument);
    EXPECT_THROW(family.with({"a", "b"}), std::invalid_argument);
}

TEST(Histogram, CountsAreCumulativeAndBoundsInclusive) {
    Histogram histogram({0.005, 0.5, 1, 2.5, 10});
    for (double value : {0.001, 0.005, 0.5, 0.7, 1.0, 3.0, 10.0, 11.0}) histogram.observe(value);
    EXPECT_EQ(histogram.bucket_counts(), (std::vector<std::uint64_t>{2, 1, 2, 0, 2, 1}));
    EXPECT_EQ(histogram.count(), 8u);
    EXPECT_DOUBLE_EQ(histogram.sum(), 26.206);

    std::string out;
    TextWriter writer(out);
    const Label labels[] = {{"check", "imap"}};
    histogram.write(writer, "probe_duration_seconds", labels);
    std::string expected =
        "probe_duration_seconds_bucket{check=\"imap\",le=\"0.005\"} 2\n"
        "probe_duration_seconds_bucket{check=\"imap\",le=\"0.5\"} 3\n"
        "probe_duration_seconds_bucket{check=\"imap\",le=\"1\"} 5\n"
        "probe_duration_seconds_bucket{check=\"imap\",le=\"2.5\"} 5\n"
        "probe_duration_seconds_bucket{check=\"imap\",le=\"10\"} 7\n"
        "probe_duration_seconds_bucket{check=\"imap\",le=\"+Inf\"} 8\n"
        "probe_duration_seconds_sum{check=\"imap\"} ";
    append_value(expected, histogram.sum());
    expected += "\nprobe_duration_seconds_count{check=\"imap\"} 8\n";
    EXPECT_EQ(out, expected);
}

TEST(Histogram, UnlabelledFamilyRendersEmptyBucketsBeforeFirstUse) {
    Registry registry;
    registry.histogram("tierwatch_scrape_seconds", "Scrape render time.", {0.25, 1e6});
    std::string out;
    registry.render(out);
    EXPECT_EQ(out,
              "# HELP tierwatch_scrape_seconds Scrape render time.\n"
              "# TYPE tierwatch_scrape_seconds histogram\n"
              "tierwatch_scrape_seconds_bucket{le=\"0.25\"} 0\n"
              "tierwatch_scrape_seconds_bucket{le=\"1e+06\"} 0\n"
              "tierwatch_scrape_seconds_bucket{le=\"+Inf\"} 0\n"
              "tierwatch_scrape_seconds_sum 0\n"
              "tierwatch_scrape_seconds_count 0\n");
}

TEST(Histogram, ExtremeObservations) {
    Histogram histogram({1, 2});
    histogram.observe(-inf);
    histogram.observe(inf);
    histogram.observe(nan);  // compares false with every bound: only +Inf holds it, as in Go
    EXPECT_EQ(histogram.bucket_counts(), (std::vector<std::uint64_t>{1, 0, 2}));
    EXPECT_EQ(histogram.count(), 3u);
    EXPECT_TRUE(std::isnan(histogram.sum()));
}

TEST(Histogram, ValidatesBounds) {
    EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({1, nan}), std::invalid_argument);
    EXPECT_EQ(Histogram({1, inf}).upper_bounds(), std::vector<double>{1});
    EXPECT_EQ(Histogram({}).bucket_counts().size(), 1u);
}

TEST(Histogram, ExponentialBuckets) {
    EXPECT_EQ(Histogram::exponential_buckets(0.001, 2, 4),
              (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
    EXPECT_THROW(Histogram::exponential_buckets(0, 2, 3), std::invalid_argument);
    EXPECT_THROW(Histogram::exponential_buckets(1, 1, 3), std::invalid_argument);
    EXPECT_THROW(Histogram::exponential_buckets(1, 2, 0), std::invalid_argument);
}

TEST(Registry, RendersFamiliesInRegistrationOrder) {
    Registry registry;
    registry.gauge("zeta", "Last letter.");
    registry.counter("alpha_total", "First letter.", {"x"}).with({"y"}).inc();
    std::string out;
    registry.render(out);
    EXPECT_EQ(out,
              "# HELP zeta Last letter.\n# TYPE zeta gauge\nzeta 0\n"
              "# HELP alpha_total First letter.\n# TYPE alpha_total counter\n"
              "alpha_total{x=\"y\"} 1\n");
}

TEST(Registry, RejectsDuplicateNames) {
    Registry registry;
    registry.counter("dup_total", "Once.");
    EXPECT_THROW(registry.gauge("dup_total", "Twice."), std::invalid_argument);
}

// A registry and per-target samples shaped like the daemon's /metrics, with every value kind
// and every character that needs escaping.
std::string representative_exposition() {
    Registry registry;
    registry.counter("tierwatch_config_reloads_total", "Configuration reloads.");
    auto& pages =
        registry.counter("tierwatch_pages_total",
                         "Pages sent, by tier and receiver.\nResends count.", {"tier", "receiver"});
    pages.with({"2", "alertmanager"}).inc(3);
    pages.with({"3", "pager \"duty\" \\ eu\nwest"}).inc();
    auto& grade = registry.gauge("tierwatch_target_grade", "Grade per target (C:\\ path).",
                                 {"target", "zone"});
    grade.with({"mx1.example.net", "a"}).set(2);
    grade.with({"mx2.example.net", "b"}).set(-inf);
    grade.with({"mx3.example.net", "c"}).set(nan);
    grade.with({"mx4.example.net", "d"}).set(1e21);
    grade.with({"mx5.example.net", "e"}).set(1e-9);
    registry.gauge("tierwatch_alarms", "Open alarms by tier.", {"tier"});
    auto& durations = registry.histogram("tierwatch_scrape_duration_seconds", "Scrape time.",
                                         Histogram::exponential_buckets(0.0001, 10, 8), {"path"});
    for (double value : {0.00005, 0.0001, 0.3, 2.0, 1e6})
        durations.with({"/metrics"}).observe(value);
    registry.histogram("tierwatch_render_seconds", "Render time.", {0.005, 0.5, 1, 2.5, 10});

    std::string out;
    registry.render(out);
    TextWriter writer(out);
    writer.family("probe_success", "Whether the probe succeeded.", Type::gauge);
    writer.sample("probe_success", {{"check", "smtp"}, {"target", "mx1:25"}}, 1);
    writer.sample("probe_success", {{"check", "imap"}, {"target", "a\"b\\c\nd"}}, 0);
    writer.family("probe_duration_seconds", "Probe duration.", Type::histogram);
    Histogram probe_durations({0.005, 0.5, 1, 2.5, 10});
    probe_durations.observe(0.5);
    probe_durations.observe(0.7);
    const Label labels[] = {{"check", "pop3"}};
    probe_durations.write(writer, "probe_duration_seconds", labels);
    return out;
}

struct CommandResult {
    int exit_status = -1;
    std::string output;  // stdout and stderr together
};

// Runs `promtool check metrics < file` and captures everything it says. Fails (not skips) when
// promtool is absent: a missing checker must not read as a passing exposition.
CommandResult promtool_check(const std::string& exposition) {
    const char* override = std::getenv("PROMTOOL");
    const std::string promtool = override != nullptr ? override : "/usr/bin/promtool";
    if (::access(promtool.c_str(), X_OK) != 0) {
        ADD_FAILURE() << promtool << " not found or not executable: install Debian's prometheus "
                      << "package (or set PROMTOOL) to validate the exposition format";
        return {};
    }
    const auto base = std::filesystem::temp_directory_path() /
                      ("metrics_test_" + std::to_string(::getpid()) + "_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    const auto input = base.string() + ".prom";
    const auto output = base.string() + ".out";
    std::ofstream(input, std::ios::binary) << exposition;
    const std::string command =
        "'" + promtool + "' check metrics < '" + input + "' > '" + output + "' 2>&1";
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ostringstream captured;
    captured << std::ifstream(output).rdbuf();
    result.output = captured.str();
    std::filesystem::remove(input);
    std::filesystem::remove(output);
    return result;
}

TEST(Promtool, AcceptsRepresentativeExpositionWithoutLint) {
    const std::string exposition = representative_exposition();
    const CommandResult result = promtool_check(exposition);
    EXPECT_EQ(result.exit_status, 0) << result.output << "\n--- exposition ---\n" << exposition;
    EXPECT_EQ(result.output, "") << "--- exposition ---\n" << exposition;
}

// Negative controls: the same check must be able to fail, or the test above proves nothing.
TEST(Promtool, RejectsBrokenExposition) {
    const CommandResult result =
        promtool_check("# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"b\nc\"} 1\n");
    EXPECT_NE(result.exit_status, 0) << result.output;
    EXPECT_NE(result.output, "");
}

TEST(Promtool, ReportsLintProblems) {
    const CommandResult result = promtool_check("# HELP x X.\n# TYPE x counter\nx 1\n");
    EXPECT_NE(result.exit_status, 0) << result.output;
    EXPECT_NE(result.output.find("_total"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace tierwatch::metrics

// The probe and fleet families of /metrics, rendered from the daemon's state without owning it:
// the per-target families (probe_*, one per declared measurement kind, the target grade) in
// slices the caller yields between, and the fleet families (groups, alarms, silences, counts).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/alarms/alarms.hpp"
#include "daemon/alarms/rollup.hpp"
#include "daemon/alarms/silences.hpp"
#include "daemon/metrics/exposition.hpp"
#include "daemon/scheduling/scheduler.hpp"
#include "daemon/scheduling/targets.hpp"

namespace tierwatch {

// Per check, in configuration order: probes finished by reason, TLS sessions resumed.
struct ProbeCounts {
    std::vector<std::array<std::uint64_t, failure_reason_count>> by_result;
    std::vector<std::uint64_t> tls_resumed;
};

// What the fleet families read; every reference must outlive the call.
struct FleetMetricsSource {
    const Config& config;
    const TargetTable& targets;
    const Rollup& rollup;
    const AlarmBook& alarms;
    const SilenceStore& silences;
    const ProbeCounts& counts;
    const Scheduler::Stats& scheduler;
    std::chrono::system_clock::time_point now;  // silences' state
};

// Groups, alarms by tier/severity/state, silences, escalations, probes by result, TLS
// resumptions, targets per check, and the scheduler's gauges.
void write_fleet_metrics(metrics::TextWriter& writer, const FleetMetricsSource& source);

// The per-target families, one family after the other, each over every active target with a
// result. The table is read live between slices (DNS may add targets meanwhile): keep the table
// and roll-up alive until done() and do not change them during a slice.
class ProbeMetricsRenderer {
public:
    ProbeMetricsRenderer(const TargetTable& targets, const Rollup& rollup);

    // Appends up to `targets` targets' worth of samples to `out`; false once everything is written.
    bool render_slice(std::string& out, std::size_t targets);
    bool done() const noexcept { return family_ >= family_count(); }

private:
    std::size_t family_count() const noexcept;
    void write_header(metrics::TextWriter& writer) const;
    void write_target(metrics::TextWriter& writer, const Target& target) const;

    const TargetTable& targets_;
    const Rollup& rollup_;
    std::span<const MeasurementKind* const> kinds_;  // every declared kind, registry order
    std::size_t family_ = 0;
    std::uint32_t next_ = 0;  // next target id of the current family
    bool header_written_ = false;
    mutable std::array<metrics::Label, 8> labels_{};
};

}  // namespace tierwatch

// /metrics families of probes and the fleet (see probe_metrics.hpp).
#include "daemon/metrics/probe_metrics.hpp"

#include <map>
#include <span>
#include <string_view>
#include <tuple>

#include "probes/registry/registry.hpp"

namespace tierwatch {

namespace {

using metrics::Label;
using metrics::Type;

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The fixed per-target families, in the order they are written; the measurement kinds' families
// come between failure/TLS facts and the grade.
enum class Fixed : std::uint8_t { success, duration, phases, failure, cert_expiry, tls_version };
constexpr std::size_t fixed_before = 6;  // families before the measurement kinds
constexpr std::size_t fixed_after = 1;   // tierwatch_target_grade

struct FamilyText {
    std::string_view name;
    std::string_view help;
};
constexpr std::array<FamilyText, fixed_before> fixed_families{{
    {"probe_success", "Whether the last probe of the target succeeded."},
    {"probe_duration_seconds", "Duration of the last probe, all phases."},
    {"probe_phase_duration_seconds", "Duration of each phase of the last probe."},
    {"probe_failure_info", "The reason the last probe failed (1 for the reason)."},
    {"probe_ssl_earliest_cert_expiry",
     "Earliest notAfter of the presented chain, seconds since the epoch."},
    {"probe_tls_version_info", "The TLS version of the last probe's handshake."},
}};
constexpr FamilyText grade_family{
    "tierwatch_target_grade", "Graded state of the target after rise/fall: 0 ok, 1 warning, 2 critical."};

// The target's identity labels, as views into its strings; returns how many.
std::size_t target_labels(const Target& target, std::span<Label> labels) {
    std::size_t count = 0;
    labels[count++] = {"check", target.spec.check->name};
    labels[count++] = {"target", target.label};
    if (target.spec.node) {
        labels[count++] = {"node", target.spec.node->name};
        labels[count++] = {"role", target.spec.node->role};
        labels[count++] = {"zone", target.spec.node->zone};
    } else {
        labels[count++] = {"nlb", target.spec.nlb->name};
    }
    return count;
}

}  // namespace

ProbeMetricsRenderer::ProbeMetricsRenderer(const TargetTable& targets, const Rollup& rollup)
    : targets_(targets), rollup_(rollup), kinds_(all_measurement_kinds()) {}

std::size_t ProbeMetricsRenderer::family_count() const noexcept {
    return fixed_before + kinds_.size() + fixed_after;
}

void ProbeMetricsRenderer::write_header(metrics::TextWriter& writer) const {
    const auto kinds = kinds_;
    if (family_ < fixed_before) {
        writer.family(fixed_families[family_].name, fixed_families[family_].help, Type::gauge);
    } else if (family_ < fixed_before + kinds.size()) {
        const MeasurementKind& kind = *kinds[family_ - fixed_before];
        writer.family(kind.metric, kind.help, Type::gauge);
    } else {
        writer.family(grade_family.name, grade_family.help, Type::gauge);
    }
}

void ProbeMetricsRenderer::write_target(metrics::TextWriter& writer, const Target& target) const {
    // Labels are built only for a target that has a sample in this family: most have none of
    // most measurement kinds.
    const ProbeResult& last = target.last;
    if (family_ >= fixed_before + kinds_.size()) {
        if (const auto* grader = rollup_.grader(target.id)) {
            const std::size_t n = target_labels(target, labels_);
            writer.sample(grade_family.name, {labels_.data(), n}, static_cast<double>(grader->grade()));
        }
        return;
    }
    if (family_ >= fixed_before) {
        const MeasurementKind* kind = kinds_[family_ - fixed_before];
        std::size_t n = 0;
        for (const auto& m : last.measurements) {
            if (m.kind != kind) continue;
            if (n == 0) n = target_labels(target, labels_);
            std::size_t count = n;
            if (!kind->label.empty()) labels_[count++] = {kind->label, m.label};
            writer.sample(kind->metric, {labels_.data(), count}, m.value);
        }
        return;
    }
    const auto fixed = static_cast<Fixed>(family_);
    if ((fixed == Fixed::failure && last.ok()) ||
        (fixed == Fixed::cert_expiry && (!last.certificate || last.certificate->earliest_not_after == 0)) ||
        (fixed == Fixed::tls_version && !last.certificate)) {
        return;
    }
    const std::size_t n = target_labels(target, labels_);
    const std::string_view name = fixed_families[family_].name;
    switch (fixed) {
        case Fixed::success:
            writer.sample(name, {labels_.data(), n}, last.ok() ? 1 : 0);
            break;
        case Fixed::duration:
            writer.sample(name, {labels_.data(), n}, seconds(last.total));
            break;
        case Fixed::phases:
            for (std::size_t p = 0; p < phase_count; ++p) {
                const auto phase = static_cast<Phase>(p);
                if (last.phase(phase).count() == 0 && phase != Phase::connect) continue;
                labels_[n] = {"phase", to_string(phase)};
                writer.sample(name, {labels_.data(), n + 1}, seconds(last.phase(phase)));
            }
            break;
        case Fixed::failure:
            labels_[n] = {"reason", to_string(last.reason)};
            writer.sample(name, {labels_.data(), n + 1}, 1);
            break;
        case Fixed::cert_expiry:
            writer.sample(name, {labels_.data(), n},
                          static_cast<double>(last.certificate->earliest_not_after));
            break;
        case Fixed::tls_version:
            labels_[n] = {"version", last.certificate->tls_version};
            writer.sample(name, {labels_.data(), n + 1}, 1);
            break;
    }
}

bool ProbeMetricsRenderer::render_slice(std::string& out, std::size_t targets) {
    metrics::TextWriter writer(out);
    std::size_t visited = 0;
    while (!done()) {
        if (!header_written_) {
            write_header(writer);
            header_written_ = true;
        }
        for (; next_ < targets_.size(); ++next_) {  // size re-read: DNS may add targets
            if (visited == targets) return true;
            ++visited;
            const Target& target = targets_.at(next_);
            if (target.active && target.has_result) write_target(writer, target);
        }
        ++family_;
        next_ = 0;
        header_written_ = false;
    }
    return false;
}

void write_fleet_metrics(metrics::TextWriter& writer, const FleetMetricsSource& source) {
    const Config& config = source.config;
    writer.family("tierwatch_group_grade", "Grade of each group, zone and NLB address roll-up.",
                  Type::gauge);
    for (const auto& group : source.rollup.groups()) {
        const std::string_view kind = group.kind == GroupKind::zone          ? "zone"
                                      : group.kind == GroupKind::nlb_address ? "nlb_address"
                                                                             : "group";
        writer.sample("tierwatch_group_grade", {{"group", group.name}, {"kind", kind}},
                      static_cast<double>(group.grade));
    }
    writer.family("tierwatch_group_members_up", "Members of each roll-up that are up.", Type::gauge);
    for (const auto& group : source.rollup.groups()) {
        writer.sample("tierwatch_group_members_up", {{"group", group.name}}, group.up);
    }

    // Firing alarms by tier, severity and whether they page (or why not).
    std::map<std::tuple<int, Grade, std::string_view>, int> alarm_counts;
    for (const auto& [key, alarm] : source.alarms.alarms()) {
        const auto& condition = alarm.condition;
        const std::string_view state = condition.suppressed    ? "suppressed"
                                       : condition.silenced    ? "silenced"
                                       : condition.maintenance ? "maintenance"
                                                               : "paging";
        ++alarm_counts[{alarm.tier, condition.severity, state}];
    }
    writer.family("tierwatch_alarms", "Firing alarms by tier, severity and state.", Type::gauge);
    for (const auto& [key, count] : alarm_counts) {
        const auto& [tier, severity, state] = key;
        const std::string tier_text = std::to_string(tier);
        writer.sample("tierwatch_alarms",
                      {{"tier", tier_text}, {"severity", to_string(severity)}, {"state", state}}, count);
    }

    std::map<std::string_view, int> silence_counts{{"active", 0}, {"pending", 0}, {"expired", 0}};
    for (const auto& silence : source.silences.silences()) ++silence_counts[silence.state(source.now)];
    writer.family("tierwatch_silences", "Silences in state_dir, by state.", Type::gauge);
    for (const auto& [state, count] : silence_counts) {
        writer.sample("tierwatch_silences", {{"state", state}}, count);
    }

    writer.family("tierwatch_escalations_total", "Critical alarms escalated to Tier III after tier3.after.",
                  Type::counter);
    writer.sample("tierwatch_escalations_total", {}, static_cast<double>(source.alarms.escalations()));

    writer.family("tierwatch_probes_total", "Probes finished, by check and result.", Type::counter);
    for (std::size_t c = 0; c < config.checks.size(); ++c) {
        for (const auto reason : all_failure_reasons()) {
            const auto value = source.counts.by_result[c][static_cast<std::size_t>(reason)];
            if (value == 0) continue;
            const std::string_view result = reason == FailureReason::none ? "success" : to_string(reason);
            writer.sample("tierwatch_probes_total", {{"check", config.checks[c].name}, {"result", result}},
                          static_cast<double>(value));
        }
    }
    writer.family("tierwatch_tls_resumed_total",
                  "Probes whose TLS handshake resumed a session (tls_resume), by check.",
                  Type::counter);
    for (std::size_t c = 0; c < config.checks.size(); ++c) {
        if (!config.checks[c].tls.resume) continue;
        writer.sample("tierwatch_tls_resumed_total", {{"check", config.checks[c].name}},
                      static_cast<double>(source.counts.tls_resumed[c]));
    }
    writer.family("tierwatch_targets", "Active targets per check.", Type::gauge);
    std::vector<std::uint32_t> per_check(config.checks.size(), 0);
    source.targets.for_each_active([&](const Target& t) {
        ++per_check[static_cast<std::size_t>(t.spec.check - config.checks.data())];
    });
    for (std::size_t c = 0; c < per_check.size(); ++c) {
        writer.sample("tierwatch_targets", {{"check", config.checks[c].name}}, per_check[c]);
    }
    const auto& stats = source.scheduler;
    writer.family("tierwatch_probes_in_flight", "Probes running now.", Type::gauge);
    writer.sample("tierwatch_probes_in_flight", {}, stats.in_flight);
    writer.family("tierwatch_probes_queued",
                  "Due probes waiting for the global or per-host in-flight limit.", Type::gauge);
    writer.sample("tierwatch_probes_queued", {}, static_cast<double>(stats.queued));
    writer.family("tierwatch_scheduler_skipped_slots_total",
                  "Slots skipped because the target was still running or waiting.", Type::counter);
    writer.sample("tierwatch_scheduler_skipped_slots_total", {},
                  static_cast<double>(stats.skipped_slots));
}

}  // namespace tierwatch

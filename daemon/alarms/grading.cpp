// Single-result grading (see grading.hpp).
#include "daemon/alarms/grading.hpp"

#include <algorithm>

namespace tierwatch {

std::string_view to_string(Grade grade) noexcept {
    switch (grade) {
        case Grade::ok: return "ok";
        case Grade::warning: return "warning";
        case Grade::critical: return "critical";
    }
    return "unknown";
}

Grade grade_of_state(double value) noexcept {
    return value > 1 ? Grade::critical : value > 0 ? Grade::warning : Grade::ok;
}

Graded grade_result(const ProbeResult& result, const Check& check,
                    std::chrono::system_clock::time_point now) {
    if (!result.ok()) {
        return {Grade::critical, GradeCause::failure,
                std::string(to_string(result.reason)) +
                    (result.detail.empty() ? "" : ": " + result.detail)};
    }
    Graded graded;
    auto raise = [&](Grade grade, GradeCause cause, std::string why) {
        if (grade > graded.grade) graded = {grade, cause, std::move(why)};
    };
    auto against = [&](std::string_view measured, Duration value, const MeasurementThresholds& bounds) {
        const std::string why = std::string(measured) + " " + format_duration(value);
        if (bounds.critical && value > *bounds.critical) {
            raise(Grade::critical, GradeCause::latency,
                  why + " above " + format_duration(*bounds.critical));
        } else if (bounds.warning && value > *bounds.warning) {
            raise(Grade::warning, GradeCause::latency,
                  why + " above " + format_duration(*bounds.warning));
        }
    };
    // The probe's duration, unless it measured the time that matters instead (a round trip's
    // delivery); then every graded kind in the order the prober measured them, by its largest value.
    const Measurement* instead = nullptr;
    for (const auto& m : result.measurements) {
        if (m.kind->replaces_latency) {
            instead = &m;
            break;
        }
    }
    const MeasurementThresholds latency_bounds{check.latency_warning, check.latency_critical};
    if (instead) {
        against(instead->kind->graded_as, measured_duration(instead->value),
                instead->kind->thresholds ? instead->kind->thresholds(check) : latency_bounds);
    } else {
        against("latency", std::chrono::duration_cast<Duration>(result.total), latency_bounds);
    }
    // A state measurement (a mail record's) is graded by its value; the first of the worst names
    // the grade, and the result's detail, which says what is wrong with each, completes the reason.
    const Measurement* worst_state = nullptr;
    for (const auto& m : result.measurements) {
        if (m.kind->unit == MeasurementUnit::state && m.value > 0 && (!worst_state || m.value > worst_state->value)) {
            worst_state = &m;
        }
    }
    if (worst_state) {
        const auto& m = *worst_state;
        raise(grade_of_state(m.value), GradeCause::failure,
              std::string(m.kind->graded_as) + " " + m.label + " " + std::string(state_word(m.value)) +
                  (result.detail.empty() ? "" : ": " + result.detail));
    }
    for (std::size_t i = 0; i < result.measurements.size(); ++i) {
        const MeasurementKind* kind = result.measurements[i].kind;
        if (kind->thresholds == nullptr || kind->replaces_latency) continue;
        bool first_of_kind = true;
        double largest = result.measurements[i].value;
        for (std::size_t j = 0; j < result.measurements.size(); ++j) {
            if (result.measurements[j].kind != kind) continue;
            if (j < i) first_of_kind = false;
            largest = std::max(largest, result.measurements[j].value);
        }
        if (first_of_kind) against(kind->graded_as, measured_duration(largest), kind->thresholds(check));
    }
    if (result.certificate && result.certificate->earliest_not_after > 0) {
        const auto expiry = std::chrono::system_clock::time_point(
            std::chrono::seconds(result.certificate->earliest_not_after));
        const auto left = std::chrono::duration_cast<Duration>(expiry - now);
        // Graded on every TLS probe: the text is built only when the certificate is due.
        if (left < check.cert_warning) {
            const auto days = std::chrono::duration_cast<std::chrono::hours>(left).count() / 24;
            raise(left < check.cert_critical ? Grade::critical : Grade::warning,
                  GradeCause::certificate,
                  "certificate expires in " + std::to_string(days) + " days");
        }
    }
    return graded;
}

}  // namespace tierwatch

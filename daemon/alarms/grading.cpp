// Single-result grading (see grading.hpp).
#include "daemon/alarms/grading.hpp"

namespace tierwatch {

std::string_view to_string(Grade grade) noexcept {
    switch (grade) {
        case Grade::ok: return "ok";
        case Grade::warning: return "warning";
        case Grade::critical: return "critical";
    }
    return "unknown";
}

Graded grade_result(const ProbeResult& result, const Check& check,
                    std::chrono::system_clock::time_point now) {
    if (!result.ok()) {
        return {Grade::critical, std::string(to_string(result.reason)) +
                                     (result.detail.empty() ? "" : ": " + result.detail)};
    }
    Graded graded;
    auto raise = [&](Grade grade, std::string why) {
        if (grade > graded.grade) graded = {grade, std::move(why)};
    };
    // A round trip is graded on its delivery time, every other probe on its duration.
    const auto latency = std::chrono::duration_cast<Duration>(result.delivery.value_or(result.total));
    const std::string measured = result.delivery ? "delivery " : "latency ";
    if (check.latency_critical && latency > *check.latency_critical) {
        raise(Grade::critical, measured + format_duration(latency) + " above " +
                                   format_duration(*check.latency_critical));
    } else if (check.latency_warning && latency > *check.latency_warning) {
        raise(Grade::warning, measured + format_duration(latency) + " above " +
                                  format_duration(*check.latency_warning));
    }
    if (const auto lag = result.max_replication_lag()) {
        const auto behind = Duration(static_cast<std::int64_t>(*lag * 1000));
        const std::string why = "replication lag " + format_duration(behind);
        if (check.ldap.lag_critical && behind > *check.ldap.lag_critical) {
            raise(Grade::critical, why + " above " + format_duration(*check.ldap.lag_critical));
        } else if (check.ldap.lag_warning && behind > *check.ldap.lag_warning) {
            raise(Grade::warning, why + " above " + format_duration(*check.ldap.lag_warning));
        }
    }
    if (result.certificate && result.certificate->earliest_not_after > 0) {
        const auto expiry = std::chrono::system_clock::time_point(
            std::chrono::seconds(result.certificate->earliest_not_after));
        const auto left = std::chrono::duration_cast<Duration>(expiry - now);
        // Graded on every TLS probe: the text is built only when the certificate is due.
        if (left < check.cert_warning) {
            const auto days = std::chrono::duration_cast<std::chrono::hours>(left).count() / 24;
            raise(left < check.cert_critical ? Grade::critical : Grade::warning,
                  "certificate expires in " + std::to_string(days) + " days");
        }
    }
    return graded;
}

}  // namespace tierwatch

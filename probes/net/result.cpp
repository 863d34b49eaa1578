// Names of failure reasons and phases, as they appear in metrics labels and output; measurement text.
#include "probes/net/result.hpp"

#include <algorithm>
#include <cstdio>

namespace tierwatch {

std::string_view state_word(double value) noexcept {
    if (value <= 0) return "ok";
    if (value <= 1) return "warning";
    return "critical";
}

std::string format_measurement(const Measurement& measurement) {
    if (measurement.kind->unit == MeasurementUnit::state) return std::string(state_word(measurement.value));
    if (measurement.kind->unit == MeasurementUnit::count) {
        return std::to_string(static_cast<std::int64_t>(measurement.value));
    }
    char text[48];
    std::snprintf(text, sizeof text, "%.1f s", measurement.value);
    return text;
}

std::string_view to_string(FailureReason reason) noexcept {
    switch (reason) {
        case FailureReason::none: return "none";
        case FailureReason::dns: return "dns";
        case FailureReason::connect_refused: return "connect_refused";
        case FailureReason::connect_timeout: return "connect_timeout";
        case FailureReason::connect_error: return "connect_error";
        case FailureReason::connection_reset: return "connection_reset";
        case FailureReason::tls_handshake: return "tls_handshake";
        case FailureReason::tls_verify: return "tls_verify";
        case FailureReason::cert_expired: return "cert_expired";
        case FailureReason::banner_timeout: return "banner_timeout";
        case FailureReason::bad_greeting: return "bad_greeting";
        case FailureReason::protocol: return "protocol";
        case FailureReason::auth: return "auth";
        case FailureReason::unexpected_status: return "unexpected_status";
        case FailureReason::body_mismatch: return "body_mismatch";
        case FailureReason::timeout: return "timeout";
        case FailureReason::listed: return "listed";
        case FailureReason::dnsbl_error: return "dnsbl_error";
        case FailureReason::no_ptr: return "no_ptr";
        case FailureReason::ptr_mismatch: return "ptr_mismatch";
        case FailureReason::hostname_mismatch: return "hostname_mismatch";
        case FailureReason::greeting_mismatch: return "greeting_mismatch";
        case FailureReason::tlsa_missing: return "tlsa_missing";
        case FailureReason::tlsa_mismatch: return "tlsa_mismatch";
        case FailureReason::dnssec: return "dnssec";
    }
    return "unknown";
}

const std::array<FailureReason, failure_reason_count>& all_failure_reasons() noexcept {
    static constexpr std::array<FailureReason, failure_reason_count> reasons = [] {
        std::array<FailureReason, failure_reason_count> r{};
        for (std::size_t i = 0; i < failure_reason_count; ++i) r[i] = static_cast<FailureReason>(i);
        return r;
    }();
    return reasons;
}

std::string_view to_string(Phase phase) noexcept {
    switch (phase) {
        case Phase::resolve: return "resolve";
        case Phase::connect: return "connect";
        case Phase::tls: return "tls";
        case Phase::greeting: return "greeting";
        case Phase::command: return "command";
        case Phase::auth: return "auth";
    }
    return "unknown";
}

}  // namespace tierwatch

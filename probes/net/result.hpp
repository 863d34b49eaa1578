// The outcome of one probe: success or one failure reason from a closed set, with phase timings,
// for TLS the certificate facts an operator needs to act on, and the prober's own measurements.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/net/measurement.hpp"
#include "probes/wire/printable.hpp"

namespace tierwatch {

// Closed set: every value maps to exactly one `reason` label of probe_failure_info.
enum class FailureReason : std::uint8_t {
    none,
    dns,
    connect_refused,
    connect_timeout,
    connect_error,     // other connect errors: unreachable network, no route
    connection_reset,  // the peer sent RST mid-dialogue
    tls_handshake,
    tls_verify,
    cert_expired,
    banner_timeout,
    bad_greeting,
    protocol,
    auth,
    unexpected_status,
    body_mismatch,
    timeout,
    // DNS reputation (dnsbl, fcrdns): what the lookups found, not how they failed.
    listed,             // a block list returned 127.0.0.x for the address
    dnsbl_error,        // a block list answered with an error code (127.255.255.252-255) or no rcode we read
    no_ptr,             // the address has no PTR record
    ptr_mismatch,       // no PTR name resolves back to the address
    hostname_mismatch,  // no PTR name is the expected host name (expect_hostname)
    greeting_mismatch,  // no PTR name is the host name the MTA's SMTP greeting announces
    // DANE (dane): the TLSA records against the chain presented after STARTTLS.
    tlsa_missing,   // no TLSA record at _port._tcp.host
    tlsa_mismatch,  // no usable TLSA record matches the presented chain: DANE senders refuse
    dnssec,         // require_dnssec and the TLSA answer was not validated (no AD bit)
};
inline constexpr std::size_t failure_reason_count = 25;

std::string_view to_string(FailureReason reason) noexcept;
// Every reason, in enum order (for metrics that must show each label).
const std::array<FailureReason, failure_reason_count>& all_failure_reasons() noexcept;

enum class Phase : std::uint8_t { resolve, connect, tls, greeting, command, auth };
inline constexpr std::size_t phase_count = 6;
std::string_view to_string(Phase phase) noexcept;

struct CertificateFacts {
    // Earliest notAfter of the presented chain, seconds since the epoch.
    std::int64_t earliest_not_after = 0;
    std::string subject;
    std::string issuer;
    std::vector<std::string> subject_alt_names;
    std::string tls_version;  // "TLS 1.3", the blackbox_exporter spelling
    std::string cipher;
};

struct ProbeResult {
    using Duration = std::chrono::nanoseconds;

    FailureReason reason = FailureReason::none;
    std::string detail;  // human-readable; never contains secrets
    std::array<Duration, phase_count> phase_durations{};
    Duration total{};
    // TLS facts, shared by every protocol that does TLS: typed, not measurements (see
    // docs/ARCHITECTURE.md). Held apart and immutable: most targets do no TLS, yet every
    // target keeps its last result (about 150 bytes a target inline), and a resumed probe
    // shares the facts of the full handshake instead of copying them.
    std::shared_ptr<const CertificateFacts> certificate;
    // What the prober measured, in the order it measured it; kinds its protocol declares.
    std::vector<Measurement> measurements;

    bool ok() const noexcept { return reason == FailureReason::none; }
    // The first measurement of `kind`; null when there is none.
    const Measurement* find(const MeasurementKind& kind) const noexcept {
        for (const auto& m : measurements) {
            if (m.kind == &kind) return &m;
        }
        return nullptr;
    }
    // Sets the one value of an unlabelled kind (a later HTTP hop replaces the earlier status).
    void set(const MeasurementKind& kind, double value) {
        for (auto& m : measurements) {
            if (m.kind == &kind) {
                m.value = value;
                return;
            }
        }
        measurements.push_back({&kind, value, {}});
    }
    Duration phase(Phase p) const noexcept { return phase_durations[static_cast<std::size_t>(p)]; }
    void add_phase(Phase p, Duration d) noexcept {
        phase_durations[static_cast<std::size_t>(p)] += d;
    }
    // Another part of the same probe (a connection after DNS lookups): its phase times join these.
    void add_phases(const ProbeResult& part) noexcept {
        for (std::size_t i = 0; i < phase_count; ++i) phase_durations[i] += part.phase_durations[i];
    }
};

}  // namespace tierwatch

// The dane prober: DANE for SMTP (RFC 7672) as a sender that enforces it sees it. The TLSA records
// at _port._tcp.host through [daemon] nameservers, the chain the server presents after STARTTLS,
// and check_dane's verdict (tlsa_match.hpp) on the two.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "probes/net/probe.hpp"

namespace tierwatch {

// Any time in the renewal window without a next-key record warns: the renewal is not dangerous
// yet, but the record must be in DNS (a TTL ahead) before the new key is used.
inline MeasurementThresholds dane_renewal_thresholds(const Check&) { return {std::chrono::milliseconds(0), {}}; }

// 1 when a usable TLSA record matches the presented chain, 0 when none does.
inline constexpr MeasurementKind dane_tlsa_matched_measurement{
    "dane_tlsa_matched", MeasurementUnit::count, "", "tierwatch_dane_tlsa_matched",
    "Whether a usable TLSA record matches the chain the server presented after STARTTLS: 1 matched, 0 none (dane).",
    "TLSA matched", "", "", nullptr, false};
// How long the server's certificate has been within renewal_window of its expiry while every
// TLSA record matches only its current key; 0 otherwise. Above 0 is a warning.
inline constexpr MeasurementKind dane_renewal_unprepared_measurement{
    "dane_renewal_unprepared_seconds", MeasurementUnit::seconds, "", "tierwatch_dane_renewal_unprepared_seconds",
    "How long the certificate has been due for renewal with no TLSA record for a next key; 0 when prepared or "
    "not due (dane).",
    "renewal unprepared", "", "certificate due without a next-key TLSA record for", &dane_renewal_thresholds,
    false};
inline constexpr std::array<const MeasurementKind*, 2> dane_measurements{&dane_tlsa_matched_measurement,
                                                                          &dane_renewal_unprepared_measurement};

// The host is the target's name (tls_server_name, else the node's or NLB's fqdn). Reasons: dns
// (no host name, SERVFAIL: a validating resolver's answer to a bad signature too) or timeout for
// the lookup; tlsa_missing (no TLSA record, nothing is connected); then the SMTP and TLS reasons
// of the connection; tlsa_mismatch (no usable record matches the chain); dnssec (require_dnssec
// and the answer lacks AD; the detail still says whether the records match). The chain is never
// verified against a CA: the records decide.
boost::asio::awaitable<ProbeResult> probe_dane(const ProbeRequest& target, const DaneSettings& settings, ProbeContext& context);

}  // namespace tierwatch

// The ldap_replication prober: reads the naming context's contextCSN on its own node and on every
// peer, and reports how far the node is behind each peer, as Zimbra's zmreplchk does.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probes/wire/ldap_codec.hpp"
#include "probes/net/probe.hpp"

namespace tierwatch {

inline MeasurementThresholds ldap_lag_thresholds(const Check& check) {
    return {check.ldap.lag_warning, check.ldap.lag_critical};
}
// How far the node is behind one peer (label: the peer's node name); the largest is graded
// against lag_warning / lag_critical.
inline constexpr MeasurementKind ldap_replication_lag_measurement{
    "replication_lag_seconds", MeasurementUnit::seconds, "peer",
    "tierwatch_ldap_replication_lag_seconds",
    "How far the node is behind each LDAP peer, by contextCSN (ldap_replication).", "behind", "",
    "replication lag", &ldap_lag_thresholds, false};
inline constexpr std::array<const MeasurementKind*, 1> ldap_replication_measurements{
    &ldap_replication_lag_measurement};

// The target is one (check, node) pair: its own node must be readable (else that is the failure,
// with its own reason), and each readable peer adds one ldap_replication_lag_measurement. A
// peer that cannot be read is not a lag here: its own target reports it.
boost::asio::awaitable<ProbeResult> probe_ldap_replication(const ProbeRequest& target, const LdapSettings& settings,
                                                           ProbeContext& context);

// ---- sans-io -------------------------------------------------------------------------------

// The newest CSN per server ID among contextCSN values. nullopt when one is malformed; it is then
// copied to `bad`.
std::optional<std::vector<ContextCsn>> newest_csn_per_sid(std::span<const std::string> values,
                                                          std::string& bad);

// Seconds `node` is behind `peer`: over the server IDs the peer has, the largest of the peer's CSN
// time minus the node's, never negative (a node ahead is its peer's lag, not its own). A server
// ID the node has never seen counts from `now`: it has missed every change that server made, the
// newest of which is that old.
double replication_lag_seconds(std::span<const ContextCsn> node, std::span<const ContextCsn> peer,
                               std::chrono::system_clock::time_point now);

}  // namespace tierwatch

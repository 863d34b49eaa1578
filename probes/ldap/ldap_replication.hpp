// The ldap_replication prober: reads the naming context's contextCSN on its own node and on every
// peer, and reports how far the node is behind each peer, as Zimbra's zmreplchk does.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probes/wire/ldap_codec.hpp"
#include "probes/net/probe.hpp"

namespace tierwatch {

// The target is one (check, node) pair: its own node must be readable (else that is the failure,
// with its own reason), and each readable peer adds one ProbeResult::replication_lags entry. A
// peer that cannot be read is not a lag here: its own target reports it.
boost::asio::awaitable<ProbeResult> probe_ldap_replication(const ProbeRequest& target,
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

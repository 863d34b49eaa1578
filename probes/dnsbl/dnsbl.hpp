// The dnsbl prober: looks a node's outbound address up in each configured DNS block list
// (RFC 5782: the reversed octets or nibbles under the zone; an A answer in 127/8 means listed,
// and the zone's TXT record says why).
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "probes/net/probe.hpp"
#include "probes/wire/dns_message.hpp"

namespace tierwatch {

// 1 when the address is listed in the zone (label), 0 when the zone answered that it is not;
// no value when the zone could not say (timeout, error code). The failure reason grades it.
inline constexpr MeasurementKind dnsbl_listed_measurement{
    "dnsbl_listed", MeasurementUnit::count, "zone", "tierwatch_dnsbl_listed",
    "Whether the node's outbound address is listed in each DNSBL zone: 1 listed, 0 not listed (dnsbl).",
    "listed in", "", "", nullptr, false};
inline constexpr std::array<const MeasurementKind*, 1> dnsbl_measurements{&dnsbl_listed_measurement};

// Every zone is asked under the probe's one deadline. The worst finding is the result's reason:
// `listed` (with each listing zone, its return code and its TXT explanation in the detail), then
// `dnsbl_error` (a 127.255.255.252-255 error code, an answer outside 127/8, SERVFAIL, REFUSED),
// then `timeout`. NXDOMAIN is "not listed".
boost::asio::awaitable<ProbeResult> probe_dnsbl(const ProbeRequest& target, const DnsblSettings& settings, ProbeContext& context);

// ---- sans-io -------------------------------------------------------------------------------

// What one zone's A answer says about the address.
struct DnsblVerdict {
    enum class Kind : std::uint8_t { not_listed, listed, error } kind = Kind::not_listed;
    std::string code;  // the return code ("127.0.0.2"), or the error ("SERVFAIL", "127.255.255.254")
};
// The A answer for <reversed address>.<zone>: NXDOMAIN or no A record: not listed; 127.0.0.0/8:
// listed, except 127.255.255.252-255 (the error codes Spamhaus returns for refused, e.g. public,
// resolvers); anything else (another rcode, an address outside 127/8) is an error.
DnsblVerdict dnsbl_verdict(const DnsMessage& answer);

}  // namespace tierwatch

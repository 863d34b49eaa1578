// The one shape every protocol prober has, and the protocol -> prober table.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

class DeadlineQueue;
class TlsContextCache;
class TlsSessionSlot;

// Everything one probe needs, as values: where to connect, the name to present and verify, how
// long the whole probe may take, the TLS options, and the check for the protocol's own settings.
// It knows nothing of schedules or grades. Callers that shorten or redirect a probe (the plugin
// mode's budget, a round trip's legs) change the request, never a copy of the check.
struct ProbeRequest {
    const Check* check = nullptr;
    boost::asio::ip::address address;
    std::uint16_t port = 0;
    // SNI, the name the certificate must carry and the HTTP Host; empty: the address is used.
    std::string_view server_name;
    // One deadline for every phase, connect to last byte.
    Duration deadline{};
    const TlsSettings* tls = nullptr;
    // The target's session storage when tls->resume is set; null otherwise.
    TlsSessionSlot* tls_session = nullptr;
};

// The request for one probe of `check` as configured: its port, timeout and TLS settings.
inline ProbeRequest probe_request(const Check& check, const boost::asio::ip::address& address,
                                  std::string_view server_name, TlsSessionSlot* tls_session = nullptr) {
    return ProbeRequest{&check, address, check.port, server_name, check.timeout, &check.tls, tls_session};
}

// Shared, long-lived resources for probes on one event loop.
struct ProbeContext {
    boost::asio::any_io_executor executor;
    TlsContextCache* tls_contexts = nullptr;
    // [daemon] nameservers, for the probes that ask DNS themselves (dnsbl, fcrdns): each probe
    // opens its own DnsClient on them under its deadline. Empty: the system resolver. A copy:
    // a reload may replace the configuration it came from (nameservers need a restart).
    std::vector<std::string> nameservers;
    // Every probe's deadline on one timer; made by the first probe that runs on this context.
    std::shared_ptr<DeadlineQueue> deadlines = nullptr;
};

using ProbeFunction = boost::asio::awaitable<ProbeResult> (*)(const ProbeRequest&, ProbeContext&);

// The prober for a protocol; every Protocol value has one.
ProbeFunction find_prober(Protocol protocol) noexcept;

// Runs the prober for target.check->protocol.
boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& target, ProbeContext& context);

}  // namespace tierwatch

// The one shape every protocol prober has, and the protocol -> prober table.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <string_view>

#include "config/config.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

class TlsContextCache;
class TlsSessionSlot;

// What a probe needs to know about its target; it knows nothing of schedules or grades.
struct ProbeTarget {
    const Check* check = nullptr;
    boost::asio::ip::address address;
    std::uint16_t port = 0;
    // SNI, the name the certificate must carry and the HTTP Host; empty: the address is used.
    std::string_view server_name;
    // The target's session storage when its check has tls_resume; null otherwise.
    TlsSessionSlot* tls_session = nullptr;
};

// Shared, long-lived resources for probes on one event loop.
struct ProbeContext {
    boost::asio::any_io_executor executor;
    TlsContextCache* tls_contexts = nullptr;
};

using ProbeFunction = boost::asio::awaitable<ProbeResult> (*)(const ProbeTarget&, ProbeContext&);

// The prober for a protocol; every Protocol value has one.
ProbeFunction find_prober(Protocol protocol) noexcept;

// Runs the prober for target.check->protocol.
boost::asio::awaitable<ProbeResult> run_probe(const ProbeTarget& target, ProbeContext& context);

}  // namespace tierwatch

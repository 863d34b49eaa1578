// The one shape every protocol prober has, and the protocol -> prober table.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

class DeadlineQueue;
class TlsContextCache;
class TlsSessionSlot;

// Everything one probe needs: where to connect, the name to present and verify, how long the
// whole probe may take, the TLS options, who logs in, and the protocol family's own typed
// settings. It knows nothing of schedules, grades or the rest of the check. Callers that shorten
// or redirect a probe (the plugin mode's budget, a round trip's legs) change the request.
struct ProbeRequest {
    Protocol protocol = Protocol::tcp;
    // The configured check's name: a round trip keys its turns and its messages by it.
    std::string_view check_name;
    boost::asio::ip::address address;
    std::uint16_t port = 0;
    // SNI, the name the certificate must carry and the HTTP Host; empty: the address is used.
    std::string_view server_name;
    // One deadline for every phase, connect to last byte.
    Duration deadline{};
    const TlsSettings* tls = nullptr;
    // The target's session storage when tls->resume is set; null otherwise.
    TlsSessionSlot* tls_session = nullptr;
    // The login (username, password_file); an empty username: the probe logs in as nobody.
    std::string_view username;
    const Secret* password = nullptr;
    ProtocolSettings settings;

    // The family settings a prober was registered for; a mismatch is a programming error, which
    // probe_target reports as a failed probe rather than a crash.
    template <typename Settings>
    const Settings& settings_as() const {
        const Settings* const* held = std::get_if<const Settings*>(&settings);
        if (held == nullptr || *held == nullptr) throw std::logic_error("probe request without its protocol's settings");
        return **held;
    }
    const std::string& password_text() const noexcept {
        static const std::string none;
        return password ? password->reveal() : none;
    }
};

// The request for one probe of `check` as configured: its port, timeout, TLS settings, login and
// its family's settings.
inline ProbeRequest probe_request(const Check& check, const boost::asio::ip::address& address,
                                  std::string_view server_name, TlsSessionSlot* tls_session = nullptr) {
    return ProbeRequest{check.protocol, check.name,     address,        check.port,     server_name,     check.timeout,
                        &check.tls,     tls_session,    check.username, &check.password, check.settings()};
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

// Runs the prober for target.protocol.
boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& target, ProbeContext& context);

}  // namespace tierwatch

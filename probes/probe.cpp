// The protocol -> prober table.
#include "probes/probe.hpp"

#include "probes/http.hpp"
#include "probes/tcp.hpp"
#include "probes/tls.hpp"

namespace tierwatch {

ProbeFunction find_prober(Protocol protocol) noexcept {
    switch (protocol) {
        case Protocol::tcp: return &probe_tcp;
        case Protocol::tls: return &probe_tls;
        case Protocol::http:
        case Protocol::https: return &probe_http;
    }
    return nullptr;
}

boost::asio::awaitable<ProbeResult> run_probe(const ProbeTarget& target, ProbeContext& context) {
    return find_prober(target.check->protocol)(target, context);
}

}  // namespace tierwatch

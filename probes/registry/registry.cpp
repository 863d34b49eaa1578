// The protocol -> prober table.
#include "probes/net/probe.hpp"

#include "probes/http/http.hpp"
#include "probes/imap/imap.hpp"
#include "probes/ldap/ldap.hpp"
#include "probes/ldap/ldap_replication.hpp"
#include "probes/pop3/pop3.hpp"
#include "probes/roundtrip/roundtrip.hpp"
#include "probes/smtp/smtp.hpp"
#include "probes/tcp/tcp.hpp"
#include "probes/tcp/tls.hpp"

namespace tierwatch {

ProbeFunction find_prober(Protocol protocol) noexcept {
    switch (protocol) {
        case Protocol::tcp: return &probe_tcp;
        case Protocol::tls: return &probe_tls;
        case Protocol::http:
        case Protocol::https: return &probe_http;
        case Protocol::smtp:
        case Protocol::smtps:
        case Protocol::submission:
        case Protocol::lmtp: return &probe_smtp;
        case Protocol::imap:
        case Protocol::imaps: return &probe_imap;
        case Protocol::pop3:
        case Protocol::pop3s: return &probe_pop3;
        case Protocol::ldap:
        case Protocol::ldaps: return &probe_ldap;
        case Protocol::ldap_replication: return &probe_ldap_replication;
        case Protocol::roundtrip: return &probe_roundtrip;
    }
    return nullptr;
}

boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& target, ProbeContext& context) {
    return find_prober(target.check->protocol)(target, context);
}

}  // namespace tierwatch

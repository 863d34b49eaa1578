// The protocol table: one line per protocol, naming its prober and its measurement kinds.
#include "probes/registry/registry.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "probes/dane/dane.hpp"
#include "probes/dnsbl/dnsbl.hpp"
#include "probes/fcrdns/fcrdns.hpp"
#include "probes/http/http.hpp"
#include "probes/imap/imap.hpp"
#include "probes/ldap/ldap.hpp"
#include "probes/ldap/ldap_replication.hpp"
#include "probes/mail_domain/mail_domain.hpp"
#include "probes/pop3/pop3.hpp"
#include "probes/roundtrip/roundtrip.hpp"
#include "probes/smtp/smtp.hpp"
#include "probes/tcp/tcp.hpp"
#include "probes/tcp/tls.hpp"

namespace tierwatch {

namespace {

constexpr std::span<const MeasurementKind* const> none;

// A prober names the settings it reads in its signature, (request, settings, context); the
// registry hands it its family's member of the request, so a row stays one line.
template <typename Settings>
Settings settings_read_by(boost::asio::awaitable<ProbeResult> (*)(const ProbeRequest&, const Settings&, ProbeContext&));

template <auto prober>
boost::asio::awaitable<ProbeResult> with_settings(const ProbeRequest& request, ProbeContext& context) {
    using Settings = decltype(settings_read_by(prober));
    return prober(request, request.settings_as<Settings>(), context);
}

// In enum order: find_prober indexes it.
constexpr std::array probers{
    ProberEntry{Protocol::tcp, with_settings<probe_tcp>, none},
    ProberEntry{Protocol::tls, with_settings<probe_tls>, none},
    ProberEntry{Protocol::http, with_settings<probe_http>, http_measurements},
    ProberEntry{Protocol::https, with_settings<probe_http>, http_measurements},
    ProberEntry{Protocol::smtp, with_settings<probe_smtp>, none},
    ProberEntry{Protocol::smtps, with_settings<probe_smtp>, none},
    ProberEntry{Protocol::submission, with_settings<probe_smtp>, none},
    ProberEntry{Protocol::lmtp, with_settings<probe_smtp>, none},
    ProberEntry{Protocol::imap, with_settings<probe_imap>, none},
    ProberEntry{Protocol::imaps, with_settings<probe_imap>, none},
    ProberEntry{Protocol::pop3, with_settings<probe_pop3>, none},
    ProberEntry{Protocol::pop3s, with_settings<probe_pop3>, none},
    ProberEntry{Protocol::ldap, with_settings<probe_ldap>, none},
    ProberEntry{Protocol::ldaps, with_settings<probe_ldap>, none},
    ProberEntry{Protocol::ldap_replication, with_settings<probe_ldap_replication>, ldap_replication_measurements},
    ProberEntry{Protocol::roundtrip, with_settings<probe_roundtrip>, roundtrip_measurements},
    ProberEntry{Protocol::dnsbl, with_settings<probe_dnsbl>, dnsbl_measurements},
    ProberEntry{Protocol::fcrdns, with_settings<probe_fcrdns>, none},
    ProberEntry{Protocol::dane, with_settings<probe_dane>, dane_measurements},
    ProberEntry{Protocol::mail_domain, with_settings<probe_mail_domain>, mail_domain_measurements},
};

constexpr bool in_enum_order() {
    for (std::size_t i = 0; i < probers.size(); ++i) {
        if (static_cast<std::size_t>(probers[i].protocol) != i) return false;
    }
    return true;
}
static_assert(in_enum_order(), "one line per Protocol, in enum order");
static_assert(probers.size() == static_cast<std::size_t>(Protocol::mail_domain) + 1,
              "every Protocol has a prober");

}  // namespace

std::span<const ProberEntry> all_probers() noexcept { return probers; }

std::span<const MeasurementKind* const> all_measurement_kinds() noexcept {
    static const std::vector<const MeasurementKind*> kinds = [] {
        std::vector<const MeasurementKind*> all;
        for (const ProberEntry& entry : probers) {
            for (const MeasurementKind* kind : entry.measures) {
                if (std::find(all.begin(), all.end(), kind) == all.end()) all.push_back(kind);
            }
        }
        return all;
    }();
    return kinds;
}

ProbeFunction find_prober(Protocol protocol) noexcept {
    const auto index = static_cast<std::size_t>(protocol);
    return index < probers.size() ? probers[index].probe : nullptr;
}

boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& target, ProbeContext& context) {
    return find_prober(target.protocol)(target, context);
}

}  // namespace tierwatch

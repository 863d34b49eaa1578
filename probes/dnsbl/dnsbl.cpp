// The dnsbl prober: one A query per zone, and the zone's TXT record for an address it lists.
#include "probes/dnsbl/dnsbl.hpp"

#include "probes/net/dns_probe.hpp"
#include "probes/wire/printable.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

// The TXT explanation(s) joined, or empty when the zone has none or does not answer in time.
asio::awaitable<std::string> explanation(const std::string& name, DnsProbe& dns) {
    const auto answer = co_await dns.query(name, DnsType::txt);
    std::string text;
    if (!answer.ok()) co_return text;
    for (const DnsRecord* record : answer.message.answers_of(DnsType::txt)) {
        text += (text.empty() ? "" : " / ") + printable_excerpt(record->text());
    }
    co_return text;
}

}  // namespace

DnsblVerdict dnsbl_verdict(const DnsMessage& answer) {
    using Kind = DnsblVerdict::Kind;
    if (answer.rcode_is(DnsRcode::nxdomain)) return {Kind::not_listed, {}};
    if (!answer.rcode_is(DnsRcode::noerror)) return {Kind::error, dns_rcode_name(answer.rcode)};
    DnsblVerdict verdict{Kind::not_listed, {}};
    for (const DnsRecord* record : answer.answers_of(DnsType::a)) {
        const auto& a = record->address;
        const std::string code = address_text(a);
        if (a[0] != 127 || (a[1] == 255 && a[2] == 255 && a[3] >= 252)) return {Kind::error, code};
        if (verdict.kind == Kind::not_listed) verdict = {Kind::listed, code};
    }
    return verdict;
}

asio::awaitable<ProbeResult> probe_dnsbl(const ProbeRequest& target, const DnsblSettings& settings, ProbeContext& context) {
    DnsProbe dns(target, context);
    std::string listed;
    std::string errors;
    std::string timeouts;
    const auto note = [](std::string& into, const std::string& what) { into += (into.empty() ? "" : "; ") + what; };
    for (const std::string& zone : settings.zones) {
        const std::string name = reverse_lookup_name(dns.address_bytes(), zone);
        const auto answer = co_await dns.query(name, DnsType::a);
        if (!answer.ok()) {
            note(answer.error == "timeout" ? timeouts : errors, zone + ": " + answer.error);
            continue;
        }
        const DnsblVerdict verdict = dnsbl_verdict(answer.message);
        switch (verdict.kind) {
            case DnsblVerdict::Kind::not_listed:
                dns.result().measurements.push_back({&dnsbl_listed_measurement, 0, zone});
                break;
            case DnsblVerdict::Kind::error:
                note(errors, zone + " answered " + verdict.code + " (an error, not a listing)");
                break;
            case DnsblVerdict::Kind::listed: {
                dns.result().measurements.push_back({&dnsbl_listed_measurement, 1, zone});
                const std::string why = co_await explanation(name, dns);
                note(listed, zone + " returned " + verdict.code + (why.empty() ? "" : ": \"" + why + "\""));
                break;
            }
        }
    }
    const std::string address = target.address.to_string();
    if (!listed.empty()) co_return dns.finish(FailureReason::listed, address + " is listed: " + listed);
    if (!errors.empty()) co_return dns.finish(FailureReason::dnsbl_error, errors);
    if (!timeouts.empty()) co_return dns.finish(FailureReason::timeout, timeouts);
    co_return dns.finish(FailureReason::none, {});
}

}  // namespace tierwatch

// The dane prober: one TLSA query, one SMTP dialogue up to STARTTLS, check_dane on the two.
#include "probes/dane/dane.hpp"

#include "probes/dane/tlsa_match.hpp"
#include "probes/net/connection.hpp"
#include "probes/net/dns_probe.hpp"
#include "probes/smtp/smtp_client.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

std::vector<TlsaRecord> tlsa_records(const DnsMessage& message) {
    std::vector<TlsaRecord> records;
    for (const DnsRecord* record : message.answers_of(DnsType::tlsa)) {
        records.push_back({record->tlsa_usage, record->tlsa_selector, record->tlsa_matching, record->tlsa_data});
    }
    return records;
}

// The connection's result with the lookup's phase (command, as in every DNS probe) and the
// probe's whole time.
ProbeResult with_lookup(ProbeResult connection, DnsProbe& dns) {
    connection.add_phases(dns.result());
    connection.total = std::chrono::steady_clock::now() - dns.started;
    return connection;
}

}  // namespace

asio::awaitable<ProbeResult> probe_dane(const ProbeRequest& target, const DaneSettings& settings, ProbeContext& context) {
    const std::string host(target.tls->server_name.empty() ? target.server_name : target.tls->server_name);
    DnsProbe dns(target, context);
    if (host.empty()) {
        co_return dns.finish(FailureReason::dns, "no host name to look TLSA records up under: give the node an "
                                                 "\"fqdn\" (or the check \"tls_server_name\")");
    }
    const std::string name = "_" + std::to_string(target.port) + "._tcp." + host;
    const auto answer = co_await dns.query(name, DnsType::tlsa);
    if (!answer.ok()) {
        co_return dns.finish(answer.error == "timeout" ? FailureReason::timeout : FailureReason::dns,
                             "TLSA " + name + ": " + answer.error);
    }
    const DnsMessage& message = answer.message;
    if (!message.rcode_is(DnsRcode::noerror) && !message.rcode_is(DnsRcode::nxdomain)) {
        co_return dns.finish(FailureReason::dns, "TLSA " + name + ": " + dns_rcode_name(message.rcode) +
                                                     (message.rcode_is(DnsRcode::servfail)
                                                          ? " (a validating resolver's answer to a bad signature too)"
                                                          : ""));
    }
    const std::vector<TlsaRecord> records = tlsa_records(message);
    if (records.empty()) {
        co_return dns.finish(FailureReason::tlsa_missing,
                             "no TLSA record at " + name + " (" + dns_rcode_name(message.rcode) + ")");
    }

    // The connection gets what the lookup left of the deadline, and the SMTP dialogue of an smtp
    // check with starttls: DANE for SMTP is about the certificate STARTTLS presents.
    static const MailSettings upgrade_to_tls = [] {
        MailSettings settings;
        settings.starttls = true;
        return settings;
    }();
    ProbeRequest smtp = target;
    smtp.deadline = dns.remaining();
    ProbeSession session(smtp, context);
    SmtpClient client(session, upgrade_to_tls);
    const bool opened = co_await client.open();
    if (!opened) co_return with_lookup(session.finish(), dns);
    const std::vector<DerCertificate> chain = session.presented_chain();
    const bool quit = co_await client.quit();
    if (!quit) co_return with_lookup(session.finish(), dns);

    const DaneCheck verdict = check_dane(records, chain, std::chrono::system_clock::now(),
                                        DaneOptions{settings.renewal_window});
    const bool matched = !verdict.matches.empty();
    session.result().measurements.push_back({&dane_tlsa_matched_measurement, matched ? 1.0 : 0.0, {}});
    double unprepared = 0;
    if (verdict.reason == MailDnsReason::tlsa_next_key_missing && verdict.seconds_to_expiry) {
        const auto window = std::chrono::seconds(settings.renewal_window).count();
        unprepared = static_cast<double>(std::max<std::int64_t>(window - *verdict.seconds_to_expiry, 1));
    }
    if (matched) session.result().measurements.push_back({&dane_renewal_unprepared_measurement, unprepared, {}});

    const std::string records_say = name + ": " + verdict.detail;
    if (settings.require_dnssec && !message.authentic_data) {
        // A DANE sender ignores records it cannot validate: they neither protect nor refuse mail.
        session.fail(FailureReason::dnssec, "the TLSA answer for " + name +
                                                " is not DNSSEC-validated (no AD bit from the resolver), so DANE "
                                                "senders ignore it; " + verdict.detail);
    } else if (!matched) {
        session.fail(FailureReason::tlsa_mismatch, records_say);
    }
    ProbeResult result = with_lookup(session.finish(), dns);
    if (result.ok()) result.detail = records_say;
    co_return result;
}

}  // namespace tierwatch

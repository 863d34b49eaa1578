// The fcrdns prober: PTR, then A or AAAA of each PTR name.
#include "probes/fcrdns/fcrdns.hpp"

#include <algorithm>

#include "probes/mail/mail_session.hpp"
#include "probes/net/connection.hpp"
#include "probes/net/dns_probe.hpp"
#include "probes/wire/printable.hpp"
#include "probes/wire/smtp_parser.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

// A failed lookup as the probe's failure: a timeout is `timeout`, anything else `dns`.
ProbeResult lookup_failed(DnsProbe& dns, const std::string& what, const DnsAnswer& answer) {
    if (!answer.ok()) {
        return dns.finish(answer.error == "timeout" ? FailureReason::timeout : FailureReason::dns,
                          what + ": " + answer.error);
    }
    return dns.finish(FailureReason::dns, what + ": " + dns_rcode_name(answer.message.rcode));
}

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

// The host name an MTA's greeting announces: the first word after the code (RFC 5321 §4.2).
struct Greeting {
    std::string host;
    FailureReason reason = FailureReason::none;  // why it could not be read
    std::string detail;
};

// Reads the greeting on greeting_port of the target's address within what is left of the
// deadline; the connection's phases join the probe's.
asio::awaitable<Greeting> read_greeting_host(const ProbeRequest& target, std::uint16_t port, ProbeContext& context,
                                             DnsProbe& dns) {
    ProbeRequest smtp = target;
    smtp.port = port;
    smtp.deadline = dns.remaining();
    ProbeSession session(smtp, context);
    SmtpReplyParser parser;
    Greeting greeting;
    const bool read = co_await read_greeting(session, parser);
    if (read && parser.reply().code != 220) {
        session.fail(FailureReason::bad_greeting, "greeting " + parser.reply().summary());
    } else if (read) {
        const std::string& text = parser.reply().lines.front();
        greeting.host = text.substr(0, text.find(' '));
        if (greeting.host.ends_with('.')) greeting.host.pop_back();
        const std::string quit = "QUIT\r\n";
        const bool sent = co_await session.write(quit);  // courtesy: the greeting is already read
        static_cast<void>(sent);
    }
    const ProbeResult connection = session.finish();
    dns.result().add_phases(connection);
    if (!read || greeting.host.empty()) {
        greeting.reason = connection.ok() ? FailureReason::bad_greeting : connection.reason;
        greeting.detail = "SMTP greeting on port " + std::to_string(smtp.port) + ": " +
                          (connection.ok() ? "names no host" : connection.detail);
    }
    co_return greeting;
}

}  // namespace

asio::awaitable<ProbeResult> probe_fcrdns(const ProbeRequest& target, const FcrdnsSettings& settings, ProbeContext& context) {
    DnsProbe dns(target, context);
    const std::string address = target.address.to_string();
    const bool v4 = dns.address_bytes().size() == 4;
    const std::string reverse = reverse_lookup_name(dns.address_bytes(), v4 ? "in-addr.arpa" : "ip6.arpa");
    const auto ptr = co_await dns.query(reverse, DnsType::ptr);
    if (!ptr.ok() || (!ptr.message.rcode_is(DnsRcode::noerror) && !ptr.message.rcode_is(DnsRcode::nxdomain))) {
        co_return lookup_failed(dns, "PTR " + reverse, ptr);
    }
    std::vector<std::string> names;
    for (const DnsRecord* record : ptr.message.answers_of(DnsType::ptr)) names.push_back(record->target);
    if (names.empty()) {
        co_return dns.finish(FailureReason::no_ptr, "no PTR record for " + address + " (" + reverse + ": " +
                                                        dns_rcode_name(ptr.message.rcode) + ")");
    }

    std::vector<std::string> confirmed;
    std::vector<std::string> mismatches;
    const DnsType forward_type = v4 ? DnsType::a : DnsType::aaaa;
    for (const std::string& name : names) {
        const auto forward = co_await dns.query(name, forward_type);
        if (!forward.ok() && forward.error == "timeout") co_return lookup_failed(dns, std::string(to_string(forward_type)) + " " + name, forward);
        std::vector<std::string> found;
        bool matches = false;
        if (forward.ok()) {
            for (const DnsRecord* record : forward.message.answers_of(forward_type)) {
                matches = matches || record->address == dns.address_bytes();
                found.push_back(address_text(record->address));
            }
        }
        if (matches) {
            confirmed.push_back(name);
        } else {
            const std::string answer = !forward.ok() ? forward.error
                                       : found.empty() ? dns_rcode_name(forward.message.rcode) +
                                                             (forward.message.rcode_is(DnsRcode::noerror)
                                                                  ? ", no " + std::string(to_string(forward_type)) + " record"
                                                                  : "")
                                                       : joined(found);
            mismatches.push_back(name + " (" + std::string(to_string(forward_type)) + ": " + answer + ")");
        }
    }
    if (confirmed.empty()) {
        co_return dns.finish(FailureReason::ptr_mismatch,
                             "no PTR name of " + address + " resolves back to it: " + joined(mismatches));
    }
    const std::string& expected = settings.expect_hostname;
    if (!expected.empty() && std::none_of(confirmed.begin(), confirmed.end(),
                                          [&](const std::string& name) { return same_dns_name(name, expected); })) {
        co_return dns.finish(FailureReason::hostname_mismatch, "PTR of " + address + " names " + joined(confirmed) +
                                                                   ", expected " + expected);
    }
    if (settings.match_greeting) {
        const Greeting greeting = co_await read_greeting_host(target, settings.greeting_port, context, dns);
        if (greeting.reason != FailureReason::none) co_return dns.finish(greeting.reason, greeting.detail);
        if (std::none_of(confirmed.begin(), confirmed.end(),
                         [&](const std::string& name) { return same_dns_name(name, greeting.host); })) {
            co_return dns.finish(FailureReason::greeting_mismatch,
                                 "PTR of " + address + " names " + joined(confirmed) + ", the SMTP greeting on port " +
                                     std::to_string(settings.greeting_port) + " announces \"" +
                                     printable_excerpt(greeting.host) + "\"");
        }
    }
    co_return dns.finish(FailureReason::none, {});
}

}  // namespace tierwatch

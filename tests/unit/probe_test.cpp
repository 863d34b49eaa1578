// Every prober against in-process fault servers on loopback: success, and each fault mapped to
// its one failure reason. Certificates come from a PKI minted per test run.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <thread>

#include "daemon/alarms/grading.hpp"
#include "probes/http/http.hpp"
#include "probes/net/probe.hpp"
#include "probes/net/tls_context.hpp"
#include "probes/registry/registry.hpp"
#include "tests/support/fault_server.hpp"
#include "tests/support/probe_fixture.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;
using test::Behaviour;
using test::CertVariant;
using test::FaultOptions;
using test::FaultServer;

// A prober receives its family's settings and nothing else of the check: the request for each
// protocol carries the member of the check that the protocol's family reads.
TEST(ProbeRequestTest, CarriesTheProtocolFamilysSettings) {
    Check check;
    check.name = "c";
    check.username = "monitor";
    check.password = Secret("pw");
    const auto address = boost::asio::ip::make_address("127.0.0.1");
    for (const ProtocolTraits& protocol : all_protocols()) {
        check.protocol = protocol.protocol;
        const ProbeRequest request = probe_request(check, address, "node.test");
        SCOPED_TRACE(std::string(protocol.name));
        EXPECT_EQ(request.protocol, protocol.protocol);
        EXPECT_EQ(request.check_name, "c");
        EXPECT_EQ(request.username, "monitor");
        EXPECT_EQ(request.password_text(), "pw");
        EXPECT_FALSE(std::holds_alternative<std::monostate>(request.settings));
        const void* held = std::visit(
            [](auto settings) -> const void* {
                if constexpr (std::is_same_v<decltype(settings), std::monostate>) {
                    return nullptr;
                } else {
                    return settings;
                }
            },
            request.settings);
        const void* expected = nullptr;
        switch (protocol.family) {
            case ProtocolFamily::tcp: expected = &check.tcp; break;
            case ProtocolFamily::web: expected = &check.http; break;
            case ProtocolFamily::smtp:
            case ProtocolFamily::imap:
            case ProtocolFamily::pop3: expected = &check.mail; break;
            case ProtocolFamily::ldap: expected = &check.ldap; break;
            case ProtocolFamily::roundtrip: expected = &check.roundtrip; break;
            case ProtocolFamily::dnsbl: expected = &check.dnsbl; break;
            case ProtocolFamily::fcrdns: expected = &check.fcrdns; break;
            case ProtocolFamily::dane: expected = &check.dane; break;
            case ProtocolFamily::mail_domain: expected = &check.mail_domain; break;
        }
        EXPECT_EQ(held, expected);
    }
}

// Asking for another family's settings is a bug in a prober: it throws, and probe_target turns
// that into a failed probe instead of ending the loop.
TEST(ProbeRequestTest, AnotherFamilysSettingsAreRefused) {
    Check check;
    check.protocol = Protocol::smtp;
    const ProbeRequest request = probe_request(check, boost::asio::ip::make_address("127.0.0.1"), "");
    EXPECT_EQ(&request.settings_as<MailSettings>(), &check.mail);
    EXPECT_THROW(static_cast<void>(request.settings_as<LdapSettings>()), std::logic_error);
    EXPECT_EQ(request.password_text(), "");
}

class ProbeTest : public test::ProbeFixture {
protected:
    static void SetUpTestSuite() { make_suite_pki("probe-test"); }
    static void TearDownTestSuite() { remove_suite_pki(); }

    using ProbeFixture::probe;
    ProbeResult probe(const Check& check, const FaultServer& server,
                      std::string_view server_name = "node.test") {
        return probe(check, server.endpoint(), server_name);
    }

    static FaultOptions serving(Behaviour behaviour, std::string text = {}) {
        FaultOptions options;
        options.behaviour = behaviour;
        options.text = std::move(text);
        return options;
    }
    static FaultOptions tls_serving(CertVariant variant, Behaviour behaviour = Behaviour::tls) {
        FaultOptions options = serving(behaviour);
        options.certificate = pki_.leaf(variant);
        return options;
    }
};

// The registry is a table indexed by Protocol: a protocol added without its line would have no
// prober (the old switch had the compiler say so). Kinds are listed once, in registry order.
TEST(Registry, EveryProtocolHasItsLineInEnumOrder) {
    const auto probers = all_probers();
    ASSERT_EQ(probers.size(), all_protocols().size());
    for (std::size_t i = 0; i < probers.size(); ++i) {
        EXPECT_EQ(probers[i].protocol, all_protocols()[i].protocol) << i;
        EXPECT_NE(find_prober(all_protocols()[i].protocol), nullptr) << all_protocols()[i].name;
    }
    const auto kinds = all_measurement_kinds();
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        for (std::size_t j = i + 1; j < kinds.size(); ++j) EXPECT_NE(kinds[i]->metric, kinds[j]->metric);
    }
    EXPECT_EQ(probers[static_cast<std::size_t>(Protocol::https)].measures.front(), &http_status_measurement);
}

TEST_F(ProbeTest, TcpConnectSucceedsAndTimesPhases) {
    FaultServer server(serving(Behaviour::banner, "220 mta.test ESMTP\r\n"));
    const auto result = probe(make_check(Protocol::tcp), server);
    EXPECT_TRUE(result.ok()) << result.detail;
    EXPECT_GT(result.phase(Phase::connect).count(), 0);
    EXPECT_GE(result.total, result.phase(Phase::connect));
}

TEST_F(ProbeTest, TcpBannerRegexMatchesOrIsBadGreeting) {
    FaultServer server(serving(Behaviour::banner, "220 mta.test ESMTP Postfix\r\n"));
    auto check = make_check(Protocol::tcp);
    check.tcp.banner_regex = boost::regex("^220 .*ESMTP");
    check.tcp.banner_regex_text = "^220 .*ESMTP";
    EXPECT_TRUE(probe(check, server).ok());

    check.tcp.banner_regex = boost::regex("^\\+OK");
    check.tcp.banner_regex_text = "^\\+OK";
    const auto result = probe(check, server);
    EXPECT_REASON(result, FailureReason::bad_greeting);
    EXPECT_NE(result.detail.find("220 mta.test ESMTP Postfix"), std::string::npos) << result.detail;
}

TEST_F(ProbeTest, RefusedConnection) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor closed(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto endpoint = closed.local_endpoint();
    closed.close();
    EXPECT_REASON(probe(make_check(Protocol::tcp), endpoint), FailureReason::connect_refused);
}

TEST_F(ProbeTest, FullAcceptQueueIsConnectTimeout) {
    FaultServer server(serving(Behaviour::accept_queue_full));
    const auto result = probe(make_check(Protocol::tcp, 500ms), server);
    EXPECT_REASON(result, FailureReason::connect_timeout);
    EXPECT_GE(result.total, 450ms);
}

TEST_F(ProbeTest, SilenceAfterAcceptIsBannerTimeoutOrTimeout) {
    FaultServer server(serving(Behaviour::silent));
    auto tcp = make_check(Protocol::tcp, 300ms);
    tcp.tcp.banner_regex = boost::regex("^220");
    EXPECT_REASON(probe(tcp, server), FailureReason::banner_timeout);
    // HTTP waits for a response, not a banner: plain timeout.
    EXPECT_REASON(probe(make_check(Protocol::http, 300ms), server), FailureReason::timeout);
    // A TLS handshake to a silent server.
    EXPECT_REASON(probe(make_check(Protocol::tls, 300ms), server), FailureReason::timeout);
}

TEST_F(ProbeTest, ResetAfterAccept) {
    FaultServer server(serving(Behaviour::reset));
    auto check = make_check(Protocol::tcp);
    check.tcp.banner_regex = boost::regex("^220");
    EXPECT_REASON(probe(check, server), FailureReason::connection_reset);
}

TEST_F(ProbeTest, GarbageInsteadOfServerHelloIsTlsHandshake) {
    FaultServer server(serving(Behaviour::garbage));
    EXPECT_REASON(probe(make_check(Protocol::tls), server), FailureReason::tls_handshake);
}

TEST_F(ProbeTest, TlsGoodCertificateReportsItsFacts) {
    FaultServer server(tls_serving(CertVariant::good));
    const auto result = probe(make_check(Protocol::tls), server);
    ASSERT_TRUE(result.ok()) << result.detail;
    ASSERT_TRUE(result.certificate);
    const auto& cert = *result.certificate;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    EXPECT_GT(cert.earliest_not_after, std::chrono::duration_cast<std::chrono::seconds>(now).count());
    EXPECT_EQ(cert.tls_version, "TLS 1.3");
    EXPECT_FALSE(cert.cipher.empty());
    EXPECT_FALSE(cert.subject.empty());
    EXPECT_FALSE(cert.issuer.empty());
    EXPECT_NE(std::find(cert.subject_alt_names.begin(), cert.subject_alt_names.end(), "DNS:node.test"),
              cert.subject_alt_names.end());
    EXPECT_GT(result.phase(Phase::tls).count(), 0);
}

TEST_F(ProbeTest, TlsVerifiesTheAddressWhenThereIsNoName) {
    FaultServer server(tls_serving(CertVariant::good));
    EXPECT_TRUE(probe(make_check(Protocol::tls), server, "").ok());  // SAN IP:127.0.0.1
}

TEST_F(ProbeTest, ExpiredCertificateIsCertExpiredWithFacts) {
    FaultServer server(tls_serving(CertVariant::expired));
    const auto result = probe(make_check(Protocol::tls), server);
    EXPECT_REASON(result, FailureReason::cert_expired);
    ASSERT_TRUE(result.certificate) << "facts are reported even when verification fails";
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    EXPECT_LT(result.certificate->earliest_not_after,
              std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

TEST_F(ProbeTest, WrongHostSelfSignedAndMissingIntermediateAreTlsVerify) {
    for (const auto variant :
         {CertVariant::wrong_host, CertVariant::self_signed, CertVariant::missing_intermediate}) {
        FaultServer server(tls_serving(variant));
        const auto result = probe(make_check(Protocol::tls), server);
        EXPECT_REASON(result, FailureReason::tls_verify) << test::to_string(variant);
    }
}

TEST_F(ProbeTest, VerificationCanBeTurnedOff) {
    FaultServer server(tls_serving(CertVariant::wrong_host));
    auto check = make_check(Protocol::tls);
    check.tls.verify_hostname = false;
    EXPECT_TRUE(probe(check, server).ok());
    check.tls.verify = false;
    FaultServer expired(tls_serving(CertVariant::expired));
    EXPECT_TRUE(probe(check, expired).ok());
}

TEST_F(ProbeTest, ExpiringCertificateSucceedsButGradesCritical) {
    FaultServer server(tls_serving(CertVariant::expiring_soon));
    const auto check = make_check(Protocol::tls);
    const auto result = probe(check, server);
    ASSERT_TRUE(result.ok()) << result.detail;
    const auto graded = grade_result(result, check, std::chrono::system_clock::now());
    EXPECT_EQ(graded.grade, Grade::critical);  // 3 days < cert_critical 7 days
    EXPECT_EQ(graded.cause, GradeCause::certificate) << "tier 3 routes on the cause, not the text";
    auto relaxed = check;
    relaxed.cert_critical = std::chrono::days(1);
    EXPECT_EQ(grade_result(result, relaxed, std::chrono::system_clock::now()).grade, Grade::warning);
}

FaultOptions http_reply(Behaviour behaviour, unsigned status, std::string body) {
    FaultOptions options;
    options.behaviour = behaviour;
    options.http.status = status;
    options.http.body = std::move(body);
    return options;
}

TEST_F(ProbeTest, HttpsStatusAndBodyRegex) {
    auto options = http_reply(Behaviour::https, 200, "<title>Zimbra Web Client Sign In</title>");
    options.certificate = pki_.good;
    FaultServer server(options);
    auto check = make_check(Protocol::https);
    check.http.body_regex = boost::regex("Zimbra Web Client");
    check.http.body_regex_text = "Zimbra Web Client";
    const auto result = probe(check, server);
    ASSERT_TRUE(result.ok()) << result.detail;
    ASSERT_TRUE(result.find(http_status_measurement));
    EXPECT_EQ(result.find(http_status_measurement)->value, 200);
    ASSERT_FALSE(server.request_lines().empty());
    EXPECT_EQ(server.request_lines().front(), "GET / HTTP/1.1");

    check.http.body_regex = boost::regex("Outlook");
    check.http.body_regex_text = "Outlook";
    EXPECT_REASON(probe(check, server), FailureReason::body_mismatch);
}

TEST_F(ProbeTest, Http503IsUnexpectedStatus) {
    FaultServer server(http_reply(Behaviour::http, 503, "maintenance"));
    const auto result = probe(make_check(Protocol::http), server);
    EXPECT_REASON(result, FailureReason::unexpected_status);
    ASSERT_TRUE(result.find(http_status_measurement));
    EXPECT_EQ(result.find(http_status_measurement)->value, 503);
    auto check = make_check(Protocol::http);
    check.http.expected_statuses = {503};
    EXPECT_TRUE(probe(check, server).ok());
}

TEST_F(ProbeTest, RedirectsAreNotFollowedUnlessAsked) {
    auto options = http_reply(Behaviour::http, 302, "");
    options.http.location = "/elsewhere";
    FaultServer server(options);
    auto check = make_check(Protocol::http);
    EXPECT_REASON(probe(check, server), FailureReason::unexpected_status);
    EXPECT_EQ(server.request_lines().size(), 1u);

    check.http.follow_redirects = true;
    check.http.max_redirects = 2;
    EXPECT_REASON(probe(check, server), FailureReason::unexpected_status);
    const auto lines = server.request_lines();
    ASSERT_EQ(lines.size(), 4u);  // one before, then the original and two redirects
    EXPECT_EQ(lines.back(), "GET /elsewhere HTTP/1.1");
}

TEST_F(ProbeTest, MebibyteHeaderLineIsABoundedProtocolError) {
    FaultServer server(serving(Behaviour::huge_header));
    const auto result = probe(make_check(Protocol::http, 5s), server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("header"), std::string::npos) << result.detail;
}

TEST_F(ProbeTest, MebibyteBannerLineIsABoundedProtocolError) {
    FaultServer server(serving(Behaviour::banner, std::string(1 << 20, 'x')));
    auto check = make_check(Protocol::tcp, 5s);
    check.tcp.banner_regex = boost::regex("^220");
    const auto result = probe(check, server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("longer than"), std::string::npos) << result.detail;
}

TEST_F(ProbeTest, Ipv6Loopback) {
    // The fault server stays on 127.0.0.0/8; a one-shot blocking server covers [::1].
    boost::asio::io_context server_io;
    boost::asio::ip::tcp::acceptor acceptor(server_io, {boost::asio::ip::make_address("::1"), 0});
    std::thread server([&] {
        auto socket = acceptor.accept();
        boost::asio::write(socket, boost::asio::buffer(std::string_view("220 v6 ready\r\n")));
        char byte;
        boost::system::error_code ignored;
        socket.read_some(boost::asio::buffer(&byte, 1), ignored);  // until the probe closes
    });
    auto check = make_check(Protocol::tcp);
    check.tcp.banner_regex = boost::regex("^220 v6");
    const auto result = probe(check, acceptor.local_endpoint());
    server.join();
    EXPECT_TRUE(result.ok()) << result.detail;
}

}  // namespace
}  // namespace tierwatch

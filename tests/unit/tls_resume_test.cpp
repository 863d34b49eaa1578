// tls_resume: the session slot's rules with injected times (no sockets), then real handshakes
// against the fault server on 127.0.90.1: the second probe resumes, keeps reporting the
// certificate facts, and a full handshake comes back once cert_refresh has passed.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>

#include "daemon/alarms/grading.hpp"
#include "probes/http/http.hpp"
#include "probes/net/tls_session.hpp"
#include "tests/support/fault_server.hpp"
#include "tests/support/probe_fixture.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;
using test::Behaviour;
using test::CertVariant;
using test::FaultOptions;
using test::FaultServer;
using Clock = TlsSessionSlot::Clock;

// ---- the slot, sans-io ----

std::shared_ptr<const CertificateFacts> facts_expiring_at(std::int64_t not_after) {
    CertificateFacts facts;
    facts.earliest_not_after = not_after;
    facts.subject = "CN=node.test";
    return std::make_shared<const CertificateFacts>(std::move(facts));
}

// An SSL_SESSION OpenSSL would offer: it has a session id (whose first byte, `tag`, names it).
SSL_SESSION* resumable_session(unsigned char tag = 1) {
    SSL_SESSION* session = SSL_SESSION_new();
    const unsigned char id[] = {tag, 2, 3, 4};
    SSL_SESSION_set1_id(session, id, sizeof id);
    return session;
}

// The tag of the session the slot offers a fresh client connection at `now`; 0: none offered.
int offered_tag(TlsSessionSlot& slot, Clock::time_point now, Duration cert_refresh) {
    static SSL_CTX* const context = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(context);
    int tag = 0;
    if (slot.offer(ssl, now, cert_refresh)) {
        unsigned int length = 0;
        const unsigned char* id = SSL_SESSION_get_id(SSL_get_session(ssl), &length);
        tag = length > 0 ? id[0] : -1;
    }
    SSL_free(ssl);
    return tag;
}

TEST(TlsSessionSlot, OffersNothingBeforeAFullHandshakeHasVerified) {
    TlsSessionSlot slot;
    const Clock::time_point t0{1h};
    EXPECT_EQ(offered_tag(slot, t0, 1h), 0);
    slot.store(resumable_session());  // a session but no verified certificate yet
    EXPECT_EQ(offered_tag(slot, t0, 1h), 0);
    EXPECT_FALSE(slot.has_session()) << "an unverified session is dropped, not kept for later";
}

TEST(TlsSessionSlot, OffersTheNewestSessionUntilCertRefreshHasPassed) {
    TlsSessionSlot slot;
    const Clock::time_point t0{1h};
    slot.store(resumable_session(1));
    slot.store(resumable_session(2));
    slot.record_full_handshake(t0, facts_expiring_at(1000));
    EXPECT_EQ(offered_tag(slot, t0 + 59min, 1h), 2);
    EXPECT_EQ(offered_tag(slot, t0 + 59min, 1h), 2) << "offering does not use it up";
    EXPECT_EQ(offered_tag(slot, t0 + 60min, 1h), 0) << "cert_refresh reached: full handshake";
    EXPECT_FALSE(slot.has_session());
    ASSERT_TRUE(slot.certificate());
    EXPECT_EQ(slot.certificate()->earliest_not_after, 1000)
        << "facts stay until the next full handshake";
}

TEST(TlsSessionSlot, ANewFullHandshakeRestartsTheRefreshClock) {
    TlsSessionSlot slot;
    const Clock::time_point t0{1h};
    slot.store(resumable_session(1));
    slot.record_full_handshake(t0, facts_expiring_at(1000));
    EXPECT_EQ(offered_tag(slot, t0 + 2h, 1h), 0);
    slot.store(resumable_session(3));
    slot.record_full_handshake(t0 + 2h, facts_expiring_at(2000));
    EXPECT_EQ(offered_tag(slot, t0 + 2h + 30min, 1h), 3);
    EXPECT_EQ(slot.certificate()->earliest_not_after, 2000);
}

TEST(TlsSessionSlot, ASessionThatIsNotResumableIsDropped) {
    TlsSessionSlot slot;
    const Clock::time_point t0{1h};
    slot.store(SSL_SESSION_new());  // no id, no ticket: nothing to resume
    slot.record_full_handshake(t0, facts_expiring_at(1000));
    EXPECT_EQ(offered_tag(slot, t0, 1h), 0);
    EXPECT_FALSE(slot.has_session());
}

TEST(TlsSessionSlot, TellsWhetherASessionArrivedOnTheCurrentConnection) {
    TlsSessionSlot slot;
    const Clock::time_point t0{1h};
    slot.store(resumable_session());
    EXPECT_TRUE(slot.received_session());
    slot.record_full_handshake(t0, facts_expiring_at(1000));
    EXPECT_EQ(offered_tag(slot, t0, 1h), 1);
    EXPECT_FALSE(slot.received_session()) << "the held session came with an earlier connection";
}

TEST(TlsSessionSlot, ForgetDropsSessionAndFacts) {
    TlsSessionSlot slot;
    const Clock::time_point t0{1h};
    slot.store(resumable_session());
    slot.record_full_handshake(t0, facts_expiring_at(1000));
    slot.forget();
    EXPECT_FALSE(slot.has_session());
    EXPECT_FALSE(slot.certificate());
    EXPECT_EQ(offered_tag(slot, t0, 1h), 0);
}

TEST(TlsSessionSlot, EachResumptionIsTakenOnce) {
    TlsSessionSlot slot;
    slot.record_resumption();
    EXPECT_TRUE(slot.last_probe_resumed());
    EXPECT_TRUE(slot.take_resumption());
    EXPECT_FALSE(slot.take_resumption());
    slot.record_resumption();
    slot.begin_probe();
    EXPECT_FALSE(slot.last_probe_resumed());
}

// ---- real handshakes ----

class TlsResumeTest : public test::ProbeFixture {
protected:
    static void SetUpTestSuite() { make_suite_pki("tls-resume-test"); }
    static void TearDownTestSuite() { remove_suite_pki(); }

    static FaultOptions serving(Behaviour behaviour, CertVariant variant = CertVariant::good) {
        FaultOptions options;
        options.behaviour = behaviour;
        options.address = boost::asio::ip::make_address_v4("127.0.90.1");
        options.certificate = pki_.leaf(variant);
        return options;
    }
    static Check resuming(Protocol protocol, Duration cert_refresh = 1h) {
        Check check = make_check(protocol);
        check.tls.resume = true;
        check.tls.cert_refresh = cert_refresh;
        return check;
    }

    // One probe with the test's slot; `resumed` tells whether its handshake resumed.
    ProbeResult probe(const Check& check, const FaultServer& server, bool& resumed) {
        auto result = ProbeFixture::probe(check, server.endpoint(), "node.test", &slot_);
        resumed = slot_.take_resumption();
        return result;
    }

    TlsSessionSlot slot_;
};

TEST_F(TlsResumeTest, SecondProbeResumesAndReportsTheFullHandshakesCertificate) {
    // Implicit TLS, nothing read after the handshake: the TLS 1.3 ticket must still be caught.
    FaultServer server(serving(Behaviour::tls));
    const auto check = resuming(Protocol::tls);
    bool resumed = true;
    const auto first = probe(check, server, resumed);
    ASSERT_TRUE(first.ok()) << first.detail;
    EXPECT_FALSE(resumed);
    ASSERT_TRUE(first.certificate);
    EXPECT_EQ(first.certificate->tls_version, "TLS 1.3");
    EXPECT_TRUE(slot_.has_session()) << "the server's ticket was not captured";

    for (int i = 0; i < 2; ++i) {
        const auto next = probe(check, server, resumed);
        ASSERT_TRUE(next.ok()) << next.detail;
        EXPECT_TRUE(resumed) << "probe " << i + 2;
        ASSERT_TRUE(next.certificate);
        EXPECT_EQ(next.certificate->earliest_not_after, first.certificate->earliest_not_after);
        EXPECT_EQ(next.certificate->subject, first.certificate->subject);
        EXPECT_EQ(next.certificate->subject_alt_names, first.certificate->subject_alt_names);
    }
    EXPECT_EQ(server.accepted(), 3u);
}

TEST_F(TlsResumeTest, ABannerReadCatchesTheTicketToo) {
    auto options = serving(Behaviour::tls);
    options.text = "* OK ready\r\n";
    FaultServer server(options);
    auto check = resuming(Protocol::tls);
    check.tcp.banner_regex = boost::regex("^\\* OK");
    check.tcp.banner_regex_text = "^\\* OK";
    bool resumed = true;
    ASSERT_TRUE(probe(check, server, resumed).ok());
    EXPECT_FALSE(resumed);
    // TLS 1.3 tickets are single use: the third probe resumes with the ticket the second got.
    for (int i = 0; i < 2; ++i) {
        const auto next = probe(check, server, resumed);
        EXPECT_TRUE(next.ok()) << next.detail;
        EXPECT_TRUE(resumed) << "probe " << i + 2;
    }
}

TEST_F(TlsResumeTest, AFullHandshakeOnceCertRefreshHasPassed) {
    FaultServer server(serving(Behaviour::tls));
    auto check = resuming(Protocol::tls);
    bool resumed = true;
    ASSERT_TRUE(probe(check, server, resumed).ok());
    EXPECT_FALSE(resumed);
    ASSERT_TRUE(probe(check, server, resumed).ok());
    EXPECT_TRUE(resumed);

    // The smallest refresh (the slot's own tests cover the boundary with injected times): every
    // handshake is full again, and reads the certificate.
    check.tls.cert_refresh = Duration::zero();
    for (int i = 0; i < 2; ++i) {
        const auto result = probe(check, server, resumed);
        ASSERT_TRUE(result.ok()) << result.detail;
        EXPECT_FALSE(resumed) << "probe " << i + 3;
        EXPECT_TRUE(result.certificate);
    }
    // The session from the last full handshake is resumed once the refresh is long again.
    check.tls.cert_refresh = 1h;
    ASSERT_TRUE(probe(check, server, resumed).ok());
    EXPECT_TRUE(resumed);
}

TEST_F(TlsResumeTest, WithoutTlsResumeEveryHandshakeIsFull) {
    FaultServer server(serving(Behaviour::tls));
    const auto check = make_check(Protocol::tls);  // tls_resume off, slot passed anyway
    bool resumed = true;
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(probe(check, server, resumed).ok());
        EXPECT_FALSE(resumed);
    }
    EXPECT_FALSE(slot_.has_session());
}

TEST_F(TlsResumeTest, AFailedVerificationIsNeverResumed) {
    FaultServer server(serving(Behaviour::tls, CertVariant::self_signed));
    const auto check = resuming(Protocol::tls);
    bool resumed = true;
    for (int i = 0; i < 2; ++i) {
        const auto result = probe(check, server, resumed);
        EXPECT_REASON(result, FailureReason::tls_verify);
        EXPECT_FALSE(resumed);
        EXPECT_FALSE(slot_.has_session());
    }
}

TEST_F(TlsResumeTest, ResumedProbesStillGradeTheCertificatesExpiry) {
    FaultServer server(serving(Behaviour::tls, CertVariant::expiring_soon));
    const auto check = resuming(Protocol::tls);
    bool resumed = false;
    ASSERT_TRUE(probe(check, server, resumed).ok());
    const auto second = probe(check, server, resumed);
    ASSERT_TRUE(second.ok()) << second.detail;
    ASSERT_TRUE(resumed);
    EXPECT_EQ(grade_result(second, check, std::chrono::system_clock::now()).grade, Grade::critical);
}

TEST_F(TlsResumeTest, HttpsResumes) {
    auto options = serving(Behaviour::https);
    options.http.body = "ok";
    FaultServer server(options);
    const auto check = resuming(Protocol::https);
    bool resumed = true;
    const auto first = probe(check, server, resumed);
    ASSERT_TRUE(first.ok()) << first.detail;
    EXPECT_FALSE(resumed);
    for (int i = 0; i < 2; ++i) {
        const auto next = probe(check, server, resumed);
        ASSERT_TRUE(next.ok()) << next.detail;
        EXPECT_TRUE(resumed) << "probe " << i + 2;
        ASSERT_TRUE(next.find(http_status_measurement));
        EXPECT_EQ(next.find(http_status_measurement)->value, 200);
        EXPECT_TRUE(next.certificate);
    }
}

}  // namespace
}  // namespace tierwatch

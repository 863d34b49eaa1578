// The smtp, imap and pop3 probers against scripted in-process servers on 127.0.0.1:0 (expect /
// send / starttls steps, TLS from a PKI minted per run): success paths and each fault mapped to
// its one failure reason.
#include <gtest/gtest.h>

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "probes/net/use_tuple.hpp"
#include "probes/wire/mail_common.hpp"
#include "probes/net/probe.hpp"
#include "probes/roundtrip/roundtrip.hpp"
#include "probes/net/tls_context.hpp"
#include "probes/net/tls_session.hpp"
#include "tests/support/probe_fixture.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using asio::ip::tcp;

// One step of a conversation, from the server's side.
struct Step {
    enum class Kind { send, expect, starttls, hold };
    Kind kind;
    std::string text;  // send: bytes to send; expect: the prefix the client's next line must have
};
Step send(std::string text) {
    return {Step::Kind::send, std::move(text)};
}
Step expect(std::string prefix) {
    return {Step::Kind::expect, std::move(prefix)};
}
Step starttls() {
    return {Step::Kind::starttls, {}};
}
Step hold() {
    return {Step::Kind::hold, {}};
}  // silent until the client gives up

// Plays `script` to every connection on its own thread; TLS (implicit or at a starttls step)
// presents the PKI's good leaf (SAN node.test, 127.0.0.1).
class ScriptedServer {
public:
    ScriptedServer(std::vector<Step> script, const test::CertKeyPair& certificate,
                   bool implicit_tls = false)
        : script_(std::move(script)),
          implicit_tls_(implicit_tls),
          ssl_(asio::ssl::context::tls_server),
          acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        ssl_.use_certificate_chain_file(certificate.cert_chain.string());
        ssl_.use_private_key_file(certificate.key.string(), asio::ssl::context::pem);
        asio::co_spawn(io_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~ScriptedServer() {
        io_.stop();
        thread_.join();
    }

    tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
    // Every line the client sent, in order.
    std::vector<std::string> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }
    // The first expectation the client did not meet; empty when it met them all.
    std::string mismatch() const {
        std::lock_guard lock(mutex_);
        return mismatch_;
    }

private:
    asio::awaitable<void> accept_loop() {
        while (true) {
            auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
            if (error) co_return;
            asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        std::size_t step = 0;
        if (!implicit_tls_ && !co_await converse(socket, step)) co_return;
        asio::ssl::stream<tcp::socket> tls(std::move(socket), ssl_);
        auto [error] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
        if (!error) co_await converse(tls, step);
    }

    // Runs steps from `step` on; true when it stopped at a starttls step.
    template <class Stream>
    asio::awaitable<bool> converse(Stream& stream, std::size_t& step) {
        std::string buffer;
        while (step < script_.size()) {
            const Step& current = script_[step++];
            switch (current.kind) {
                case Step::Kind::starttls:
                    co_return true;
                case Step::Kind::send: {
                    auto [error, n] =
                        co_await asio::async_write(stream, asio::buffer(current.text), use_tuple);
                    if (error) co_return false;
                    break;
                }
                case Step::Kind::expect: {
                    auto [error, n] = co_await asio::async_read_until(
                        stream, asio::dynamic_buffer(buffer), '\n', use_tuple);
                    if (error)
                        co_return record_mismatch("connection ended instead of \"" + current.text +
                                                  "\"");
                    std::string line = buffer.substr(0, n - 1);
                    buffer.erase(0, n);
                    if (line.ends_with('\r')) line.pop_back();
                    {
                        std::lock_guard lock(mutex_);
                        received_.push_back(line);
                    }
                    if (!line.starts_with(current.text)) {
                        co_return record_mismatch("expected \"" + current.text + "\", got \"" +
                                                  line + "\"");
                    }
                    break;
                }
                case Step::Kind::hold: {
                    char byte;
                    while (true) {
                        auto [error, n] =
                            co_await stream.async_read_some(asio::buffer(&byte, 1), use_tuple);
                        if (error) co_return false;
                    }
                }
            }
        }
        co_return false;
    }

    bool record_mismatch(std::string what) {
        std::lock_guard lock(mutex_);
        if (mismatch_.empty()) mismatch_ = std::move(what);
        return false;
    }

    const std::vector<Step> script_;
    const bool implicit_tls_;
    asio::ssl::context ssl_;  // outlives io_, whose destruction frees pending sessions
    asio::io_context io_;
    tcp::acceptor acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::string> received_;
    std::string mismatch_;
    std::thread thread_;
};

constexpr std::string_view kPassword = "pa\"ss\\word";

class MailProbeTest : public test::ProbeFixture {
protected:
    static void SetUpTestSuite() { make_suite_pki("mail-test"); }
    static void TearDownTestSuite() { remove_suite_pki(); }

    static Check make_check(Protocol protocol, Duration timeout = 2s) {
        Check check = ProbeFixture::make_check(protocol, timeout);
        check.mail.auth = is_smtp_family(protocol) ? MailAuth::plain : MailAuth::login;
        return check;
    }
    static Check with_login(Check check, std::string_view password = kPassword) {
        check.username = "probe";
        check.password = Secret(std::string(password));
        return check;
    }

    using ProbeFixture::probe;
    ProbeResult probe(const Check& check, const ScriptedServer& server) {
        return ProbeFixture::probe(check, server.endpoint());
    }
};

// No detail may carry the password, plainly or in the base64 a SASL exchange sends.
void expect_no_secret(const ProbeResult& result, std::string_view password = kPassword) {
    EXPECT_EQ(result.detail.find(password), std::string::npos) << result.detail;
    EXPECT_EQ(result.detail.find(sasl_plain("probe", password)), std::string::npos)
        << result.detail;
    EXPECT_EQ(result.detail.find(base64_encode(password)), std::string::npos) << result.detail;
}

// ---- SMTP ----

TEST_F(MailProbeTest, SmtpPostscreenGreetingEhloCapabilitiesQuit) {
    ScriptedServer server(
        {send("220-mx1.example.com ESMTP\r\n"), send("220 mx1.example.com ESMTP Postfix\r\n"),
         expect("EHLO tierwatch.invalid"),
         send("250-mx1.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"),
         expect("QUIT"), send("221 2.0.0 Bye\r\n")},
        pki_.good);
    auto check = make_check(Protocol::smtp);
    check.mail.expect_capabilities = {"PIPELINING", "SIZE"};
    const auto result = probe(check, server);
    EXPECT_TRUE(result.ok()) << result.detail;
    EXPECT_EQ(server.mismatch(), "");
    EXPECT_EQ(server.received(), (std::vector<std::string>{"EHLO tierwatch.invalid", "QUIT"}));
    EXPECT_GT(result.phase(Phase::greeting).count(), 0);
    EXPECT_GT(result.phase(Phase::command).count(), 0);
}

std::vector<Step> submission_script(std::string auth_reply) {
    return {send("220 mx1 ESMTP\r\n"),
            expect("EHLO monitor.example.com"),
            send("250-mx1\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
            expect("STARTTLS"),
            send("220 2.0.0 Ready\r\n"),
            starttls(),
            expect("EHLO monitor.example.com"),
            send("250-mx1\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"),
            expect("AUTH PLAIN " + sasl_plain("probe", kPassword)),
            send(std::move(auth_reply)),
            expect("QUIT"),
            send("221 Bye\r\n")};
}

TEST_F(MailProbeTest, SubmissionStarttlsThenAuthPlainWithCapabilitiesAfterTls) {
    ScriptedServer server(submission_script("235 2.7.0 Authentication successful\r\n"), pki_.good);
    auto check = with_login(make_check(Protocol::submission));
    check.mail.starttls = true;
    check.mail.helo_name = "monitor.example.com";
    // AUTH is offered only after TLS, STARTTLS only before it.
    check.mail.expect_capabilities = {"AUTH PLAIN", "STARTTLS"};
    const auto result = probe(check, server);
    ASSERT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    ASSERT_TRUE(result.certificate);
    EXPECT_EQ(result.certificate->tls_version, "TLS 1.3");
    EXPECT_GT(result.phase(Phase::tls).count(), 0);
    EXPECT_GT(result.phase(Phase::auth).count(), 0);
}

TEST_F(MailProbeTest, SubmissionStarttlsResumesItsSessionOnTheNextProbe) {
    ScriptedServer server(submission_script("235 2.7.0 Authentication successful\r\n"), pki_.good);
    auto check = with_login(make_check(Protocol::submission));
    check.mail.starttls = true;
    check.mail.helo_name = "monitor.example.com";
    check.tls.resume = true;
    TlsSessionSlot slot;
    const auto first = ProbeFixture::probe(check, server.endpoint(), "node.test", &slot);
    ASSERT_TRUE(first.ok()) << first.detail << " / server: " << server.mismatch();
    EXPECT_FALSE(slot.take_resumption());
    for (int i = 0; i < 2; ++i) {  // a TLS 1.3 ticket is used once: each probe keeps the next
        const auto next = ProbeFixture::probe(check, server.endpoint(), "node.test", &slot);
        ASSERT_TRUE(next.ok()) << next.detail << " / server: " << server.mismatch();
        EXPECT_TRUE(slot.take_resumption()) << "probe " << i + 2;
        ASSERT_TRUE(next.certificate);
        EXPECT_EQ(next.certificate->earliest_not_after, first.certificate->earliest_not_after);
    }
}

TEST_F(MailProbeTest, SmtpWrongPasswordIsAuth) {
    ScriptedServer server(submission_script("535 5.7.8 Error: authentication failed\r\n"),
                          pki_.good);
    auto check = with_login(make_check(Protocol::submission));
    check.mail.starttls = true;
    check.mail.helo_name = "monitor.example.com";
    const auto result = probe(check, server);
    EXPECT_REASON(result, FailureReason::auth);
    EXPECT_EQ(result.detail, "AUTH PLAIN answered 535 5.7.8 Error: authentication failed");
    expect_no_secret(result);
}

TEST_F(MailProbeTest, SmtpAuthLogin) {
    ScriptedServer server(
        {send("220 mx1 ESMTP\r\n"), expect("EHLO"), send("250-mx1\r\n250 AUTH LOGIN\r\n"),
         expect("AUTH LOGIN"), send("334 VXNlcm5hbWU6\r\n"), expect(base64_encode("probe")),
         send("334 UGFzc3dvcmQ6\r\n"), expect(base64_encode(kPassword)), send("235 ok\r\n"),
         expect("QUIT"), send("221 Bye\r\n")},
        pki_.good);
    auto check = with_login(make_check(Protocol::smtp));
    check.mail.auth = MailAuth::login;
    const auto result = probe(check, server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
}

TEST_F(MailProbeTest, SmtpsImplicitTlsAndLmtpLhlo) {
    ScriptedServer smtps({send("220 mx1 ESMTP\r\n"), expect("EHLO"), send("250 mx1\r\n"),
                          expect("QUIT"), send("221 Bye\r\n")},
                         pki_.good, true);
    const auto result = probe(make_check(Protocol::smtps), smtps);
    EXPECT_TRUE(result.ok()) << result.detail;
    EXPECT_TRUE(result.certificate);

    ScriptedServer lmtp(
        {send("220 mailbox1 LMTP ready\r\n"), expect("LHLO tierwatch.invalid"),
         send("250-mailbox1\r\n250 PIPELINING\r\n"), expect("QUIT"), send("221 Bye\r\n")},
        pki_.good);
    EXPECT_TRUE(probe(make_check(Protocol::lmtp), lmtp).ok()) << lmtp.mismatch();
}

TEST_F(MailProbeTest, SmtpStarttlsNotOfferedIsProtocol) {
    ScriptedServer server(
        {send("220 mx1 ESMTP\r\n"), expect("EHLO"), send("250-mx1\r\n250 PIPELINING\r\n"), hold()},
        pki_.good);
    auto check = make_check(Protocol::smtp);
    check.mail.starttls = true;
    const auto result = probe(check, server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "STARTTLS not offered");
}

TEST_F(MailProbeTest, SmtpMissingCapabilityIsNamed) {
    ScriptedServer server(
        {send("220 mx1 ESMTP\r\n"), expect("EHLO"), send("250-mx1\r\n250 PIPELINING\r\n"), hold()},
        pki_.good);
    auto check = make_check(Protocol::smtp);
    check.mail.expect_capabilities = {"PIPELINING", "SMTPUTF8"};
    const auto result = probe(check, server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "capability SMTPUTF8 not offered");
}

TEST_F(MailProbeTest, SmtpRejectingGreetingIsBadGreetingWithTheCode) {
    ScriptedServer server(
        {send("554 5.7.1 mx1 Service unavailable; client [127.0.0.1] blocked\r\n"), hold()},
        pki_.good);
    const auto result = probe(make_check(Protocol::smtp), server);
    EXPECT_REASON(result, FailureReason::bad_greeting);
    EXPECT_TRUE(result.detail.starts_with("greeting 554 5.7.1")) << result.detail;

    ScriptedServer web({send("HTTP/1.1 400 Bad Request\r\n"), hold()}, pki_.good);
    EXPECT_REASON(probe(make_check(Protocol::smtp), web), FailureReason::bad_greeting);
}

TEST_F(MailProbeTest, SmtpDataInjectedAfterStarttlsReplyIsProtocol) {
    ScriptedServer server(
        {send("220 mx1 ESMTP\r\n"), expect("EHLO"), send("250-mx1\r\n250 STARTTLS\r\n"),
         expect("STARTTLS"), send("220 Ready\r\n250 injected\r\n"), hold()},
        pki_.good);
    auto check = make_check(Protocol::smtp);
    check.mail.starttls = true;
    const auto result = probe(check, server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "server sent data after the STARTTLS reply");
}

TEST_F(MailProbeTest, SilenceAfterGreetingIsTimeout) {
    ScriptedServer server({send("220 mx1 ESMTP\r\n"), hold()}, pki_.good);
    const auto result = probe(make_check(Protocol::smtp, 300ms), server);
    EXPECT_REASON(result, FailureReason::timeout);
    EXPECT_EQ(result.detail, "no answer within 300ms during command");

    ScriptedServer silent({hold()}, pki_.good);
    EXPECT_REASON(probe(make_check(Protocol::imap, 300ms), silent), FailureReason::banner_timeout);
}

TEST_F(MailProbeTest, SmtpAuthNotOfferedIsProtocol) {
    // Postfix's smtpd_tls_auth_only: no AUTH before TLS.
    ScriptedServer server(
        {send("220 mx1 ESMTP\r\n"), expect("EHLO"), send("250-mx1\r\n250 STARTTLS\r\n"), hold()},
        pki_.good);
    const auto result = probe(with_login(make_check(Protocol::submission)), server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "AUTH PLAIN not offered");
}

// ---- IMAP ----

TEST_F(MailProbeTest, ImapLoginQuotesThePasswordExaminesAndLogsOut) {
    ScriptedServer server(
        {send("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN] "
              "Dovecot ready.\r\n"),
         expect("A1 LOGIN \"probe\" \"pa\\\"ss\\\\word\""),
         send("* CAPABILITY IMAP4rev1 IDLE\r\nA1 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
         expect("A2 EXAMINE \"INBOX\""),
         send("* FLAGS (\\Answered \\Seen)\r\n* 3 EXISTS\r\n* LIST () \"/\" {5}\r\nINBOX\r\n"
              "A2 OK [READ-ONLY] Examine completed.\r\n"),
         expect("A3 LOGOUT"), send("* BYE Logging out\r\nA3 OK Logout completed.\r\n")},
        pki_.good);
    auto check = with_login(make_check(Protocol::imap));
    check.mail.expect_capabilities = {"IMAP4rev1", "AUTH=PLAIN"};
    const auto result = probe(check, server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    EXPECT_EQ(server.received().size(), 3u);
}

TEST_F(MailProbeTest, ImapStarttlsThenAuthenticatePlain) {
    ScriptedServer server(
        {send("* OK ready\r\n"), expect("A1 CAPABILITY"),
         send("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA1 OK done\r\n"),
         expect("A2 STARTTLS"), send("A2 OK Begin TLS negotiation now.\r\n"), starttls(),
         expect("A3 CAPABILITY"), send("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK done\r\n"),
         expect("A4 AUTHENTICATE PLAIN"), send("+ \r\n"), expect(sasl_plain("probe", kPassword)),
         send("A4 OK Logged in\r\n"), expect("A5 EXAMINE \"Probe\""),
         send("A5 OK [READ-ONLY] done\r\n"), expect("A6 LOGOUT"), send("* BYE\r\nA6 OK bye\r\n")},
        pki_.good);
    auto check = with_login(make_check(Protocol::imap));
    check.mail.starttls = true;
    check.mail.auth = MailAuth::plain;
    check.mail.mailbox = "Probe";
    check.mail.expect_capabilities = {"AUTH=PLAIN"};  // after TLS only
    const auto result = probe(check, server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    EXPECT_TRUE(result.certificate);
}

TEST_F(MailProbeTest, ImapsSendsAn8BitPasswordAsALiteral) {
    const std::string password = "p\xc3\xa4ss";
    ScriptedServer server(
        {send("* OK [CAPABILITY IMAP4rev1] ready\r\n"), expect("A1 LOGIN \"probe\" {5}"),
         send("+ go ahead\r\n"), expect(password), send("A1 OK Logged in\r\n"),
         expect("A2 EXAMINE"), send("A2 OK done\r\n"), expect("A3 LOGOUT"), send("A3 OK bye\r\n")},
        pki_.good, true);
    const auto result = probe(with_login(make_check(Protocol::imaps), password), server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
}

TEST_F(MailProbeTest, ImapWrongPasswordIsAuth) {
    ScriptedServer server({send("* OK [CAPABILITY IMAP4rev1] ready\r\n"), expect("A1 LOGIN"),
                           send("A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"), hold()},
                          pki_.good);
    const auto result = probe(with_login(make_check(Protocol::imap)), server);
    EXPECT_REASON(result, FailureReason::auth);
    EXPECT_EQ(result.detail, "LOGIN answered NO [AUTHENTICATIONFAILED] Authentication failed.");
    expect_no_secret(result);
}

TEST_F(MailProbeTest, ImapByeGreetingIsBadGreeting) {
    ScriptedServer server({send("* BYE Too many connections from your IP\r\n"), hold()}, pki_.good);
    const auto result = probe(make_check(Protocol::imap), server);
    EXPECT_REASON(result, FailureReason::bad_greeting);
    EXPECT_EQ(result.detail, "greeting BYE Too many connections from your IP");
}

TEST_F(MailProbeTest, ImapStarttlsNotOfferedAndInjectionAreProtocol) {
    ScriptedServer plain({send("* OK [CAPABILITY IMAP4rev1] ready\r\n"), hold()}, pki_.good);
    auto check = make_check(Protocol::imap);
    check.mail.starttls = true;
    auto result = probe(check, plain);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "STARTTLS not offered");

    ScriptedServer injecting(
        {send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"), expect("A1 STARTTLS"),
         send("A1 OK Begin TLS\r\n* OK injected\r\n"), hold()},
        pki_.good);
    result = probe(check, injecting);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "server sent data after the STARTTLS reply");
}

// A 200 KiB literal whose one line is 25 times the line bound: read raw and skipped past.
TEST_F(MailProbeTest, ImapLiteralLongerThanTheLineBound) {
    const std::string body(200 * 1024, 'b');
    ScriptedServer server(
        {send("* PREAUTH [CAPABILITY IMAP4rev1] logged in as probe\r\n"), expect("A1 EXAMINE \"INBOX\""),
         send("* 1 FETCH (BODY[] {" + std::to_string(body.size()) + "}\r\n" + body +
              ")\r\nA1 OK [READ-ONLY] done\r\n"),
         expect("A2 LOGOUT"), send("* BYE\r\nA2 OK bye\r\n")},
        pki_.good);
    const auto result = probe(make_check(Protocol::imap), server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    EXPECT_EQ(server.received().size(), 2u);
}

TEST_F(MailProbeTest, ImapLiteralBeyondOneMebibyteIsProtocol) {
    ScriptedServer server({send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n"), expect("A1 EXAMINE"),
                           send("* 1 FETCH (BODY[] {2000000}\r\n"), hold()},
                          pki_.good);
    const auto result = probe(make_check(Protocol::imap), server);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail,
              "literal of 2000000 bytes exceeds the 1048576-byte bound: \"* 1 FETCH (BODY[] {2000000}\"");
}

TEST_F(MailProbeTest, ImapPreauthExaminesWithoutLogin) {
    ScriptedServer server({send("* PREAUTH [CAPABILITY IMAP4rev1] logged in as probe\r\n"),
                           expect("A1 EXAMINE \"INBOX\""), send("A1 OK [READ-ONLY] done\r\n"),
                           expect("A2 LOGOUT"), send("* BYE\r\nA2 OK bye\r\n")},
                          pki_.good);
    const auto result = probe(with_login(make_check(Protocol::imap)), server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
}

// ---- roundtrip: SmtpClient submits, ImapClient polls and cleans up ----

class RoundtripProbeTest : public MailProbeTest {
protected:
    static Check roundtrip_check(const ScriptedServer& smtp, const ScriptedServer& imap) {
        Check check = with_login(make_check(Protocol::roundtrip, 5s));
        check.username = "probe@example.test";
        check.roundtrip.submit = RoundtripLeg{.protocol = Protocol::submission,
                                              .port = smtp.endpoint().port(),
                                              .starttls = false,
                                              .via_target = true,
                                              .host = {},
                                              .address = {}};
        check.roundtrip.fetch = check.roundtrip.submit;
        check.roundtrip.fetch.protocol = Protocol::imap;
        check.roundtrip.fetch.port = imap.endpoint().port();
        return check;
    }
    // The SMTP side of a submission that is accepted: every line of the message is expected.
    static std::vector<Step> accepting_smtp(std::string rcpt_reply = "250 2.1.5 Ok\r\n") {
        std::vector<Step> steps{send("220 mx ESMTP\r\n"), expect("EHLO tierwatch.invalid"),
                                send("250-mx\r\n250 AUTH PLAIN LOGIN\r\n"), expect("AUTH PLAIN "),
                                send("235 2.7.0 Authentication successful\r\n"),
                                expect("MAIL FROM:<probe@example.test>"), send("250 2.1.0 Ok\r\n"),
                                expect("RCPT TO:<probe@example.test>"), send(std::move(rcpt_reply))};
        if (!steps.back().text.starts_with("250")) {
            steps.push_back(hold());
            return steps;
        }
        steps.insert(steps.end(), {expect("DATA"), send("354 End data with <CR><LF>.<CR><LF>\r\n")});
        for (const char* line : {"From: tierwatch <probe@example.test>", "To: <probe@example.test>",
                                 "Subject: tierwatch round trip tw-", "Date: ", "Message-ID: <tw-",
                                 "X-Tierwatch-Roundtrip: tw-", "Auto-Submitted: auto-generated", "",
                                 "End-to-end delivery probe", "."}) {
            steps.push_back(expect(line));
        }
        steps.insert(steps.end(), {send("250 2.0.0 Ok: queued as 4B1C\r\n"), expect("QUIT"), send("221 2.0.0 Bye\r\n")});
        return steps;
    }
    static std::string search_for_token() { return "UID SEARCH HEADER X-Tierwatch-Roundtrip \"tw-"; }
};

TEST_F(RoundtripProbeTest, SubmitsPollsFindsAndDeletesWithUidplus) {
    ScriptedServer smtp(accepting_smtp(), pki_.good);
    ScriptedServer imap(
        {send("* OK [CAPABILITY IMAP4rev1 UIDPLUS WITHIN] ready\r\n"),
         expect("A1 LOGIN \"probe@example.test\""), send("A1 OK Logged in\r\n"),
         expect("A2 SELECT \"INBOX\""), send("* 0 EXISTS\r\nA2 OK [READ-WRITE] Select completed\r\n"),
         expect("A3 " + search_for_token()), send("* SEARCH\r\nA3 OK Search completed\r\n"),
         expect("A4 NOOP"), send("* 1 EXISTS\r\nA4 OK NOOP completed\r\n"),
         expect("A5 " + search_for_token()), send("* SEARCH 7\r\nA5 OK Search completed\r\n"),
         // Cleanup: this check's messages (the one found and an earlier, late one), then stale ones.
         expect("A6 " + search_for_token()), send("* SEARCH 3 7\r\nA6 OK\r\n"),
         expect("A7 UID SEARCH HEADER X-Tierwatch-Roundtrip \"\" OLDER 86400"), send("* SEARCH 2 3\r\nA7 OK\r\n"),
         expect("A8 UID STORE 2,3,7 +FLAGS.SILENT (\\Deleted)"), send("A8 OK Store completed\r\n"),
         expect("A9 UID EXPUNGE 2,3,7"), send("* 1 EXPUNGE\r\nA9 OK Expunge completed\r\n"),
         expect("A10 LOGOUT"), send("* BYE\r\nA10 OK bye\r\n")},
        pki_.good);
    const auto result = probe(roundtrip_check(smtp, imap), smtp);
    EXPECT_TRUE(result.ok()) << result.detail << " / smtp: " << smtp.mismatch() << " / imap: " << imap.mismatch();
    EXPECT_TRUE(result.find(roundtrip_delivery_measurement));
    EXPECT_EQ(smtp.mismatch(), "");
    EXPECT_EQ(imap.mismatch(), "");
    EXPECT_EQ(imap.received().size(), 10u);
    // The token searched for is the one submitted.
    const auto lines = smtp.received();
    const auto header = std::find_if(lines.begin(), lines.end(),
                                     [](const std::string& l) { return l.starts_with("X-Tierwatch-Roundtrip: "); });
    ASSERT_NE(header, lines.end());
    const std::string token = header->substr(23, header->find('\r') - 23);
    EXPECT_NE(imap.received().at(2).find("\"" + token + "\""), std::string::npos) << imap.received().at(2);
    expect_no_secret(result);
}

TEST_F(RoundtripProbeTest, WithoutUidplusOrWithinUsesBeforeAndExpunge) {
    ScriptedServer smtp(accepting_smtp(), pki_.good);
    ScriptedServer imap(
        {send("* OK [CAPABILITY IMAP4rev1] ready\r\n"), expect("A1 LOGIN"), send("A1 OK\r\n"),
         expect("A2 SELECT"), send("A2 OK\r\n"), expect("A3 " + search_for_token()),
         send("* SEARCH 5\r\nA3 OK\r\n"), expect("A4 " + search_for_token()), send("* SEARCH 5\r\nA4 OK\r\n"),
         expect("A5 UID SEARCH HEADER X-Tierwatch-Roundtrip \"\" BEFORE "), send("* SEARCH\r\nA5 OK\r\n"),
         expect("A6 UID STORE 5 +FLAGS.SILENT (\\Deleted)"), send("A6 OK\r\n"), expect("A7 EXPUNGE"),
         send("A7 OK\r\n"), expect("A8 LOGOUT"), send("A8 OK\r\n")},
        pki_.good);
    const auto result = probe(roundtrip_check(smtp, imap), smtp);
    EXPECT_TRUE(result.ok()) << result.detail << " / imap: " << imap.mismatch();
    EXPECT_EQ(imap.mismatch(), "");
}

TEST_F(RoundtripProbeTest, RejectedRecipientFailsTheSubmitLeg) {
    ScriptedServer smtp(accepting_smtp("550 5.1.1 <probe@example.test>: Recipient address rejected\r\n"),
                        pki_.good);
    ScriptedServer imap({hold()}, pki_.good);
    const auto result = probe(roundtrip_check(smtp, imap), smtp);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "submit: RCPT TO answered 550 5.1.1 <probe@example.test>: Recipient address rejected");
    EXPECT_FALSE(result.find(roundtrip_delivery_measurement));
    EXPECT_TRUE(imap.received().empty());  // no fetch without a submitted message
}

TEST_F(RoundtripProbeTest, ImapRefusingTheLoginFailsTheFetchLegAsAuth) {
    ScriptedServer smtp(accepting_smtp(), pki_.good);
    ScriptedServer imap({send("* OK [CAPABILITY IMAP4rev1] ready\r\n"), expect("A1 LOGIN"),
                         send("A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"), hold()},
                        pki_.good);
    const auto result = probe(roundtrip_check(smtp, imap), smtp);
    EXPECT_REASON(result, FailureReason::auth);
    EXPECT_EQ(result.detail, "fetch: LOGIN answered NO [AUTHENTICATIONFAILED] Authentication failed.");
    expect_no_secret(result);
}

// ---- POP3 ----

TEST_F(MailProbeTest, Pop3UserPassStatQuit) {
    ScriptedServer server(
        {send("+OK Dovecot ready.\r\n"), expect("CAPA"),
         send("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n.\r\n"), expect("USER probe"),
         send("+OK\r\n"), expect("PASS " + std::string(kPassword)), send("+OK Logged in.\r\n"),
         expect("STAT"), send("+OK 2 1024\r\n"), expect("QUIT"), send("+OK Logging out.\r\n")},
        pki_.good);
    auto check = with_login(make_check(Protocol::pop3));
    check.mail.expect_capabilities = {"UIDL", "SASL PLAIN"};
    const auto result = probe(check, server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
}

TEST_F(MailProbeTest, Pop3StlsThenAuthPlain) {
    ScriptedServer server(
        {send("+OK ready\r\n"), expect("CAPA"), send("+OK\r\nSTLS\r\n.\r\n"), expect("STLS"),
         send("+OK Begin TLS negotiation\r\n"), starttls(), expect("CAPA"),
         send("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"), expect("AUTH PLAIN"), send("+ \r\n"),
         expect(sasl_plain("probe", kPassword)), send("+OK Logged in.\r\n"), expect("STAT"),
         send("+OK 0 0\r\n"), expect("QUIT"), send("+OK bye\r\n")},
        pki_.good);
    auto check = with_login(make_check(Protocol::pop3));
    check.mail.starttls = true;
    check.mail.auth = MailAuth::plain;
    check.mail.expect_capabilities = {"SASL PLAIN", "STLS"};
    const auto result = probe(check, server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    EXPECT_TRUE(result.certificate);
}

TEST_F(MailProbeTest, Pop3sWithoutCapaAndWithoutLogin) {
    ScriptedServer server({send("+OK ready\r\n"), expect("CAPA"), send("-ERR unknown command\r\n"),
                           expect("QUIT"), send("+OK bye\r\n")},
                          pki_.good, true);
    const auto result = probe(make_check(Protocol::pop3s), server);
    EXPECT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
}

TEST_F(MailProbeTest, Pop3ErrGreetingWrongPasswordAndNoStls) {
    ScriptedServer refusing({send("-ERR [SYS/TEMP] Too many connections\r\n"), hold()}, pki_.good);
    auto result = probe(make_check(Protocol::pop3), refusing);
    EXPECT_REASON(result, FailureReason::bad_greeting);
    EXPECT_EQ(result.detail, "greeting -ERR [SYS/TEMP] Too many connections");

    ScriptedServer wrong(
        {send("+OK ready\r\n"), expect("CAPA"), send("+OK\r\nUSER\r\n.\r\n"), expect("USER probe"),
         send("+OK\r\n"), expect("PASS"), send("-ERR [AUTH] Authentication failed.\r\n"), hold()},
        pki_.good);
    result = probe(with_login(make_check(Protocol::pop3)), wrong);
    EXPECT_REASON(result, FailureReason::auth);
    EXPECT_EQ(result.detail, "PASS answered -ERR [AUTH] Authentication failed.");
    expect_no_secret(result);

    ScriptedServer no_stls(
        {send("+OK ready\r\n"), expect("CAPA"), send("+OK\r\nUSER\r\n.\r\n"), hold()}, pki_.good);
    auto check = make_check(Protocol::pop3);
    check.mail.starttls = true;
    result = probe(check, no_stls);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "STARTTLS not offered (no STLS capability)");
}

TEST_F(MailProbeTest, Pop3DataInjectedAfterStlsAndHugeLinesAreProtocol) {
    ScriptedServer injecting({send("+OK ready\r\n"), expect("CAPA"), send("+OK\r\nSTLS\r\n.\r\n"),
                              expect("STLS"), send("+OK Begin TLS\r\n+OK injected\r\n"), hold()},
                             pki_.good);
    auto check = make_check(Protocol::pop3);
    check.mail.starttls = true;
    auto result = probe(check, injecting);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "server sent data after the STARTTLS reply");

    ScriptedServer huge({send("+OK ready\r\n"), expect("CAPA"),
                         send("+OK\r\n" + std::string(100000, 'X') + "\r\n.\r\n"), hold()},
                        pki_.good);
    result = probe(make_check(Protocol::pop3), huge);
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "line longer than 8192 bytes");
}

TEST_F(MailProbeTest, Pop3NeverSendsALineBreakInUserPass) {
    ScriptedServer server(
        {send("+OK ready\r\n"), expect("CAPA"), send("+OK\r\nUSER\r\n.\r\n"), hold()}, pki_.good);
    const auto result = probe(with_login(make_check(Protocol::pop3), "pass\r\nDELE 1"), server);
    EXPECT_REASON(result, FailureReason::auth);
    expect_no_secret(result, "pass\r\nDELE 1");
    EXPECT_EQ(server.received(), std::vector<std::string>{"CAPA"});
}

}  // namespace
}  // namespace tierwatch

// The ldap, ldaps and ldap_replication probers against scripted in-process LDAP servers on
// 127.0.0.x (BER from the codec, TLS from a PKI minted per run), and the pure replication-lag
// arithmetic: success paths and each fault mapped to its one failure reason.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "probes/ldap/ldap.hpp"
#include "probes/net/use_tuple.hpp"
#include "probes/wire/ldap_codec.hpp"
#include "probes/wire/ldap_filter.hpp"
#include "probes/ldap/ldap_replication.hpp"
#include "probes/net/probe.hpp"
#include "probes/net/tls_context.hpp"
#include "probes/net/tls_session.hpp"
#include "tests/support/probe_fixture.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using asio::ip::tcp;
using detail::BerWriter;
namespace ber = detail::ber;

// ---- server-side BER: the responses a real slapd sends -----------------------------------------

constexpr std::uint8_t bind_request = 0x60;
constexpr std::uint8_t unbind_request = 0x42;
constexpr std::uint8_t search_request = 0x63;
constexpr std::uint8_t extended_request = 0x77;

std::string message(std::int32_t id, const std::function<void(BerWriter&)>& op) {
    std::string out;
    BerWriter writer(out);
    const auto sequence = writer.open(ber::sequence);
    writer.integer(ber::integer, id);
    op(writer);
    writer.close(sequence);
    return out;
}

// LDAPResult under `tag` (bind 0x61, search done 0x65, extended 0x78), optional responseName.
std::string result_pdu(std::int32_t id, std::uint8_t tag, int code,
                       std::string_view diagnostic = {}, std::string_view response_name = {}) {
    return message(id, [&](BerWriter& writer) {
        const auto op = writer.open(tag);
        writer.integer(ber::enumerated, code);
        writer.primitive(ber::octet_string, "");
        writer.primitive(ber::octet_string, diagnostic);
        if (!response_name.empty()) writer.primitive(ber::context | 10, response_name);
        writer.close(op);
    });
}

std::string entry_pdu(std::int32_t id, std::string_view dn, std::string_view type,
                      const std::vector<std::string>& values) {
    return message(id, [&](BerWriter& writer) {
        const auto op = writer.open(0x64);
        writer.primitive(ber::octet_string, dn);
        const auto attributes = writer.open(ber::sequence);
        const auto attribute = writer.open(ber::sequence);
        writer.primitive(ber::octet_string, type);
        const auto set = writer.open(ber::set);
        for (const auto& value : values) writer.primitive(ber::octet_string, value);
        writer.close(set);
        writer.close(attribute);
        writer.close(attributes);
        writer.close(op);
    });
}

using Reply = std::function<std::string(std::int32_t id)>;
Reply bind_ok() {
    return [](std::int32_t id) { return result_pdu(id, 0x61, 0); };
}
Reply done(int code = 0, std::string diagnostic = {}) {
    return [=](std::int32_t id) { return result_pdu(id, 0x65, code, diagnostic); };
}
Reply entry_then_done(std::vector<std::string> csns = {
                          "20261122000000.000000Z#000000#001#000000"}) {
    return [=](std::int32_t id) {
        return entry_pdu(id, "dc=example,dc=test", "contextCSN", csns) + result_pdu(id, 0x65, 0);
    };
}

// ---- the scripted server
// -------------------------------------------------------------------------

struct Step {
    enum class Kind { exchange, starttls, send, hold };
    Kind kind;
    std::uint8_t request = 0;  // exchange: the protocolOp tag the client must send
    Reply reply;               // exchange: the answer, given the request's message ID
    std::string bytes;         // send
};
Step exchange(std::uint8_t request, Reply reply = {}) {
    return {Step::Kind::exchange, request, std::move(reply), {}};
}
Step starttls() {
    return {Step::Kind::starttls, 0, {}, {}};
}
Step send(std::string bytes) {
    return {Step::Kind::send, 0, {}, std::move(bytes)};
}
Step hold() {
    return {Step::Kind::hold, 0, {}, {}};
}  // silent until the client gives up

// Splits one whole BER TLV off the front of `buffer`; false while it is incomplete.
bool take_pdu(std::string& buffer, std::string& pdu) {
    if (buffer.size() < 2) return false;
    std::size_t length = static_cast<unsigned char>(buffer[1]);
    std::size_t header = 2;
    if (length & 0x80) {
        const std::size_t octets = length & 0x7f;
        if (buffer.size() < 2 + octets) return false;
        length = 0;
        for (std::size_t i = 0; i < octets; ++i)
            length = length << 8 | static_cast<unsigned char>(buffer[2 + i]);
        header += octets;
    }
    if (buffer.size() < header + length) return false;
    pdu = buffer.substr(0, header + length);
    buffer.erase(0, header + length);
    return true;
}

// LDAPMessage ::= SEQUENCE { messageID INTEGER (short form here), protocolOp }.
std::pair<std::int32_t, std::uint8_t> id_and_op(std::string_view pdu) {
    const std::size_t header =
        (static_cast<unsigned char>(pdu[1]) & 0x80) ? 2 + (pdu[1] & 0x7f) : 2;
    const std::size_t id_length = static_cast<unsigned char>(pdu[header + 1]);
    std::int32_t id = 0;
    for (std::size_t i = 0; i < id_length; ++i)
        id = id << 8 | static_cast<unsigned char>(pdu[header + 2 + i]);
    return {id, static_cast<std::uint8_t>(pdu[header + 2 + id_length])};
}

// Plays `script` to every connection on its own thread; TLS (implicit or at a starttls step)
// presents the PKI's good leaf (SAN node.test, 127.0.0.1).
class LdapServer {
public:
    LdapServer(std::vector<Step> script, const test::CertKeyPair& certificate,
               bool implicit_tls = false, std::string_view address = "127.0.0.1",
               std::uint16_t port = 0)
        : script_(std::move(script)),
          implicit_tls_(implicit_tls),
          ssl_(asio::ssl::context::tls_server),
          acceptor_(io_, {asio::ip::make_address(address), port}) {
        ssl_.use_certificate_chain_file(certificate.cert_chain.string());
        ssl_.use_private_key_file(certificate.key.string(), asio::ssl::context::pem);
        asio::co_spawn(io_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~LdapServer() {
        io_.stop();
        thread_.join();
    }

    tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
    // Every request PDU, in order.
    std::vector<std::string> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }
    std::string mismatch() const {
        std::lock_guard lock(mutex_);
        return mismatch_;
    }
    // The requests once `count` have arrived (or after a second): the probe may finish before
    // the server thread has read its last, unanswered request.
    std::vector<std::string> received(std::size_t count) const {
        for (int i = 0; i < 100 && received().size() < count; ++i)
            std::this_thread::sleep_for(10ms);
        return received();
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
        std::string buffer;
        if (!implicit_tls_) {
            const bool upgrade = co_await converse(socket, step, buffer);
            if (!upgrade) co_return;
        }
        asio::ssl::stream<tcp::socket> tls(std::move(socket), ssl_);
        auto [error] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
        if (!error) co_await converse(tls, step, buffer);
    }

    // Runs steps from `step` on; true when it stopped at a starttls step.
    template <class Stream>
    asio::awaitable<bool> converse(Stream& stream, std::size_t& step, std::string& buffer) {
        while (step < script_.size()) {
            const Step& current = script_[step++];
            switch (current.kind) {
                case Step::Kind::starttls:
                    co_return true;
                case Step::Kind::send: {
                    auto [error, n] =
                        co_await asio::async_write(stream, asio::buffer(current.bytes), use_tuple);
                    if (error) co_return false;
                    break;
                }
                case Step::Kind::exchange: {
                    std::string pdu;
                    while (!take_pdu(buffer, pdu)) {
                        char chunk[4096];
                        auto [error, n] =
                            co_await stream.async_read_some(asio::buffer(chunk), use_tuple);
                        if (error) co_return record_mismatch("connection ended before a request");
                        buffer.append(chunk, n);
                    }
                    const auto [id, op] = id_and_op(pdu);
                    {
                        std::lock_guard lock(mutex_);
                        received_.push_back(pdu);
                    }
                    if (op != current.request)
                        co_return record_mismatch("unexpected request tag " + std::to_string(op));
                    if (current.reply) {
                        const std::string answer = current.reply(id);
                        auto [error, n] =
                            co_await asio::async_write(stream, asio::buffer(answer), use_tuple);
                        if (error) co_return false;
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

constexpr std::string_view kBindDn = "cn=probe,dc=example,dc=test";
constexpr std::string_view kPassword = "pa\"ss\\w0rd-secret";

class LdapProbeTest : public test::ProbeFixture {
protected:
    static void SetUpTestSuite() { make_suite_pki("ldap-test", {.extra_names = {"127.0.0.2"}}); }
    static void TearDownTestSuite() { remove_suite_pki(); }

    static Check make_check(Protocol protocol, Duration timeout = 2s) {
        Check check = ProbeFixture::make_check(protocol, timeout);
        check.ldap.search_base = "dc=example,dc=test";
        check.ldap.search_filter_ber = compile_ldap_filter(check.ldap.search_filter).ber;
        return check;
    }
    static Check with_bind(Check check, std::string_view password = kPassword) {
        check.ldap.bind_dn = kBindDn;
        check.password = Secret(std::string(password));
        return check;
    }
};

void expect_no_secret(const ProbeResult& result) {
    EXPECT_EQ(result.detail.find(kPassword), std::string::npos) << result.detail;
}

// ---- ldap / ldaps
// --------------------------------------------------------------------------------

TEST_F(LdapProbeTest, AnonymousSearchSendsTheConfiguredRequest) {
    LdapServer server({exchange(search_request, entry_then_done()), exchange(unbind_request)},
                      pki_.good);
    auto check = make_check(Protocol::ldap);
    check.ldap.search_scope = LdapScope::sub;
    check.ldap.search_filter_ber = compile_ldap_filter("(&(objectClass=person)(uid=pro*))").ber;
    check.ldap.search_attributes = {"uid", "mail"};
    check.ldap.size_limit = 5;
    check.ldap.min_entries = 1;
    const auto result = probe(check, server.endpoint());
    ASSERT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    EXPECT_EQ(server.mismatch(), "");
    std::string expected;
    append_search_request(expected, 1,
                          LdapSearch{check.ldap.search_base, LdapScope::sub, 5, 0,
                                     check.ldap.search_filter_ber, check.ldap.search_attributes});
    const auto received = server.received();
    ASSERT_GE(received.size(), 1u);
    EXPECT_EQ(received[0], expected);
    EXPECT_GT(result.phase(Phase::command).count(), 0);
    EXPECT_EQ(result.phase(Phase::auth).count(), 0);
}

TEST_F(LdapProbeTest, SimpleBindThenSearchAndUnbind) {
    LdapServer server({exchange(bind_request, bind_ok()),
                       exchange(search_request, entry_then_done()), exchange(unbind_request)},
                      pki_.good);
    const auto result = probe(with_bind(make_check(Protocol::ldap)), server.endpoint());
    ASSERT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    std::string expected_bind;
    append_bind_request(expected_bind, 1, kBindDn, kPassword);
    const auto received = server.received(3);
    ASSERT_EQ(received.size(), 3u);
    EXPECT_EQ(received[0], expected_bind);
    EXPECT_EQ(id_and_op(received[2]).second, unbind_request);
    EXPECT_GT(result.phase(Phase::auth).count(), 0);
    EXPECT_GT(result.phase(Phase::command).count(), 0);
}

TEST_F(LdapProbeTest, WrongPasswordIsAuthWithTheServersDiagnostic) {
    LdapServer server(
        {exchange(bind_request,
                  [](std::int32_t id) { return result_pdu(id, 0x61, 49, "Invalid credentials"); }),
         hold()},
        pki_.good);
    const auto result =
        probe(with_bind(make_check(Protocol::ldap), "wrong-password"), server.endpoint());
    EXPECT_REASON(result, FailureReason::auth);
    EXPECT_NE(result.detail.find("invalidCredentials (49): Invalid credentials"), std::string::npos)
        << result.detail;
    EXPECT_NE(result.detail.find(kBindDn), std::string::npos) << result.detail;
    EXPECT_EQ(result.detail.find("wrong-password"), std::string::npos) << result.detail;
    expect_no_secret(result);
}

std::vector<Step> starttls_script(std::string after_response = {}) {
    return {exchange(extended_request,
                     [=](std::int32_t id) {
                         return result_pdu(id, 0x78, 0, "", ldap_start_tls_oid) + after_response;
                     }),
            starttls(), exchange(bind_request, bind_ok()),
            exchange(search_request, entry_then_done()), exchange(unbind_request)};
}

TEST_F(LdapProbeTest, StartTlsThenBindAndSearchOverTls) {
    LdapServer server(starttls_script(), pki_.good);
    auto check = with_bind(make_check(Protocol::ldap));
    check.ldap.starttls = true;
    const auto result = probe(check, server.endpoint());
    ASSERT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    ASSERT_TRUE(result.certificate);
    EXPECT_FALSE(result.certificate->tls_version.empty());
    EXPECT_GT(result.phase(Phase::tls).count(), 0);
    std::string expected;
    append_start_tls_request(expected, 1);
    EXPECT_EQ(server.received().at(0), expected);
}

TEST_F(LdapProbeTest, StartTlsResumesItsSessionOnTheNextProbe) {
    LdapServer server(starttls_script(), pki_.good);
    auto check = with_bind(make_check(Protocol::ldap));
    check.ldap.starttls = true;
    check.tls.resume = true;
    TlsSessionSlot slot;
    const auto first = probe(check, server.endpoint(), "node.test", &slot);
    ASSERT_TRUE(first.ok()) << first.detail << " / server: " << server.mismatch();
    EXPECT_FALSE(slot.take_resumption());
    for (int i = 0; i < 2; ++i) {  // a TLS 1.3 ticket is used once: each probe keeps the next
        const auto next = probe(check, server.endpoint(), "node.test", &slot);
        ASSERT_TRUE(next.ok()) << next.detail << " / server: " << server.mismatch();
        EXPECT_TRUE(slot.take_resumption()) << "probe " << i + 2;
        EXPECT_TRUE(next.certificate);
    }
}

TEST_F(LdapProbeTest, BytesAfterTheStartTlsResponseAreAProtocolError) {
    LdapServer server(starttls_script(result_pdu(9, 0x65, 0)), pki_.good);
    auto check = with_bind(make_check(Protocol::ldap));
    check.ldap.starttls = true;
    const auto result = probe(check, server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("after the StartTLS response"), std::string::npos)
        << result.detail;
}

TEST_F(LdapProbeTest, StartTlsRefusedIsProtocolWithTheCode) {
    LdapServer server(
        {exchange(extended_request,
                  [](std::int32_t id) { return result_pdu(id, 0x78, 52, "TLS not configured"); }),
         hold()},
        pki_.good);
    auto check = make_check(Protocol::ldap);
    check.ldap.starttls = true;
    const auto result = probe(check, server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("StartTLS failed: unavailable (52): TLS not configured"),
              std::string::npos)
        << result.detail;
}

TEST_F(LdapProbeTest, LdapsIsImplicitTls) {
    LdapServer server({exchange(bind_request, bind_ok()),
                       exchange(search_request, entry_then_done()), exchange(unbind_request)},
                      pki_.good, true);
    const auto result = probe(with_bind(make_check(Protocol::ldaps)), server.endpoint());
    ASSERT_TRUE(result.ok()) << result.detail << " / server: " << server.mismatch();
    EXPECT_TRUE(result.certificate);
}

TEST_F(LdapProbeTest, LdapsWithAnUntrustedCertificateIsTlsVerify) {
    LdapServer server({hold()}, pki_.self_signed, true);
    const auto result = probe(make_check(Protocol::ldaps), server.endpoint());
    EXPECT_REASON(result, FailureReason::tls_verify);
}

TEST_F(LdapProbeTest, TooFewEntriesIsProtocol) {
    LdapServer server({exchange(search_request, done()), exchange(unbind_request)}, pki_.good);
    auto check = make_check(Protocol::ldap);
    check.ldap.min_entries = 1;
    const auto result = probe(check, server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "search found 0 entries, expected at least 1");
}

TEST_F(LdapProbeTest, SizeLimitExceededAfterEntriesIsFineOnlyWhenTheProbeSetTheLimit) {
    const auto entry_then_limit = [](std::int32_t id) {
        return entry_pdu(id, "uid=a,dc=example,dc=test", "uid", {"a"}) + result_pdu(id, 0x65, 4);
    };
    LdapServer server({exchange(search_request, entry_then_limit), exchange(unbind_request)},
                      pki_.good);
    auto check = make_check(Protocol::ldap);
    check.ldap.size_limit = 1;
    check.ldap.min_entries = 1;
    EXPECT_TRUE(probe(check, server.endpoint()).ok());
    check.ldap.size_limit = 0;  // the server's own limit cut the answer short
    const auto result = probe(check, server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("sizeLimitExceeded (4)"), std::string::npos) << result.detail;
}

TEST_F(LdapProbeTest, SearchErrorNamesTheCodeAndASanitisedDiagnostic) {
    LdapServer server({exchange(search_request, done(32, "no such\x01object\nhere")), hold()},
                      pki_.good);
    const auto result = probe(make_check(Protocol::ldap), server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "search failed: noSuchObject (32): no such\\x01object\\x0ahere");
}

TEST_F(LdapProbeTest, GarbageIsProtocol) {
    LdapServer server({send("220 mx.example.com ESMTP\r\n"), hold()}, pki_.good);
    const auto result = probe(make_check(Protocol::ldap), server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("not an LDAP message"), std::string::npos) << result.detail;
}

TEST_F(LdapProbeTest, OversizePduIsProtocolWithoutWaitingForItsBody) {
    // A SEQUENCE declaring 256 MiB: refused on its header.
    LdapServer server(
        {exchange(search_request,
                  [](std::int32_t) { return std::string("\x30\x84\x10\x00\x00\x00", 6); }),
         hold()},
        pki_.good);
    const auto result = probe(make_check(Protocol::ldap), server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("over the size limit"), std::string::npos) << result.detail;
}

TEST_F(LdapProbeTest, NoticeOfDisconnectionIsProtocol) {
    LdapServer server({exchange(search_request,
                                [](std::int32_t) {
                                    return result_pdu(0, 0x78, 52, "shutting down",
                                                      ldap_notice_of_disconnection_oid);
                                }),
                       hold()},
                      pki_.good);
    const auto result = probe(make_check(Protocol::ldap), server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_EQ(result.detail, "server disconnected: unavailable (52): shutting down");
}

TEST_F(LdapProbeTest, ResponseToAnotherMessageIsProtocol) {
    LdapServer server(
        {exchange(bind_request, [](std::int32_t id) { return result_pdu(id + 5, 0x61, 0); }),
         hold()},
        pki_.good);
    const auto result = probe(with_bind(make_check(Protocol::ldap)), server.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("in answer to bind"), std::string::npos) << result.detail;
}

TEST_F(LdapProbeTest, SilentServerIsTimeout) {
    LdapServer server({hold()}, pki_.good);
    const auto result = probe(with_bind(make_check(Protocol::ldap, 300ms)), server.endpoint());
    EXPECT_REASON(result, FailureReason::timeout);
    EXPECT_GE(result.total, 300ms);
    EXPECT_LT(result.total, 2s);
}

TEST_F(LdapProbeTest, RefusedConnection) {
    tcp::endpoint endpoint;
    {
        asio::io_context io;
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        endpoint = acceptor.local_endpoint();
    }
    const auto result = probe(make_check(Protocol::ldap), endpoint);
    EXPECT_REASON(result, FailureReason::connect_refused);
}

// ---- sans-io judgements ---------------------------------------------------------------------

TEST(LdapJudgement, ResultCodesMapToReasons) {
    EXPECT_FALSE(ldap_result_failure("bind", LdapResult{0, "", ""}));
    const auto auth = ldap_result_failure("bind", LdapResult{49, "", ""});
    ASSERT_TRUE(auth);
    EXPECT_EQ(auth->reason, FailureReason::auth);
    EXPECT_EQ(auth->detail, "bind failed: invalidCredentials (49)");
    const auto busy = ldap_result_failure("search", LdapResult{51, "", "try later"});
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->reason, FailureReason::protocol);
    EXPECT_EQ(busy->detail, "search failed: busy (51): try later");
}

TEST(LdapJudgement, SearchOutcomes) {
    LdapSearchOutcome outcome;
    outcome.entries = 2;
    EXPECT_FALSE(judge_search(outcome, 0, 2));
    EXPECT_TRUE(judge_search(outcome, 0, 3));
    outcome.done.code = 4;
    EXPECT_FALSE(judge_search(outcome, 2, 1));
    EXPECT_TRUE(judge_search(outcome, 0, 1));
    outcome.entries = 0;
    EXPECT_TRUE(
        judge_search(outcome, 2, 0));  // a limit hit before any entry came back is not an answer
}

// ---- replication lag arithmetic -------------------------------------------------------------

ContextCsn csn(std::string_view text) {
    auto parsed = parse_context_csn(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(ContextCsn{});
}

TEST(ReplicationLag, NewestCsnPerServerId) {
    std::string bad;
    const std::vector<std::string> values{"20261122100000.000000Z#000000#001#000000",
                                          "20261122100500.000000Z#000003#002#000000",
                                          "20261122100100.000000Z#000000#001#000000"};
    const auto newest = newest_csn_per_sid(values, bad);
    ASSERT_TRUE(newest);
    ASSERT_EQ(newest->size(), 2u);
    EXPECT_EQ((*newest)[0].sid, 1u);
    EXPECT_EQ((*newest)[0].time, csn("20261122100100.000000Z#000000#001#000000").time);
    EXPECT_EQ((*newest)[1].sid, 2u);

    const std::vector<std::string> broken{"20261122100000.000000Z#000000#001#000000", "yesterday"};
    EXPECT_FALSE(newest_csn_per_sid(broken, bad));
    EXPECT_EQ(bad, "yesterday");
}

TEST(ReplicationLag, PerServerIdDifferenceTheLargestWins) {
    const auto now = std::chrono::system_clock::now();
    const std::vector<ContextCsn> node{csn("20261122100000.000000Z#000000#001#000000"),
                                       csn("20261122100000.000000Z#000000#002#000000")};
    // In sync.
    EXPECT_EQ(replication_lag_seconds(node, node, now), 0.0);
    // The peer has SID 1 changes 12.5 s newer and SID 2 changes 3 s newer: 12.5 s behind.
    const std::vector<ContextCsn> peer{csn("20261122100012.500000Z#000000#001#000000"),
                                       csn("20261122100003.000000Z#000000#002#000000")};
    EXPECT_DOUBLE_EQ(replication_lag_seconds(node, peer, now), 12.5);
    // The node ahead of its peer is the peer's lag, not its own.
    EXPECT_EQ(replication_lag_seconds(peer, node, now), 0.0);
}

TEST(ReplicationLag, AServerIdTheNodeNeverSawCountsFromNow) {
    const auto peer_change = csn("20261122100000.000000Z#000000#003#000000");
    const auto now = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            peer_change.time.time_since_epoch()) +
        90s);
    const std::vector<ContextCsn> node{csn("20261122100000.000000Z#000000#001#000000")};
    const std::vector<ContextCsn> peer{csn("20261122100000.000000Z#000000#001#000000"),
                                       peer_change};
    EXPECT_DOUBLE_EQ(replication_lag_seconds(node, peer, now), 90.0);
    // Nothing to compare: no lag.
    EXPECT_EQ(replication_lag_seconds(node, {}, now), 0.0);
}

// ---- ldap_replication end to end: the node on 127.0.0.1, its peer on 127.0.0.2, one port -----

class ReplicationProbeTest : public LdapProbeTest {
protected:
    static Check replication_check(std::uint16_t port, Duration timeout = 2s) {
        auto check = with_bind(make_check(Protocol::ldap_replication, timeout));
        check.port = port;
        check.ldap.members = {{"ldap1", "127.0.0.1", ""}, {"ldap2", "127.0.0.2", ""}};
        return check;
    }
    static std::vector<Step> csn_script(std::vector<std::string> csns) {
        return {exchange(bind_request, bind_ok()),
                exchange(search_request, entry_then_done(std::move(csns))),
                exchange(unbind_request)};
    }
};

TEST_F(ReplicationProbeTest, LagBehindAPeerIsMeasuredAndNamed) {
    LdapServer node(csn_script({"20261122100000.000000Z#000000#001#000000",
                                "20261122100000.000000Z#000000#002#000000"}),
                    pki_.good);
    const auto port = node.endpoint().port();
    LdapServer peer(csn_script({"20261122100030.000000Z#000000#001#000000",
                                "20261122100000.000000Z#000000#002#000000"}),
                    pki_.good, false, "127.0.0.2", port);
    const auto check = replication_check(port);
    const auto result = probe(check, node.endpoint());
    ASSERT_TRUE(result.ok()) << result.detail << " / " << node.mismatch() << " / "
                             << peer.mismatch();
    ASSERT_EQ(result.measurements.size(), 1u);
    EXPECT_EQ(result.measurements[0].kind, &ldap_replication_lag_measurement);
    EXPECT_EQ(result.measurements[0].label, "ldap2");
    EXPECT_DOUBLE_EQ(result.measurements[0].value, 30.0);
    EXPECT_EQ(result.detail, "lag 30.0s behind ldap2");
    // The base search asked for contextCSN only.
    std::string expected;
    const std::vector<std::string> attributes{"contextCSN"};
    append_search_request(expected, 2,
                          LdapSearch{"dc=example,dc=test", LdapScope::base, 0, 0, {}, attributes});
    EXPECT_EQ(peer.received().at(1), expected);
    expect_no_secret(result);
}

TEST_F(ReplicationProbeTest, AnUnreadablePeerIsNotALag) {
    LdapServer node(csn_script({"20261122100000.000000Z#000000#001#000000"}), pki_.good);
    const auto port = node.endpoint().port();
    LdapServer peer({hold()}, pki_.good, false, "127.0.0.2", port);
    const auto result = probe(replication_check(port, 500ms), node.endpoint());
    ASSERT_TRUE(result.ok()) << result.detail;
    EXPECT_TRUE(result.measurements.empty());
    EXPECT_EQ(result.detail, "no peer could be read; unreadable peers: ldap2 (timeout)");
}

TEST_F(ReplicationProbeTest, AnUnreadableNodeIsItsOwnFailure) {
    LdapServer node(
        {exchange(bind_request, [](std::int32_t id) { return result_pdu(id, 0x61, 49); }), hold()},
        pki_.good);
    const auto port = node.endpoint().port();
    LdapServer peer(csn_script({"20261122100000.000000Z#000000#001#000000"}), pki_.good, false,
                    "127.0.0.2", port);
    const auto result = probe(replication_check(port), node.endpoint());
    EXPECT_REASON(result, FailureReason::auth);
    EXPECT_TRUE(result.measurements.empty());
}

TEST_F(ReplicationProbeTest, ANamingContextWithoutContextCsnIsProtocol) {
    const auto no_csn = [](std::int32_t id) {
        return entry_pdu(id, "dc=example,dc=test", "dc", {"example"}) + result_pdu(id, 0x65, 0);
    };
    LdapServer node({exchange(bind_request, bind_ok()), exchange(search_request, no_csn),
                     exchange(unbind_request)},
                    pki_.good);
    const auto port = node.endpoint().port();
    LdapServer peer(csn_script({"20261122100000.000000Z#000000#001#000000"}), pki_.good, false,
                    "127.0.0.2", port);
    const auto result = probe(replication_check(port), node.endpoint());
    EXPECT_REASON(result, FailureReason::protocol);
    EXPECT_NE(result.detail.find("no contextCSN"), std::string::npos) << result.detail;
}

}  // namespace
}  // namespace tierwatch

// Proves every fault the test fault server and test PKI produce, using plain Asio/OpenSSL clients.
#include "tests/support/fault_server.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <variant>

#include "tests/support/test_pki.hpp"

namespace tierwatch::test {
namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;
using asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;
using Clock = std::chrono::steady_clock;

// A fresh directory per PKI, removed with the object.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "tierwatch-pki-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// One PKI for the whole binary: every TLS test trusts the same root.
const Pki& shared_pki() {
    static const TempDir dir;
    static const Pki pki = make_pki(dir.path(), {.extra_names = {"extra.test", "127.0.0.2"}});
    return pki;
}

// Runs a client coroutine on the test thread; a hung client fails the test instead of the run.
template <typename T>
T run_client(asio::awaitable<T> client) {
    asio::io_context io;
    auto future = asio::co_spawn(io, std::move(client), asio::use_future);
    io.run_for(10s);
    if (future.wait_for(0s) != std::future_status::ready) {
        throw std::runtime_error("client coroutine did not finish within 10 s");
    }
    return future.get();
}

template <typename Predicate>
bool eventually(Predicate predicate) {
    for (const auto deadline = Clock::now() + 5s; Clock::now() < deadline;
         std::this_thread::sleep_for(5ms)) {
        if (predicate()) {
            return true;
        }
    }
    return predicate();
}

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(use_awaitable);
}

asio::awaitable<tcp::socket> connect_to(tcp::endpoint endpoint) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(endpoint, use_awaitable);
    co_return socket;
}

struct ReadOutcome {
    std::string data;
    boost::system::error_code error;  // eof when the server closed cleanly
    bool timed_out = false;
};

template <typename Stream>
asio::awaitable<boost::system::error_code> read_until_error(Stream& stream, std::string& data) {
    std::array<char, 4096> chunk;
    for (;;) {
        auto [error, size] =
            co_await stream.async_read_some(asio::buffer(chunk), asio::as_tuple(use_awaitable));
        data.append(chunk.data(), size);
        if (error) {
            co_return error;
        }
    }
}

// Everything the server sends until it closes, or until limit passes.
template <typename Stream>
asio::awaitable<ReadOutcome> read_for(Stream& stream, std::chrono::milliseconds limit) {
    ReadOutcome outcome;
    auto finished = co_await (read_until_error(stream, outcome.data) || pause(limit));
    if (finished.index() == 0) {
        outcome.error = std::get<0>(finished);
    } else {
        outcome.timed_out = true;
    }
    co_return outcome;
}

template <typename Stream>
asio::awaitable<std::string> read_line(Stream& stream) {
    std::string line;
    co_await asio::async_read_until(stream, asio::dynamic_buffer(line, 4096), "\r\n",
                                    use_awaitable);
    co_return line;
}

template <typename Stream>
asio::awaitable<ReadOutcome> http_get(Stream& stream, std::string_view target) {
    const std::string request =
        "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(request), use_awaitable);
    co_return co_await read_for(stream, 5s);
}

struct TlsOutcome {
    boost::system::error_code error;
    long verify_result = X509_V_OK;
    long seconds_to_not_after = 0;  // of the presented leaf, when the handshake succeeded
    std::string received;           // banner or HTTP reply after the handshake
};

struct TlsClientOptions {
    std::string host = "localhost";  // checked against the SANs, and sent as SNI if a name
    std::vector<std::filesystem::path> trust{};  // empty: the root CA only
    std::string http_target{};                   // non-empty: send a GET after the handshake
    bool read_banner = false;
};

// A verifying TLS client the way a probe will be: root CA trusted, host name checked by OpenSSL.
asio::awaitable<TlsOutcome> tls_client(tcp::endpoint endpoint, TlsClientOptions options) {
    asio::ssl::context context(asio::ssl::context::tls_client);
    if (options.trust.empty()) {
        options.trust.push_back(shared_pki().root_ca);
    }
    for (const auto& file : options.trust) {
        context.load_verify_file(file.string());
    }
    context.set_verify_mode(asio::ssl::verify_peer);

    TlsStream stream(co_await connect_to(endpoint), context);
    SSL* ssl = stream.native_handle();
    boost::system::error_code not_ip;
    asio::ip::make_address(options.host, not_ip);
    if (not_ip) {
        SSL_set_tlsext_host_name(ssl, options.host.c_str());
        SSL_set1_host(ssl, options.host.c_str());
    } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), options.host.c_str());
    }

    TlsOutcome outcome;
    std::tie(outcome.error) = co_await stream.async_handshake(asio::ssl::stream_base::client,
                                                              asio::as_tuple(use_awaitable));
    outcome.verify_result = SSL_get_verify_result(ssl);
    if (outcome.error) {
        co_return outcome;
    }
    if (X509* leaf = SSL_get0_peer_certificate(ssl)) {
        int days = 0;
        int seconds = 0;
        ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(leaf));
        outcome.seconds_to_not_after = days * 86400L + seconds;
    }
    if (options.read_banner) {
        outcome.received = co_await read_line(stream);
    } else if (!options.http_target.empty()) {
        outcome.received = (co_await http_get(stream, options.http_target)).data;
    }
    co_return outcome;
}

FaultOptions tls_options(CertVariant variant, Behaviour behaviour = Behaviour::tls) {
    FaultOptions options{.behaviour = behaviour};
    options.certificate = shared_pki().leaf(variant);
    return options;
}

std::size_t count_certificates(const std::filesystem::path& pem) {
    std::ifstream in(pem);
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    std::size_t count = 0;
    for (auto at = text.find("BEGIN CERTIFICATE"); at != std::string::npos;
         at = text.find("BEGIN CERTIFICATE", at + 1)) {
        ++count;
    }
    return count;
}

TEST(TestPki, IsFastAndCanBeMadeRepeatedly) {
    for (int round = 0; round < 2; ++round) {
        const TempDir dir;
        const auto started = Clock::now();
        const Pki pki = make_pki(dir.path());
        EXPECT_LT(Clock::now() - started, 1s);
        EXPECT_EQ(count_certificates(pki.root_ca), 1U);
        EXPECT_EQ(count_certificates(pki.intermediate_ca), 1U);
        for (CertVariant variant : all_cert_variants) {
            SCOPED_TRACE(std::string(to_string(variant)));
            const bool chained =
                variant != CertVariant::self_signed && variant != CertVariant::missing_intermediate;
            EXPECT_EQ(count_certificates(pki.leaf(variant).cert_chain), chained ? 2U : 1U);
            EXPECT_TRUE(std::filesystem::exists(pki.leaf(variant).key));
        }
    }
}

TEST(TestPki, VariantNamesRoundTrip) {
    for (CertVariant variant : all_cert_variants) {
        EXPECT_EQ(parse_cert_variant(to_string(variant)), variant);
    }
    EXPECT_FALSE(parse_cert_variant("bogus"));
}

TEST(FaultServer, RefusesAnythingButLoopback) {
    for (const char* address : {"0.0.0.0", "10.0.0.1", "::1", "::"}) {
        SCOPED_TRACE(address);
        FaultOptions options;
        options.address = asio::ip::make_address(address);
        EXPECT_THROW(FaultServer{options}, std::invalid_argument);
    }
    FaultOptions other_loopback;
    other_loopback.address = asio::ip::make_address("127.0.0.2");
    const FaultServer server(other_loopback);
    EXPECT_EQ(server.endpoint().address(), other_loopback.address);
    EXPECT_NE(server.port(), 0);
}

TEST(FaultServer, TlsWithoutCertificateIsRefused) {
    EXPECT_THROW(FaultServer{FaultOptions{.behaviour = Behaviour::https}}, std::invalid_argument);
}

TEST(FaultServer, BehaviourNamesRoundTrip) {
    for (const char* name : {"banner", "silent", "reset", "garbage", "tls", "http", "https",
                             "huge_header", "trickle", "accept_queue_full"}) {
        const auto behaviour = parse_behaviour(name);
        ASSERT_TRUE(behaviour) << name;
        EXPECT_EQ(to_string(*behaviour), name);
    }
    EXPECT_FALSE(parse_behaviour("bogus"));
}

TEST(FaultServer, BannerArrivesAndConnectionsAreCounted) {
    const FaultServer server(FaultOptions{.behaviour = Behaviour::banner});
    for (int i = 0; i < 3; ++i) {
        const std::string line =
            run_client([](tcp::endpoint endpoint) -> asio::awaitable<std::string> {
                tcp::socket socket = co_await connect_to(endpoint);
                co_return co_await read_line(socket);
            }(server.endpoint()));
        EXPECT_EQ(line, "220 ready\r\n");
    }
    EXPECT_TRUE(eventually([&] { return server.accepted() == 3; }));
}

TEST(FaultServer, DelayedBannerWaitsThenStaysOpen) {
    const FaultServer server(
        FaultOptions{.behaviour = Behaviour::banner, .text = "220 late\r\n", .delay = 300ms});
    const auto started = Clock::now();
    const ReadOutcome outcome =
        run_client([](tcp::endpoint endpoint) -> asio::awaitable<ReadOutcome> {
            tcp::socket socket = co_await connect_to(endpoint);
            co_return co_await read_for(socket, 800ms);
        }(server.endpoint()));
    EXPECT_GE(Clock::now() - started, 300ms);
    EXPECT_EQ(outcome.data, "220 late\r\n");
    EXPECT_TRUE(outcome.timed_out) << "the server must hold the connection open after the banner";
}

TEST(FaultServer, SilentSaysNothingAndKeepsTheConnection) {
    const FaultServer server(FaultOptions{.behaviour = Behaviour::silent});
    const ReadOutcome outcome =
        run_client([](tcp::endpoint endpoint) -> asio::awaitable<ReadOutcome> {
            tcp::socket socket = co_await connect_to(endpoint);
            co_await asio::async_write(socket, asio::buffer(std::string_view("EHLO x\r\n")),
                                       use_awaitable);
            co_return co_await read_for(socket, 300ms);
        }(server.endpoint()));
    EXPECT_TRUE(outcome.timed_out);
    EXPECT_TRUE(outcome.data.empty());
    EXPECT_EQ(server.accepted(), 1U);
}

TEST(FaultServer, ResetGivesConnectionReset) {
    const FaultServer server(FaultOptions{.behaviour = Behaviour::reset});
    // On a loaded machine the RST can overtake the connect's completion: then the connect
    // reports it (the probes call that connection_reset too).
    const ReadOutcome outcome =
        run_client([](tcp::endpoint endpoint) -> asio::awaitable<ReadOutcome> {
            tcp::socket socket(co_await asio::this_coro::executor);
            auto [connect_error] = co_await socket.async_connect(endpoint, asio::as_tuple(use_awaitable));
            if (connect_error) co_return ReadOutcome{{}, connect_error, false};
            co_return co_await read_for(socket, 2s);
        }(server.endpoint()));
    EXPECT_FALSE(outcome.timed_out);
    EXPECT_EQ(outcome.error, asio::error::connection_reset) << outcome.error.message();
}

TEST(FaultServer, GarbageIsReadablePlainAndBreaksTls) {
    const FaultServer server(FaultOptions{.behaviour = Behaviour::garbage});
    const ReadOutcome plain =
        run_client([](tcp::endpoint endpoint) -> asio::awaitable<ReadOutcome> {
            tcp::socket socket = co_await connect_to(endpoint);
            co_return co_await read_for(socket, 3s);
        }(server.endpoint()));
    EXPECT_EQ(plain.data, "HTTP/1.0 400 junk\r\n\r\n");
    EXPECT_EQ(plain.error, asio::error::eof) << plain.error.message();

    const TlsOutcome tls = run_client(tls_client(server.endpoint(), {}));
    ASSERT_TRUE(tls.error);
    EXPECT_EQ(tls.error.category(), asio::error::get_ssl_category()) << tls.error.message();
    EXPECT_EQ(tls.verify_result, X509_V_OK) << "no certificate was ever presented";
}

TEST(FaultServer, TlsGoodCertificateVerifiesAndBannerFollows) {
    FaultOptions options = tls_options(CertVariant::good);
    options.text = "* OK IMAP ready\r\n";
    const FaultServer server(options);
    for (const char* host :
         {"localhost", "node.test", "mail.test", "127.0.0.1", "extra.test", "127.0.0.2"}) {
        SCOPED_TRACE(host);
        const TlsOutcome outcome =
            run_client(tls_client(server.endpoint(), {.host = host, .read_banner = true}));
        EXPECT_FALSE(outcome.error) << outcome.error.message();
        EXPECT_EQ(outcome.verify_result, X509_V_OK)
            << X509_verify_cert_error_string(outcome.verify_result);
        EXPECT_EQ(outcome.received, "* OK IMAP ready\r\n");
        EXPECT_GT(outcome.seconds_to_not_after, 300L * 86400);
    }
}

TEST(FaultServer, TlsExpiringSoonVerifiesButExpiresWithinThreeDays) {
    const FaultServer server(tls_options(CertVariant::expiring_soon));
    const TlsOutcome outcome = run_client(tls_client(server.endpoint(), {}));
    EXPECT_FALSE(outcome.error) << outcome.error.message();
    EXPECT_EQ(outcome.verify_result, X509_V_OK);
    EXPECT_GT(outcome.seconds_to_not_after, 2L * 86400);
    EXPECT_LE(outcome.seconds_to_not_after, 3L * 86400);
}

struct BadCertificateCase {
    CertVariant variant;
    long verify_error;
};

class BadCertificate : public testing::TestWithParam<BadCertificateCase> {};

TEST_P(BadCertificate, HandshakeFailsWithTheExpectedVerifyError) {
    const FaultServer server(tls_options(GetParam().variant));
    const TlsOutcome outcome = run_client(tls_client(server.endpoint(), {}));
    EXPECT_TRUE(outcome.error);
    EXPECT_EQ(outcome.verify_result, GetParam().verify_error)
        << X509_verify_cert_error_string(outcome.verify_result);
}

INSTANTIATE_TEST_SUITE_P(
    FaultServer, BadCertificate,
    testing::Values(BadCertificateCase{CertVariant::expired, X509_V_ERR_CERT_HAS_EXPIRED},
                    BadCertificateCase{CertVariant::wrong_host, X509_V_ERR_HOSTNAME_MISMATCH},
                    BadCertificateCase{CertVariant::self_signed,
                                       X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
                    BadCertificateCase{CertVariant::missing_intermediate,
                                       X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}),
    [](const testing::TestParamInfo<BadCertificateCase>& info) {
        return std::string(to_string(info.param.variant));
    });

TEST(FaultServer, MissingIntermediateVerifiesWhenTheClientHasTheIntermediate) {
    const FaultServer server(tls_options(CertVariant::missing_intermediate));
    const TlsOutcome outcome = run_client(tls_client(
        server.endpoint(), {.trust = {shared_pki().root_ca, shared_pki().intermediate_ca}}));
    EXPECT_FALSE(outcome.error) << outcome.error.message();
    EXPECT_EQ(outcome.verify_result, X509_V_OK);
}

TEST(FaultServer, HttpRepliesWithConfiguredStatusAndRecordsRequestLines) {
    FaultOptions options{.behaviour = Behaviour::http};
    options.http = {.status = 503, .headers = {{"Retry-After", "5"}}, .body = "down\n"};
    const FaultServer server(options);
    const ReadOutcome outcome =
        run_client([](tcp::endpoint endpoint) -> asio::awaitable<ReadOutcome> {
            tcp::socket socket = co_await connect_to(endpoint);
            co_return co_await http_get(socket, "/health?probe=1");
        }(server.endpoint()));
    EXPECT_EQ(outcome.data,
              "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 5\r\n"
              "Connection: close\r\n\r\ndown\n");
    EXPECT_EQ(outcome.error, asio::error::eof) << outcome.error.message();
    EXPECT_EQ(server.request_lines(), std::vector<std::string>{"GET /health?probe=1 HTTP/1.1"});
}

TEST(FaultServer, HttpRedirectCarriesLocation) {
    FaultOptions options{.behaviour = Behaviour::http};
    options.http = {.status = 302, .location = "https://mail.test/login"};
    const FaultServer server(options);
    const ReadOutcome outcome =
        run_client([](tcp::endpoint endpoint) -> asio::awaitable<ReadOutcome> {
            tcp::socket socket = co_await connect_to(endpoint);
            co_return co_await http_get(socket, "/");
        }(server.endpoint()));
    EXPECT_TRUE(outcome.data.starts_with("HTTP/1.1 302 Found\r\n")) << outcome.data;
    EXPECT_NE(outcome.data.find("\r\nLocation: https://mail.test/login\r\n"), std::string::npos);
}

TEST(FaultServer, HttpsServesOverVerifiedTls) {
    FaultOptions options = tls_options(CertVariant::good, Behaviour::https);
    options.http.body = "ok";
    const FaultServer server(options);
    const TlsOutcome outcome =
        run_client(tls_client(server.endpoint(), {.http_target = "/service/preauth"}));
    EXPECT_FALSE(outcome.error) << outcome.error.message();
    EXPECT_TRUE(outcome.received.starts_with("HTTP/1.1 200 OK\r\n")) << outcome.received;
    EXPECT_TRUE(outcome.received.ends_with("\r\n\r\nok"));
    EXPECT_EQ(server.request_lines(), std::vector<std::string>{"GET /service/preauth HTTP/1.1"});
}

TEST(FaultServer, HugeHeaderDefeatsABoundedReaderAndStaysOpen) {
    const FaultServer server(FaultOptions{.behaviour = Behaviour::huge_header});
    const auto [error, still_open] = run_client(
        [](tcp::endpoint endpoint) -> asio::awaitable<std::pair<boost::system::error_code, bool>> {
            tcp::socket socket = co_await connect_to(endpoint);
            co_await asio::async_write(
                socket, asio::buffer(std::string_view("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
                use_awaitable);
            std::string head;
            auto [read_error, size] =
                co_await asio::async_read_until(socket, asio::dynamic_buffer(head, 64 * 1024),
                                                "\r\n\r\n", asio::as_tuple(use_awaitable));
            const ReadOutcome rest = co_await read_for(socket, 200ms);
            co_return std::pair{read_error, rest.timed_out || !rest.error};
        }(server.endpoint()));
    EXPECT_EQ(error, asio::error::not_found) << error.message();
    EXPECT_TRUE(still_open);
}

TEST(FaultServer, TrickleSendsOneByteAtATime) {
    const FaultServer server(FaultOptions{
        .behaviour = Behaviour::trickle, .text = "220 x\r\n", .trickle_interval = 40ms});
    const auto started = Clock::now();
    const auto [first, all] = run_client(
        [](tcp::endpoint endpoint) -> asio::awaitable<std::pair<std::size_t, std::string>> {
            tcp::socket socket = co_await connect_to(endpoint);
            std::array<char, 64> chunk;
            const std::size_t first_size =
                co_await socket.async_read_some(asio::buffer(chunk), use_awaitable);
            std::string line(chunk.data(), first_size);
            co_await asio::async_read_until(socket, asio::dynamic_buffer(line, 64), "\r\n",
                                            use_awaitable);
            co_return std::pair{first_size, line};
        }(server.endpoint()));
    EXPECT_EQ(first, 1U);
    EXPECT_EQ(all, "220 x\r\n");
    EXPECT_GE(Clock::now() - started, 6 * 40ms);
}

TEST(FaultServer, AcceptQueueFullMakesConnectTimeOut) {
    const FaultServer server(FaultOptions{.behaviour = Behaviour::accept_queue_full});
    const auto started = Clock::now();
    const bool timed_out = run_client([](tcp::endpoint endpoint) -> asio::awaitable<bool> {
        tcp::socket socket(co_await asio::this_coro::executor);
        auto finished =
            co_await (socket.async_connect(endpoint, asio::as_tuple(use_awaitable)) || pause(1s));
        co_return finished.index() == 1;
    }(server.endpoint()));
    EXPECT_TRUE(timed_out) << "connect completed although the accept queue should be full";
    EXPECT_GE(Clock::now() - started, 1s);
    EXPECT_EQ(server.accepted(), 0U);
}

}  // namespace
}  // namespace tierwatch::test

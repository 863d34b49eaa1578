// A loopback server on its own thread that misbehaves on demand, for faults no real server gives.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/test_pki.hpp"

namespace tierwatch::test {

namespace asio = boost::asio;

// What the server does with every connection it accepts.
enum class Behaviour {
    banner,             // send text (after delay), then swallow input until the client closes
    silent,             // accept and say nothing, ever
    reset,              // accept, then close at once with RST
    garbage,            // send text that is no TLS ServerHello (nor anything else), then close
    tls,                // TLS handshake with `certificate`, then like banner (text may be empty)
    http,               // minimal HTTP/1.1: read the request head, send `http`, close
    https,              // the same over TLS with `certificate`
    huge_header,        // HTTP status line, then one 1 MiB header line with no CRLF, held open
    trickle,            // send text one byte every trickle_interval, then hold open
    accept_queue_full,  // listen with a full accept queue and never accept: connects hang
};
std::string_view to_string(Behaviour behaviour) noexcept;
std::optional<Behaviour> parse_behaviour(std::string_view name) noexcept;

struct HttpReply {
    unsigned status = 200;
    // The {} initializers (here and in FaultOptions) keep GCC 12 from warning about members
    // a designated initializer leaves out.
    std::string reason{};  // empty: the standard phrase for status
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string location{};  // non-empty: sent as a Location header (redirects)
    std::string body{};
};

struct FaultOptions {
    Behaviour behaviour = Behaviour::banner;
    // Only 127.0.0.0/8 is accepted: the fault server must never be reachable from elsewhere.
    asio::ip::address address = asio::ip::make_address_v4("127.0.0.1");
    std::uint16_t port = 0;  // 0: ephemeral, read it back with port()
    // banner / tls / garbage / trickle payload; empty picks a default for banner, garbage, trickle.
    std::string text{};
    // Wait before the first byte the server sends (banner, HTTP reply, garbage, trickle).
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds trickle_interval{100};
    std::optional<CertKeyPair> certificate{};  // required by tls and https
    HttpReply http{};
};

class FaultServer {
  public:
    // Binds and listens before returning (throws on failure), then serves on its own thread.
    explicit FaultServer(FaultOptions options);
    // Stops serving and closes every connection (destroy the server to simulate it going away).
    ~FaultServer();
    FaultServer(const FaultServer&) = delete;
    FaultServer& operator=(const FaultServer&) = delete;

    std::uint16_t port() const noexcept { return endpoint_.port(); }
    asio::ip::tcp::endpoint endpoint() const noexcept { return endpoint_; }
    const FaultOptions& options() const noexcept { return options_; }

    // Connections accepted so far (always 0 for accept_queue_full: it never accepts).
    std::size_t accepted() const noexcept { return accepted_.load(); }
    // The request line of every HTTP request read, in arrival order.
    std::vector<std::string> request_lines() const;

  private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::ip::tcp::socket socket);
    template <typename Stream>
    asio::awaitable<void> converse(Stream& stream);
    template <typename Stream>
    asio::awaitable<void> serve_http(Stream& stream);
    void fill_accept_queue();
    void record_request_line(std::string line);

    const FaultOptions options_;
    std::string text_;  // options_.text or the behaviour's default
    // The TLS context must outlive the io_context, whose destruction frees pending sessions.
    std::optional<asio::ssl::context> ssl_context_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    asio::ip::tcp::acceptor acceptor_;
    asio::ip::tcp::endpoint endpoint_;
    // Connections made by the server itself to keep its own accept queue full.
    std::vector<asio::ip::tcp::socket> queue_fillers_;
    std::atomic<std::size_t> accepted_{0};
    mutable std::mutex request_lines_mutex_;
    std::vector<std::string> request_lines_;
    std::thread thread_;
};

}  // namespace tierwatch::test

// The fault server's sessions: one coroutine per accepted connection, one behaviour for all.
#include "tests/support/fault_server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <exception>
#include <stdexcept>
#include <system_error>

namespace tierwatch::test {
namespace {

using asio::use_awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using TlsStream = asio::ssl::stream<tcp::socket>;

constexpr std::size_t max_request_head = 16 * 1024;
constexpr std::size_t huge_header_size = 1024 * 1024;
// How long a closing server waits for the client's FIN or close_notify before it just closes.
constexpr std::chrono::seconds close_grace{1};
// A self-made connect still pending after this long had its SYN dropped: the queue is full.
constexpr std::chrono::milliseconds syn_dropped_after{300};
constexpr int max_queue_fillers = 64;

constexpr std::array behaviour_names{
    std::pair{Behaviour::banner, std::string_view("banner")},
    std::pair{Behaviour::silent, std::string_view("silent")},
    std::pair{Behaviour::reset, std::string_view("reset")},
    std::pair{Behaviour::garbage, std::string_view("garbage")},
    std::pair{Behaviour::tls, std::string_view("tls")},
    std::pair{Behaviour::http, std::string_view("http")},
    std::pair{Behaviour::https, std::string_view("https")},
    std::pair{Behaviour::huge_header, std::string_view("huge_header")},
    std::pair{Behaviour::trickle, std::string_view("trickle")},
    std::pair{Behaviour::accept_queue_full, std::string_view("accept_queue_full")},
};

bool uses_tls(Behaviour behaviour) {
    return behaviour == Behaviour::tls || behaviour == Behaviour::https;
}

std::string default_text(Behaviour behaviour) {
    switch (behaviour) {
        case Behaviour::banner:
            return "220 ready\r\n";
        case Behaviour::garbage:
            return "HTTP/1.0 400 junk\r\n\r\n";
        case Behaviour::trickle:
            return "220 slowly ready\r\n";
        default:
            return {};
    }
}

std::string_view standard_reason(unsigned status) {
    switch (status) {
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

std::string render_reply(const HttpReply& reply) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + ' ';
    out += reply.reason.empty() ? standard_reason(reply.status) : std::string_view(reply.reason);
    out += "\r\n";
    for (const auto& [name, value] : reply.headers) {
        out += name + ": " + value + "\r\n";
    }
    if (!reply.location.empty()) {
        out += "Location: " + reply.location + "\r\n";
    }
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n";
    out += reply.body;
    return out;
}

bool is_loopback_v4(const asio::ip::address& address) {
    return address.is_v4() && (address.to_v4().to_uint() >> 24) == 127;
}

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
    if (duration <= std::chrono::milliseconds::zero()) {
        co_return;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(use_awaitable);
}

// Swallows input until the peer closes: how most faults hold a connection open.
template <typename Stream>
asio::awaitable<void> drain(Stream& stream) {
    std::array<char, 4096> sink;
    for (;;) {
        auto [error, ignored] =
            co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(use_awaitable));
        if (error) {
            co_return;
        }
    }
}

// FIN first and wait for the client's: closing with unread input would turn into an RST and
// could destroy the reply the client has not read yet.
asio::awaitable<void> close_gracefully(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    co_await (drain(socket) || pause(close_grace));
    socket.close(ignored);
}

asio::awaitable<void> send_close_notify(TlsStream& stream) {
    co_await stream.async_shutdown(asio::as_tuple(use_awaitable));
}

asio::awaitable<void> close_gracefully(TlsStream& stream) {
    co_await (send_close_notify(stream) || pause(close_grace));
    co_await close_gracefully(stream.next_layer());
}

template <typename Stream>
asio::awaitable<void> send(Stream& stream, std::string_view bytes) {
    co_await asio::async_write(stream, asio::buffer(bytes), use_awaitable);
}

}  // namespace

std::string_view to_string(Behaviour behaviour) noexcept {
    for (const auto& [value, name] : behaviour_names) {
        if (value == behaviour) {
            return name;
        }
    }
    return "unknown";
}

std::optional<Behaviour> parse_behaviour(std::string_view name) noexcept {
    for (const auto& [value, known] : behaviour_names) {
        if (known == name) {
            return value;
        }
    }
    return std::nullopt;
}

FaultServer::FaultServer(FaultOptions options)
    : options_(std::move(options)),
      text_(options_.text.empty() ? default_text(options_.behaviour) : options_.text),
      work_(io_.get_executor()),
      acceptor_(io_) {
    if (!is_loopback_v4(options_.address)) {
        throw std::invalid_argument("fault server: refusing to listen on " +
                                    options_.address.to_string() + " (127.0.0.0/8 only)");
    }
    if (uses_tls(options_.behaviour)) {
        if (!options_.certificate) {
            throw std::invalid_argument(
                "fault server: " + std::string(to_string(options_.behaviour)) +
                " needs a certificate");
        }
        ssl_context_.emplace(asio::ssl::context::tls_server);
        ssl_context_->set_options(asio::ssl::context::default_workarounds |
                                  asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3);
        ssl_context_->use_certificate_chain_file(options_.certificate->cert_chain.string());
        ssl_context_->use_private_key_file(options_.certificate->key.string(),
                                           asio::ssl::context::pem);
    }

    const tcp::endpoint requested(options_.address, options_.port);
    acceptor_.open(requested.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(requested);
    const bool never_accept = options_.behaviour == Behaviour::accept_queue_full;
    // Backlog 0 lets Linux queue a single connection; every later SYN is dropped.
    acceptor_.listen(never_accept ? 0 : asio::socket_base::max_listen_connections);
    endpoint_ = acceptor_.local_endpoint();

    if (never_accept) {
        fill_accept_queue();
    } else {
        asio::co_spawn(io_, accept_loop(), asio::detached);
    }
    thread_ = std::thread([this] { io_.run(); });
}

FaultServer::~FaultServer() {
    // Stopping abandons every session; destroying io_ (last) then frees their sockets.
    io_.stop();
    thread_.join();
}

std::vector<std::string> FaultServer::request_lines() const {
    const std::lock_guard lock(request_lines_mutex_);
    return request_lines_;
}

void FaultServer::record_request_line(std::string line) {
    const std::lock_guard lock(request_lines_mutex_);
    request_lines_.push_back(std::move(line));
}

void FaultServer::fill_accept_queue() {
    for (int attempt = 0; attempt < max_queue_fillers; ++attempt) {
        tcp::socket socket(io_, endpoint_.protocol());
        socket.native_non_blocking(true);
        // A raw connect: asio's synchronous connect would wait forever on the dropped SYN.
        if (::connect(socket.native_handle(), endpoint_.data(),
                      static_cast<socklen_t>(endpoint_.size())) != 0) {
            if (errno != EINPROGRESS) {
                throw std::system_error(errno, std::system_category(), "fault server: connect");
            }
            pollfd ready{socket.native_handle(), POLLOUT, 0};
            const int polled = ::poll(&ready, 1, static_cast<int>(syn_dropped_after.count()));
            if (polled == 0) {
                return;  // this SYN went unanswered: the queue is full, which is the point
            }
            int error = 0;
            socklen_t length = sizeof error;
            if (polled < 0 ||
                ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
                error != 0) {
                throw std::system_error(error != 0 ? error : errno, std::system_category(),
                                        "fault server: filling the accept queue");
            }
        }
        queue_fillers_.push_back(std::move(socket));
    }
    throw std::runtime_error("fault server: the accept queue never filled up");
}

asio::awaitable<void> FaultServer::accept_loop() {
    for (;;) {
        auto [error, socket] = co_await acceptor_.async_accept(asio::as_tuple(use_awaitable));
        if (error == asio::error::operation_aborted || error == asio::error::bad_descriptor) {
            co_return;
        }
        if (error) {
            co_await pause(std::chrono::milliseconds(10));  // e.g. EMFILE: do not spin
            continue;
        }
        accepted_.fetch_add(1);
        // A client hanging up mid-fault is how most sessions end: their errors are not failures.
        asio::co_spawn(io_, serve(std::move(socket)), [](const std::exception_ptr&) {});
    }
}

asio::awaitable<void> FaultServer::serve(tcp::socket socket) {
    switch (options_.behaviour) {
        case Behaviour::reset:
            // Linger on with a zero timeout makes close() send RST instead of FIN.
            socket.set_option(asio::socket_base::linger(true, 0));
            socket.close();
            co_return;
        case Behaviour::tls:
        case Behaviour::https: {
            TlsStream stream(std::move(socket), *ssl_context_);
            co_await stream.async_handshake(asio::ssl::stream_base::server, use_awaitable);
            co_await converse(stream);
            co_return;
        }
        default:
            co_await converse(socket);
            co_return;
    }
}

template <typename Stream>
asio::awaitable<void> FaultServer::converse(Stream& stream) {
    switch (options_.behaviour) {
        case Behaviour::http:
        case Behaviour::https:
        case Behaviour::huge_header:
            co_await serve_http(stream);
            co_return;
        case Behaviour::silent:
            co_await drain(stream);
            co_return;
        case Behaviour::garbage:
            co_await pause(options_.delay);
            co_await send(stream, text_);
            co_await close_gracefully(stream);
            co_return;
        case Behaviour::trickle:
            co_await pause(options_.delay);
            for (std::size_t i = 0; i < text_.size(); ++i) {
                co_await send(stream, std::string_view(text_).substr(i, 1));
                co_await pause(options_.trickle_interval);
            }
            co_await drain(stream);
            co_return;
        default:  // banner, and tls after its handshake
            co_await pause(options_.delay);
            if (!text_.empty()) {
                co_await send(stream, text_);
            }
            co_await drain(stream);
            co_return;
    }
}

template <typename Stream>
asio::awaitable<void> FaultServer::serve_http(Stream& stream) {
    std::string head;
    co_await asio::async_read_until(stream, asio::dynamic_buffer(head, max_request_head),
                                    "\r\n\r\n", use_awaitable);
    record_request_line(head.substr(0, head.find("\r\n")));
    co_await pause(options_.delay);

    if (options_.behaviour == Behaviour::huge_header) {
        // A header line with no end: a bounded reader must give up, an unbounded one balloons.
        std::string reply = "HTTP/1.1 200 OK\r\nX-Huge: ";
        reply.append(huge_header_size, 'a');
        co_await send(stream, reply);
        co_await drain(stream);
        co_return;
    }
    co_await send(stream, render_reply(options_.http));
    co_await close_gracefully(stream);
}

}  // namespace tierwatch::test

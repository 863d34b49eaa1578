// HTTP listener: accept loop and one coroutine per connection (see http_server.hpp).
#include "daemon/web/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <stdexcept>

#include "probes/net/use_tuple.hpp"

namespace tierwatch {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

asio::ip::tcp::endpoint parse_listen_address(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("listen address \"" + listen + "\" has no port");
    std::string host = listen.substr(0, colon);
    const std::string port_text = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    int port = 0;
    try {
        std::size_t used = 0;
        port = std::stoi(port_text, &used);
        if (used != port_text.size()) throw std::invalid_argument(port_text);
    } catch (const std::exception&) {
        port = -1;
    }
    if (port < 0 || port > 65535) throw std::runtime_error("listen address \"" + listen + "\": bad port");
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("listen address \"" + listen + "\": \"" + host + "\" is not an IP address");
    return {address, static_cast<std::uint16_t>(port)};
}

std::shared_ptr<asio::ssl::context> make_listener_tls(const std::filesystem::path& cert_file,
                                                     const std::filesystem::path& key_file) {
    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    tls->use_certificate_chain_file(cert_file.string(), ec);
    if (ec) throw std::runtime_error("tls_cert_file " + cert_file.string() + ": " + ec.message());
    tls->use_private_key_file(key_file.string(), asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("tls_key_file " + key_file.string() + ": " + ec.message());
    if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
        throw std::runtime_error("tls_key_file " + key_file.string() + " does not match tls_cert_file " +
                                 cert_file.string());
    }
    return tls;
}

HttpServer::HttpServer(asio::any_io_executor executor, const asio::ip::tcp::endpoint& endpoint,
                       HttpHandler handler)
    : acceptor_(executor), handler_(std::move(handler)) {
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        const auto where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
        throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
}

void HttpServer::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void HttpServer::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

asio::ip::tcp::endpoint HttpServer::local_endpoint() const { return acceptor_.local_endpoint(); }

asio::awaitable<void> HttpServer::accept_loop() {
    while (acceptor_.is_open()) {
        auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
        if (error == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (error) {
            // Out of descriptors or similar: pause rather than spin.
            spdlog::warn("HTTP accept failed: {}", error.message());
            asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket), tls_), asio::detached);
    }
}

asio::awaitable<void> HttpServer::serve(asio::ip::tcp::socket socket,
                                        std::shared_ptr<asio::ssl::context> tls) {
    if (!tls) {
        beast::tcp_stream stream(std::move(socket));
        co_await exchange(stream);
        boost::system::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    auto [handshake_error] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (handshake_error) co_return;  // scanners and plain-HTTP clients: nothing to log per attempt
    co_await exchange(stream);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(use_tuple);
}

template <class Stream>
asio::awaitable<void> HttpServer::exchange(Stream& stream) {
    beast::flat_buffer buffer(64 * 1024);
    while (true) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(1024 * 1024);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));  // idle keep-alive ends
        auto [read_error, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (read_error) break;
        const HttpRequest& request = parser.get();
        HttpResponse response(http::status::ok, request.version());
        response.set(http::field::server, "tierwatch");
        response.keep_alive(request.keep_alive());
        try {
            co_await handler_(request, response);
        } catch (const std::exception& error) {
            response.result(http::status::internal_server_error);
            response.set(http::field::content_type, "text/plain; charset=utf-8");
            response.body() = std::string("internal error: ") + error.what() + "\n";
        }
        response.prepare_payload();
        // Written in pieces of at most 1 MiB, each with its own 30 s: a 50 MB /metrics to a slow or
        // busy scraper is cut only when it stops reading, and no single write copies tens of MB
        // while probes wait on the event loop.
        http::response_serializer<http::string_body> serializer(response);
        serializer.limit(1 << 20);
        boost::system::error_code write_error;
        while (!write_error && !serializer.is_done()) {
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
            auto [error, written] = co_await http::async_write_some(stream, serializer, use_tuple);
            write_error = error;
        }
        if (write_error || !response.keep_alive()) break;
    }
}

}  // namespace tierwatch

// The daemon's HTTP listener on the event loop (Beast): bounded requests, keep-alive with an
// idle timeout, one handler function for routing, optional TLS.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <string>

namespace tierwatch {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// A coroutine, so a long response (a large /metrics) can be produced in slices.
using HttpHandler = std::function<boost::asio::awaitable<void>(const HttpRequest&, HttpResponse&)>;

// "127.0.0.1:9469", "[::1]:9469", "localhost:9469" -> endpoint; throws std::runtime_error.
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& listen);

// A server-side TLS context from PEM files (chain first, then the key); throws
// std::runtime_error naming the file that could not be used.
std::shared_ptr<boost::asio::ssl::context> make_listener_tls(const std::filesystem::path& cert_file,
                                                            const std::filesystem::path& key_file);

class HttpServer {
public:
    // Binds at once (so a busy port is a start-up error); serves after start().
    HttpServer(boost::asio::any_io_executor executor, const boost::asio::ip::tcp::endpoint& endpoint,
               HttpHandler handler);
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    // Null: plain HTTP. Applies to connections accepted from now on (a reload renews a certificate).
    void set_tls(std::shared_ptr<boost::asio::ssl::context> tls) { tls_ = std::move(tls); }

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket,
                                       std::shared_ptr<boost::asio::ssl::context> tls);
    template <class Stream>
    boost::asio::awaitable<void> exchange(Stream& stream);

    boost::asio::ip::tcp::acceptor acceptor_;
    HttpHandler handler_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace tierwatch

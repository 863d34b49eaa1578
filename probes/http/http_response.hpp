// The one way tierwatch reads an HTTP response, for the http prober and the HTTP pagers alike:
// Beast's parser under a header and a body limit, its errors sorted into what each caller tells
// apart. A template over the stream so the fuzz harness reads through Beast's test stream with
// the same code, split at any point (tests/fuzz/fuzz_http_response.cpp).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>

namespace tierwatch {

struct HttpLimits {
    std::size_t header = 16 * 1024;
    std::size_t body = 64 * 1024;
};

enum class HttpReadError {
    none,
    header_too_large,  // the header passed HttpLimits::header
    body_too_large,    // the body passed HttpLimits::body
    malformed,         // not an HTTP/1.x response, or the stream ended before or inside it
    io,                // the stream failed (HttpRead::code says how)
};

struct HttpRead {
    HttpReadError error = HttpReadError::none;
    boost::system::error_code code;  // Beast's or the stream's own error, for the detail
    boost::beast::http::response<boost::beast::http::string_body> response;
};

// Sorts a read's error; Beast's parse errors share one category with its limit errors.
HttpReadError classify_http_read_error(const boost::system::error_code& code);

// Reads one response from `stream` into a fresh parser; `buffer` keeps bytes past it.
template <class Stream>
boost::asio::awaitable<HttpRead> read_http_response(Stream& stream, boost::beast::flat_buffer& buffer,
                                                    HttpLimits limits) {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header));
    parser.body_limit(limits.body);
    auto [code, read] = co_await http::async_read(stream, buffer, parser,
                                                  boost::asio::as_tuple(boost::asio::use_awaitable));
    HttpRead result;
    result.code = code;
    result.error = classify_http_read_error(code);
    result.response = parser.release();  // what was read, for a caller that reads on after EOF
    co_return result;
}

}  // namespace tierwatch

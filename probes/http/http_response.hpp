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
#include <algorithm>
#include <boost/asio/error.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "probes/net/use_tuple.hpp"

namespace tierwatch {

struct HttpLimits {
    std::size_t header = 16 * 1024;
    std::size_t body = 64 * 1024;
};

enum class HttpReadError {
    none,
    header_too_large,  // the header, blank line included, passed HttpLimits::header
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

// Reads one response from `stream` (a connection that carries no more than this response).
template <class Stream>
boost::asio::awaitable<HttpRead> read_http_response(Stream& stream, HttpLimits limits) {
    namespace asio = boost::asio;
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    // The header's size is counted here, not by Beast's header_limit: that one applies to the
    // start line and the fields apart, and only to bytes that arrive in pieces, so the same
    // header was refused or accepted by how it was split (tests/fuzz/fuzz_http_response.cpp).
    parser.header_limit(std::numeric_limits<std::uint32_t>::max());
    parser.body_limit(limits.body);
    boost::beast::flat_buffer buffer(limits.header + 64 * 1024);
    HttpRead result;
    const auto finish = [&](boost::system::error_code code) {
        result.code = code;
        result.error = classify_http_read_error(code);
        result.response = parser.release();  // what was read, for a caller that reads on after EOF
        return std::move(result);
    };

    std::size_t header_bytes = 0;  // taken by the parser, which returns once the header is done
    while (!parser.is_header_done()) {
        boost::system::error_code code;
        if (buffer.size() > 0) {
            const std::size_t used = parser.put(buffer.data(), code);
            header_bytes += used;
            buffer.consume(used);
            if (code && code != http::error::need_more) co_return finish(code);
            if (parser.is_header_done()) break;
        }
        if (header_bytes + buffer.size() > limits.header) co_return finish(http::error::header_limit);
        const std::size_t room = std::min<std::size_t>(buffer.max_size() - buffer.size(), 64 * 1024);
        auto [read_error, read] = co_await stream.async_read_some(buffer.prepare(room), use_tuple);
        buffer.commit(read);
        if (read_error == asio::error::eof) {
            // As Beast's own read: silence is end_of_stream, a cut header partial_message.
            if (parser.got_some()) {
                parser.put_eof(code);
            } else {
                code = http::error::end_of_stream;
            }
            co_return finish(code);
        }
        if (read_error) co_return finish(read_error);
    }
    if (header_bytes > limits.header) co_return finish(http::error::header_limit);
    auto [code, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    co_return finish(code);
}

}  // namespace tierwatch

// Reads an HTTP response from bytes through tierwatch's own reader (probes/http/http_response.hpp)
// over Beast's test stream, `read_size` bytes per receive: the unit tests and the fuzz harness
// feed it what a server might send, split wherever they choose.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <string_view>

#include "probes/http/http_response.hpp"

namespace tierwatch::testing {

inline HttpRead read_http_bytes(std::string_view bytes, std::size_t read_size, HttpLimits limits) {
    boost::asio::io_context io;
    boost::beast::test::stream stream(io, bytes);
    stream.close_remote();  // the server closes after its bytes: a read past them sees EOF
    stream.read_size(read_size);
    HttpRead read;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            auto result = co_await read_http_response(stream, limits);
            read = std::move(result);
        },
        boost::asio::detached);
    io.run();
    return read;
}

}  // namespace tierwatch::testing

// The probe's TCP socket, created by the probe instead of by Asio, and the connect that goes with
// it: fewer system calls per probe than Asio's own open + async_connect (see probe_socket.cpp).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace tierwatch {

// Opens a non-blocking, close-on-exec stream socket of `endpoint`'s family into `socket` (which
// must be closed) and starts a non-blocking connect. Returns no error and sets `in_progress` when
// the connect must be awaited (wait_write, then connect_result), no error and not in progress when
// it completed at once, or the error of socket() or connect().
boost::system::error_code start_connect(boost::asio::ip::tcp::socket& socket,
                                        const boost::asio::ip::tcp::endpoint& endpoint, bool& in_progress);

// After the socket became writable: the outcome of the connect (SO_ERROR).
boost::system::error_code connect_result(boost::asio::ip::tcp::socket& socket);

}  // namespace tierwatch

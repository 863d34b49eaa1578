// The probe's own socket: created non-blocking and close-on-exec, adopted by Asio without the
// ioctl it would otherwise issue, and connecting with the same outcomes as Asio's async_connect.
#include "probes/net/probe_socket.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>

namespace tierwatch {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

const auto loopback = asio::ip::make_address("127.0.0.1");

// Connects `socket` to `endpoint` as ProbeSession::connect does; runs `io` until the outcome.
boost::system::error_code connect_like_a_probe(asio::io_context& io, tcp::socket& socket,
                                               const tcp::endpoint& endpoint) {
    bool in_progress = false;
    if (auto error = start_connect(socket, endpoint, in_progress)) return error;
    if (!in_progress) return {};
    std::optional<boost::system::error_code> waited;
    socket.async_wait(tcp::socket::wait_write, [&](const boost::system::error_code& e) { waited = e; });
    io.run_for(std::chrono::seconds(30));
    EXPECT_TRUE(waited.has_value()) << "the connect did not complete within 30 s";
    if (!waited) return asio::error::timed_out;
    if (*waited) return *waited;
    return connect_result(socket);
}

TEST(ProbeSocket, IsNonBlockingAndCloseOnExecAndAsioKnowsIt) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(loopback, 0));
    tcp::socket socket(io);
    bool in_progress = false;
    ASSERT_FALSE(start_connect(socket, acceptor.local_endpoint(), in_progress));
    const int fd = socket.native_handle();
    EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    // Asio's own record of the mode (no system call to read it): if a newer Asio keeps it
    // elsewhere, this fails, and Asio would issue an ioctl(FIONBIO) per probe again.
    EXPECT_TRUE(socket.native_non_blocking());
    EXPECT_FALSE(socket.non_blocking());
}

TEST(ProbeSocket, ConnectsToAListener) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(loopback, 0));
    tcp::socket socket(io);
    EXPECT_FALSE(connect_like_a_probe(io, socket, acceptor.local_endpoint()));
    tcp::socket accepted = acceptor.accept();
    EXPECT_EQ(accepted.remote_endpoint(), socket.local_endpoint());
}

TEST(ProbeSocket, ReportsARefusedConnectionAsAsioDoes) {
    asio::io_context io;
    tcp::endpoint closed_port;
    {
        tcp::acceptor bound(io, tcp::endpoint(loopback, 0));
        closed_port = bound.local_endpoint();
    }
    tcp::socket socket(io);
    EXPECT_EQ(connect_like_a_probe(io, socket, closed_port), asio::error::connection_refused);
}

}  // namespace
}  // namespace tierwatch

// Asio would spend three system calls per probe that a prober does not need: an
// ioctl(FIONBIO) before the first operation (it opens sockets blocking), a poll() inside its
// connect completion, and, for a socket handed to it with assign(), an epoll_ctl(DEL) before
// close (it must assume the descriptor may be duplicated). Creating the socket with
// SOCK_NONBLOCK and telling Asio so removes the first and the last; connecting with ::connect
// and waiting for writability removes the poll().
//
// Asio has no public way to record "already non-blocking, not duplicated": non_blocking(true)
// and native_non_blocking(true) both issue the ioctl again. So the two state bits are set on
// basic_socket's protected implementation, reached through a pointer to that member taken in a
// derived class. Boost 1.81 (Asio 1.26); probe_socket_test fails if a newer Asio stops reading
// the bits (native_non_blocking() reports the same internal_non_blocking bit).
#include "probes/net/probe_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/basic_socket.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <cerrno>
#include <type_traits>

namespace tierwatch {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

using BasicSocket = asio::basic_socket<asio::ip::tcp, asio::any_io_executor>;
static_assert(std::is_base_of_v<BasicSocket, asio::ip::tcp::socket>);

struct ImplementationAccess : BasicSocket {
    static auto member() { return &ImplementationAccess::impl_; }
};

// Marks an assigned socket as non-blocking already (no ioctl before the first operation) and as
// the only holder of its descriptor (close() removes it from epoll; no EPOLL_CTL_DEL).
void adopt_nonblocking_descriptor(asio::ip::tcp::socket& socket) {
    namespace ops = asio::detail::socket_ops;
    auto& implementation = (socket.*ImplementationAccess::member()).get_implementation();
    implementation.state_ |= ops::internal_non_blocking;
    implementation.state_ &= ~ops::possible_dup;
}

error_code last_error() { return error_code(errno, boost::system::system_category()); }

}  // namespace

error_code start_connect(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& endpoint,
                         bool& in_progress) {
    in_progress = false;
    const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            IPPROTO_TCP);
    if (fd < 0) return last_error();
    error_code error;
    socket.assign(endpoint.protocol(), fd, error);
    if (error) {
        ::close(fd);
        return error;
    }
    adopt_nonblocking_descriptor(socket);
    if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0) return {};
    if (errno == EINPROGRESS) {
        in_progress = true;
        return {};
    }
    return last_error();
}

error_code connect_result(asio::ip::tcp::socket& socket) {
    int pending = 0;
    socklen_t size = sizeof pending;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &pending, &size) != 0) return last_error();
    return error_code(pending, boost::system::system_category());
}

}  // namespace tierwatch

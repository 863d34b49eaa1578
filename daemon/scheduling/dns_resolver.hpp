// A non-blocking A/AAAA resolver: c-ares driven by the Asio event loop, with no threads.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace tierwatch {

namespace detail {
class DnsChannel;
}

class DnsResolver {
  public:
    struct Answer {
        std::vector<boost::asio::ip::address>
            addresses;  // every A and AAAA record, sorted, deduplicated
        // Empty on success; otherwise "NXDOMAIN", "no A/AAAA records", "timeout", "REFUSED",
        // "SERVFAIL", "cancelled" or the c-ares text.
        std::string error;
        bool ok() const { return error.empty(); }
    };

    // nameservers: "ip:port", "[ipv6]:port" (port optional, default 53); empty means the system
    // resolver (/etc/resolv.conf). timeout bounds each resolve() as a whole, retransmits included.
    // Throws std::runtime_error on bad nameserver syntax, a non-positive timeout or c-ares init
    // failure.
    DnsResolver(boost::asio::any_io_executor executor, const std::vector<std::string>& nameservers,
                std::chrono::milliseconds timeout = std::chrono::seconds(3));
    // Pending resolves complete with error "cancelled"; c-ares keeps ownership of (and closes) its
    // fds.
    ~DnsResolver();
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    // Queries A and AAAA together; an IP literal resolves to itself without a query. Call it on
    // the resolver's executor (single-threaded). The resolver must outlive the start of the
    // call, not its completion.
    boost::asio::awaitable<Answer> resolve(std::string name);

  private:
    std::shared_ptr<detail::DnsChannel> channel_;
};

}  // namespace tierwatch

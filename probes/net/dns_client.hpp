// A non-blocking DNS client: c-ares driven by the Asio event loop, with no threads. It resolves
// names to addresses (the daemon's node and NLB names) and sends the probes' own queries
// (probes/wire/dns_message), returning the parsed answer with its rcode, AD bit and records.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/wire/dns_message.hpp"

namespace tierwatch {

namespace detail {
class DnsChannel;
}

// The answer to one query. NXDOMAIN, SERVFAIL and REFUSED are data (message.rcode); `error` is
// only for no usable answer: "timeout", "cancelled", a malformed response (with its offset) or
// the c-ares text.
struct DnsAnswer {
    DnsMessage message;
    std::string error;
    bool ok() const { return error.empty(); }
};

class DnsClient {
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
    // resolver (/etc/resolv.conf). timeout bounds each resolve() and query() as a whole,
    // retransmits included. Throws std::runtime_error on bad nameserver syntax, a non-positive
    // timeout or c-ares init failure.
    DnsClient(boost::asio::any_io_executor executor, const std::vector<std::string>& nameservers,
              std::chrono::milliseconds timeout = std::chrono::seconds(3));
    // Pending resolves and queries complete with error "cancelled"; c-ares keeps ownership of
    // (and closes) its fds.
    ~DnsClient();
    DnsClient(const DnsClient&) = delete;
    DnsClient& operator=(const DnsClient&) = delete;

    // Queries A and AAAA together; an IP literal resolves to itself without a query. Call it on
    // the client's executor (single-threaded). The client must outlive the start of the call,
    // not its completion.
    boost::asio::awaitable<Answer> resolve(std::string name);

    // One query built by build_dns_query (RD and AD set, EDNS0) and sent as is; the answer is
    // parsed by parse_dns_message. c-ares retries a truncated UDP answer over TCP; the first
    // answer is reported whatever its rcode (a second channel, opened on first use). `deadline`
    // (a probe's) ends the wait earlier than the client's timeout. Same threading as resolve().
    boost::asio::awaitable<DnsAnswer> query(
        std::string name, DnsType type, DnsQueryOptions options = {},
        std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  private:
    boost::asio::any_io_executor executor_;
    std::vector<std::string> nameservers_;
    std::chrono::milliseconds timeout_;
    std::shared_ptr<detail::DnsChannel> channel_;      // resolve(): c-ares checks the rcodes
    std::shared_ptr<detail::DnsChannel> raw_channel_;  // query(): every rcode is data
};

}  // namespace tierwatch

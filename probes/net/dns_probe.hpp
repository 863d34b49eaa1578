// What the probes that only ask DNS (dnsbl, fcrdns) share: a DnsClient on [daemon] nameservers
// under the request's one deadline, the target's address as bytes, timed queries and the result.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "probes/net/dns_client.hpp"
#include "probes/net/probe.hpp"

namespace tierwatch {

class DnsProbe {
  public:
    // The client's timeout is the request's deadline: every query of the probe shares it.
    DnsProbe(const ProbeRequest& request, ProbeContext& context);

    DnsClient& client() noexcept { return client_; }
    // The target's address, 4 bytes for IPv4 (an IPv4-mapped IPv6 address included) or 16.
    const std::vector<std::uint8_t>& address_bytes() const noexcept { return address_bytes_; }
    ProbeResult& result() noexcept { return result_; }

    // One query under the probe's deadline, its time added to the command phase.
    boost::asio::awaitable<DnsAnswer> query(std::string name, DnsType type);

    // What is left of the deadline, for a connection the probe makes after its lookups.
    Duration remaining() const;

    // Sets the reason and detail and the total time; returns the result.
    ProbeResult finish(FailureReason reason, std::string detail);

    const std::chrono::steady_clock::time_point started;
    const std::chrono::steady_clock::time_point deadline;

  private:
    DnsClient client_;
    std::vector<std::uint8_t> address_bytes_;
    ProbeResult result_;
};

// The IPv4 or IPv6 address as its bytes, an IPv4-mapped IPv6 address as its 4 IPv4 bytes.
std::vector<std::uint8_t> address_bytes(const boost::asio::ip::address& address);
// An A or AAAA record's bytes as text ("198.51.100.7", "2001:db8::7").
std::string address_text(const std::vector<std::uint8_t>& bytes);

}  // namespace tierwatch

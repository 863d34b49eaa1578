// The shared frame of the DNS-only probes.
#include "probes/net/dns_probe.hpp"

#include <algorithm>

namespace tierwatch {

namespace {

std::chrono::milliseconds positive(Duration deadline) {
    // DnsClient refuses a zero timeout; a zero deadline still ends each query at once.
    return std::max(deadline, Duration(1));
}

}  // namespace

std::vector<std::uint8_t> address_bytes(const boost::asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        const auto bytes = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).to_bytes();
        return {bytes.begin(), bytes.end()};
    }
    if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        return {bytes.begin(), bytes.end()};
    }
    const auto bytes = address.to_v6().to_bytes();
    return {bytes.begin(), bytes.end()};
}

std::string address_text(const std::vector<std::uint8_t>& bytes) {
    if (bytes.size() == 4) {
        boost::asio::ip::address_v4::bytes_type v4;
        std::copy(bytes.begin(), bytes.end(), v4.begin());
        return boost::asio::ip::address_v4(v4).to_string();
    }
    boost::asio::ip::address_v6::bytes_type v6{};
    std::copy_n(bytes.begin(), std::min(bytes.size(), v6.size()), v6.begin());
    return boost::asio::ip::address_v6(v6).to_string();
}

DnsProbe::DnsProbe(const ProbeRequest& request, ProbeContext& context)
    : started(std::chrono::steady_clock::now()),
      deadline(started + request.deadline),
      client_(context.executor, context.nameservers, positive(request.deadline)),
      address_bytes_(tierwatch::address_bytes(request.address)) {}

boost::asio::awaitable<DnsAnswer> DnsProbe::query(std::string name, DnsType type) {
    const auto sent = std::chrono::steady_clock::now();
    DnsAnswer answer = co_await client_.query(std::move(name), type, {}, deadline);
    result_.add_phase(Phase::command, std::chrono::steady_clock::now() - sent);
    co_return answer;
}

Duration DnsProbe::remaining() const {
    const auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    return std::max(left, Duration(0));
}

ProbeResult DnsProbe::finish(FailureReason reason, std::string detail) {
    result_.reason = reason;
    result_.detail = std::move(detail);
    result_.total = std::chrono::steady_clock::now() - started;
    return std::move(result_);
}

}  // namespace tierwatch

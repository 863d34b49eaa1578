// IP addresses as plain bytes for the mail DNS checks: text forms parsed and printed without the
// socket API, prefix matching for SPF ip4/ip6 and CIDR lengths, and reverse names.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tierwatch {

struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // an IPv4 address uses the first four
    bool operator==(const IpAddress&) const = default;
};

// Dotted quad without leading zeros (RFC 7208's ip4-network).
std::optional<IpAddress> parse_ipv4(std::string_view text);
// RFC 4291 §2.2 text, "::" and a trailing dotted quad included; no zone index.
std::optional<IpAddress> parse_ipv6(std::string_view text);
// Either family.
std::optional<IpAddress> parse_ip(std::string_view text);

// RFC 5952 form for IPv6 (lower case, longest zero run as "::"), dotted quad for IPv4.
std::string to_string(const IpAddress& address);

// Whether `address` lies in network/prefix of the same family; prefix is capped at 32 or 128.
bool in_network(const IpAddress& address, const IpAddress& network, unsigned prefix) noexcept;

// The name under in-addr.arpa / ip6.arpa (no trailing dot), for PTR queries.
std::string reverse_name(const IpAddress& address);
// The labels of that name before the suffix ("4.3.2.1" for 1.2.3.4; nibbles for IPv6), as
// RFC 7208's %{i} macro writes IPv6 and DNSBL zones are queried.
std::string dotted_labels(const IpAddress& address);

}  // namespace tierwatch

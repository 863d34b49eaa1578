// The dnsbl protocol's typed settings and their reader: the block-list zones each node's outbound
// address is looked up in. The configuration core hands a dnsbl check's table to
// read_dnsbl_settings(); the dnsbl prober reads the result. Plain values, no network code.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

struct DnsblSettings {
    std::vector<std::string> zones;  // "zen.spamhaus.org", without a trailing dot, in file order
};

// The keys read_dnsbl_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> dnsbl_settings_keys() noexcept;
// Refuses, for any protocol but dnsbl, a dnsbl key it would ignore.
void reject_foreign_dnsbl_keys(const Section& s, Protocol protocol);
// A dnsbl check's settings: `zones` is required, each a DNS name that still fits under an
// IPv6 address's 32 reversed nibbles.
DnsblSettings read_dnsbl_settings(const Section& s);

}  // namespace tierwatch

// The fcrdns protocol's typed settings and their reader: the host name a node's reverse DNS must
// name, when one is expected, and whether it must be the one the MTA's SMTP greeting announces.
// The configuration core hands an fcrdns check's table to read_fcrdns_settings(); the fcrdns
// prober reads the result. Plain values, no network code.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

struct FcrdnsSettings {
    // The name one PTR record must carry (the MTA's HELO name); empty: any name that resolves back.
    std::string expect_hostname;
    // Read the host name from the MTA's greeting ("220 mx.example.com ESMTP") on greeting_port
    // of the outbound address, and require a forward-confirmed PTR name to be it.
    bool match_greeting = false;
    std::uint16_t greeting_port = 25;
};

// The keys read_fcrdns_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> fcrdns_settings_keys() noexcept;
// Refuses, for any protocol but fcrdns, an fcrdns key it would ignore.
void reject_foreign_fcrdns_keys(const Section& s, Protocol protocol);
FcrdnsSettings read_fcrdns_settings(const Section& s);

}  // namespace tierwatch

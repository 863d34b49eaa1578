// The roundtrip check's typed settings and their reader: its `submit` and `fetch` URLs. The
// configuration core hands a roundtrip check's table to read_roundtrip_settings(), then resolves
// each leg's host against the nodes and NLBs it knows. Plain values, no network code.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

// One leg of a mail round trip, from a `submit` or `fetch` URL such as
// "smtp://mail.example.com:587?starttls=true" or "imaps://mail.example.com:993".
struct RoundtripLeg {
    Protocol protocol = Protocol::submission;  // submission or smtps; imap or imaps
    std::uint16_t port = 0;
    bool starttls = false;
    // The URL named the check's own NLB or one of its nodes: the leg goes through the target
    // being probed. Otherwise it goes to `host` for every target.
    bool via_target = true;
    std::string host;  // as written: IP literal or host name (SNI and certificate name)
    std::string address;  // fixed legs: the [[node]] address `host` names, else `host` itself
};

struct RoundtripSettings {
    RoundtripLeg submit;
    RoundtripLeg fetch;
};

// The keys read_roundtrip_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> roundtrip_settings_keys() noexcept;
// Refuses, for any protocol but roundtrip, a roundtrip key it would ignore.
void reject_foreign_roundtrip_keys(const Section& s, Protocol protocol);
// Both legs from their URLs; `via_target` and `address` are the core's to settle.
RoundtripSettings read_roundtrip_settings(const Section& s);

}  // namespace tierwatch

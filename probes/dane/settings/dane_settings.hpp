// The dane protocol's typed settings and their reader: whether the TLSA answer must be DNSSEC
// validated and how early a certificate's renewal must be prepared in DNS. The configuration
// core hands a dane check's table to read_dane_settings(); the dane prober reads the result.
// Plain values, no network code.
#pragma once

#include <chrono>
#include <span>
#include <string_view>

#include "config/protocol/protocols.hpp"

namespace tierwatch {

class Section;

struct DaneSettings {
    // RFC 7672 §2.2: a sender uses TLSA records only from a validated (AD) answer, so an unsigned
    // record protects nothing; false only for a zone whose signing is not in place yet.
    bool require_dnssec = true;
    // The certificate expires within this and no TLSA record matches a key other than the
    // presented one: the renewal will break DANE unless the next key is published first.
    std::chrono::days renewal_window{30};
};

// The keys read_dane_settings() reads, for the core's list of keys a check may have.
std::span<const std::string_view> dane_settings_keys() noexcept;
// Refuses, for any protocol but dane, a dane key it would ignore.
void reject_foreign_dane_keys(const Section& s, Protocol protocol);
DaneSettings read_dane_settings(const Section& s);

}  // namespace tierwatch

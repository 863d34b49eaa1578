// DKIM public key records (RFC 6376 §3.6.1, RFC 8463 for Ed25519), as published in TXT at
// <selector>._domainkey.<domain>: the tag list and the decoded key bytes. Whether the key itself is
// sound (its size) needs OpenSSL and is judged in probes/mail_domain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

enum class DkimKeyType : std::uint8_t { rsa, ed25519 };
std::string_view to_string(DkimKeyType type) noexcept;

struct DkimKeyRecord {
    DkimKeyType key_type = DkimKeyType::rsa;   // k=, default rsa
    std::vector<std::uint8_t> key;             // p= decoded: SubjectPublicKeyInfo for rsa,
                                               // the raw 32-byte key for ed25519 (RFC 8463)
    bool revoked = false;                      // p= is empty (RFC 6376 §3.6.1)
    std::vector<std::string> hash_algorithms;  // h=, empty: all
    std::vector<std::string> service_types;    // s=, empty: "*"
    std::vector<std::string> flags;            // t=: "y" (testing), "s" (strict)
    bool testing() const;                      // t=y
    bool operator==(const DkimKeyRecord&) const = default;
};

// v= (if present) must come first and be DKIM1; k= rsa or ed25519; p= required, base64 (folding
// whitespace allowed), empty meaning revoked; h=, s= and t= colon-separated lists of names.
// Unknown tags are ignored as RFC 6376 says. Errors name the tag.
Parsed<DkimKeyRecord> parse_dkim_key(std::string_view text);

// The TXT name of a selector's key: "<selector>._domainkey.<domain>".
std::string dkim_key_name(std::string_view selector, std::string_view domain);

}  // namespace tierwatch

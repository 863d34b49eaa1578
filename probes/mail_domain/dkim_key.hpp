// Whether a DKIM selector's public key is sound: parsed with OpenSSL from the record's p= bytes,
// RSA at least 1024 bits (RFC 8301) or Ed25519 (RFC 8463).
#pragma once

#include <cstdint>
#include <string>

#include "probes/wire/maildns/dkim.hpp"

namespace tierwatch {

enum class DkimKeyStrength : std::uint8_t { ok, weak, revoked, unparsable };

struct DkimKeyCheck {
    DkimKeyStrength strength = DkimKeyStrength::unparsable;
    int bits = 0;        // the key size OpenSSL reports; 0 when unknown
    std::string detail;  // "rsa 2048 bits", "rsa 512 bits, under 1024", "p= is not ..."
};

inline constexpr int dkim_min_rsa_bits = 1024;

// k=rsa takes a SubjectPublicKeyInfo (or, as some publish, a bare PKCS#1 RSAPublicKey); k=ed25519
// the raw 32-byte key or an Ed25519 SubjectPublicKeyInfo. A key of the other type than k= says
// is unparsable.
DkimKeyCheck check_dkim_key(const DkimKeyRecord& record, int min_rsa_bits = dkim_min_rsa_bits);

}  // namespace tierwatch

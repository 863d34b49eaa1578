// DKIM key soundness with OpenSSL (see dkim_key.hpp).
#include "probes/mail_domain/dkim_key.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace tierwatch {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The whole buffer as one DER structure: trailing bytes make it unparsable.
Pkey decode(const std::vector<std::uint8_t>& der, bool spki, int type = EVP_PKEY_NONE) {
    const unsigned char* cursor = der.data();
    const auto length = static_cast<long>(der.size());
    Pkey key(spki ? d2i_PUBKEY(nullptr, &cursor, length)
                  : d2i_PublicKey(type, nullptr, &cursor, length));
    if (key && cursor != der.data() + der.size()) key.reset();
    return key;
}

}  // namespace

DkimKeyCheck check_dkim_key(const DkimKeyRecord& record, int min_rsa_bits) {
    DkimKeyCheck out;
    if (record.revoked) {
        out.strength = DkimKeyStrength::revoked;
        out.detail = "the key is revoked (empty p=)";
        return out;
    }
    const std::string type(to_string(record.key_type));
    if (record.key_type == DkimKeyType::ed25519 && record.key.size() == 32) {
        out.strength = DkimKeyStrength::ok;
        out.bits = 256;
        out.detail = "ed25519";
        return out;
    }
    Pkey key = decode(record.key, true);
    if (!key && record.key_type == DkimKeyType::rsa) key = decode(record.key, false, EVP_PKEY_RSA);
    const int wanted = record.key_type == DkimKeyType::rsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519;
    if (!key || EVP_PKEY_get_base_id(key.get()) != wanted) {
        out.detail = "p= is not " +
                     std::string(record.key_type == DkimKeyType::rsa
                                     ? "an RSA public key (SubjectPublicKeyInfo)"
                                     : "an Ed25519 public key (32 bytes)") +
                     (key ? ": it holds a key of another type" : "");
        return out;
    }
    out.bits = EVP_PKEY_get_bits(key.get());
    if (record.key_type == DkimKeyType::rsa && out.bits < min_rsa_bits) {
        out.strength = DkimKeyStrength::weak;
        out.detail =
            type + " " + std::to_string(out.bits) + " bits, under " + std::to_string(min_rsa_bits);
        return out;
    }
    out.strength = DkimKeyStrength::ok;
    out.detail = record.key_type == DkimKeyType::rsa
                     ? type + " " + std::to_string(out.bits) + " bits"
                     : type;
    return out;
}

}  // namespace tierwatch

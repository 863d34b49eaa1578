// DKIM key records and the OpenSSL key check: a record that parses is revoked exactly when its key
// is empty, and a key judged sound is Ed25519 or RSA of at least 1024 bits.
#include "probes/mail_domain/dkim_key.hpp"
#include "probes/wire/maildns/dkim.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const Parsed<DkimKeyRecord> parsed = parse_dkim_key(fuzz::text(data, size));
    if (!parsed.ok()) {
        fuzz::require(parsed.error.starts_with("tag "), "a refusal names the tag");
        return 0;
    }
    fuzz::require(parsed.value.revoked == parsed.value.key.empty(), "revoked means an empty p=");
    const DkimKeyCheck check = check_dkim_key(parsed.value);
    fuzz::require(!check.detail.empty(), "the check says what it found");
    if (check.strength == DkimKeyStrength::ok && parsed.value.key_type == DkimKeyType::rsa) {
        fuzz::require(check.bits >= dkim_min_rsa_bits, "a sound RSA key has at least 1024 bits");
    }
    fuzz::require((check.strength == DkimKeyStrength::revoked) == parsed.value.revoked,
                  "only revoked keys are revoked");
    return 0;
}

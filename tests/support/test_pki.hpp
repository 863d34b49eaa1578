// A throw-away PKI (root, intermediate, good and deliberately broken leaves) minted at test time.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tierwatch::test {

// The leaf certificates a test can serve; each one breaks exactly one thing a probe must notice.
enum class CertVariant {
    good,                  // valid, chains to the root, SANs cover localhost and 127.0.0.1
    expired,               // notBefore -30 days, notAfter -1 day
    expiring_soon,         // valid, but notAfter is 3 days away
    wrong_host,            // SAN DNS:other.invalid only
    self_signed,           // signed by its own key instead of the intermediate
    missing_intermediate,  // signed by the intermediate, but the chain file holds the leaf only
};
inline constexpr std::array<CertVariant, 6> all_cert_variants{
    CertVariant::good,       CertVariant::expired,     CertVariant::expiring_soon,
    CertVariant::wrong_host, CertVariant::self_signed, CertVariant::missing_intermediate,
};
std::string_view to_string(CertVariant variant) noexcept;
std::optional<CertVariant> parse_cert_variant(std::string_view name) noexcept;

// What a TLS server loads: the chain it presents (leaf first) and the leaf's private key.
struct CertKeyPair {
    std::filesystem::path cert_chain;
    std::filesystem::path key;
};

struct PkiOptions {
    // Added to the SANs of every leaf except wrong_host; an entry that parses as an IP address
    // becomes an IP SAN, anything else a DNS SAN.
    std::vector<std::string> extra_names{};
};

struct Pki {
    std::filesystem::path root_ca;          // what clients trust
    std::filesystem::path intermediate_ca;  // for clients that must complete a chain themselves
    CertKeyPair good;
    CertKeyPair expired;
    CertKeyPair expiring_soon;
    CertKeyPair wrong_host;
    CertKeyPair self_signed;
    CertKeyPair missing_intermediate;

    const CertKeyPair& leaf(CertVariant variant) const noexcept;
};

// Mints fresh keys and certificates into dir (created if needed, files overwritten) as PEM.
// Throws std::runtime_error with the OpenSSL error text on failure.
Pki make_pki(const std::filesystem::path& dir, const PkiOptions& options = {});

}  // namespace tierwatch::test

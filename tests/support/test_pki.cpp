// Mints the test PKI with the OpenSSL 3 API, so no certificate or key is ever committed.
#include "tests/support/test_pki.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>

namespace tierwatch::test {
namespace {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* pointer) const noexcept {
        Free(pointer);
    }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr long seconds_per_day = 24 * 60 * 60;

// Every OpenSSL failure ends the test set-up, with OpenSSL's own reason attached.
void check(bool ok, std::string_view what) {
    if (ok) {
        return;
    }
    std::string message = "test PKI: " + std::string(what) + " failed";
    if (const unsigned long code = ERR_get_error(); code != 0) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        message += ": ";
        message += text;
    }
    ERR_clear_error();
    throw std::runtime_error(message);
}

KeyPtr make_key() {
    KeyPtr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen(P-256)");
    return key;
}

// The shape of one certificate; everything else (version, serial, signature) is common.
struct CertProfile {
    std::string common_name;
    long not_before_days = -1;  // relative to now
    long not_after_days = 365;
    bool is_ca = false;
    int path_length = -1;             // CA only; -1 leaves it unconstrained
    std::string subject_alt_names{};  // OpenSSL config syntax, leaves only
};

void add_extension(X509* cert, X509V3_CTX& context, int nid, const std::string& value) {
    ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value.c_str()));
    check(extension != nullptr, "building extension " + std::string(OBJ_nid2sn(nid)));
    check(X509_add_ext(cert, extension.get(), -1) == 1, "X509_add_ext");
}

// issuer == nullptr means self-signed: the certificate is its own issuer and signs with its key.
CertPtr make_cert(const CertProfile& profile, EVP_PKEY* subject_key, X509* issuer,
                  EVP_PKEY* issuer_key) {
    CertPtr cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");

    // Random serials: several PKIs made in one run must never collide in a client's cache.
    BignumPtr serial(BN_new());
    check(serial != nullptr && BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
          "BN_rand");
    check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
          "BN_to_ASN1_INTEGER");

    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                          profile.not_before_days * seconds_per_day) != nullptr,
          "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                          profile.not_after_days * seconds_per_day) != nullptr,
          "notAfter");

    X509_NAME* subject = X509_get_subject_name(cert.get());
    const auto add_name = [subject](const char* field, const std::string& value) {
        check(X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                         -1, 0) == 1,
              "X509_NAME_add_entry_by_txt");
    };
    add_name("O", "tierwatch test PKI");
    add_name("CN", profile.common_name);

    X509* signer = issuer != nullptr ? issuer : cert.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1,
          "X509_set_issuer_name");
    check(X509_set_pubkey(cert.get(), subject_key) == 1, "X509_set_pubkey");

    X509V3_CTX context;
    X509V3_set_ctx(&context, signer, cert.get(), nullptr, nullptr, 0);
    if (profile.is_ca) {
        std::string constraints = "critical,CA:TRUE";
        if (profile.path_length >= 0) {
            constraints += ",pathlen:" + std::to_string(profile.path_length);
        }
        add_extension(cert.get(), context, NID_basic_constraints, constraints);
        add_extension(cert.get(), context, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), context, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), context, NID_key_usage, "critical,digitalSignature");
        add_extension(cert.get(), context, NID_ext_key_usage, "serverAuth");
        add_extension(cert.get(), context, NID_subject_alt_name, profile.subject_alt_names);
    }
    // The SKI must exist before the AKI, which a self-signed certificate copies from itself.
    add_extension(cert.get(), context, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), context, NID_authority_key_identifier, "keyid:always");

    EVP_PKEY* signing_key = issuer != nullptr ? issuer_key : subject_key;
    check(X509_sign(cert.get(), signing_key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

BioPtr open_for_writing(const std::filesystem::path& path) {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    check(bio != nullptr, "opening " + path.string());
    return bio;
}

void write_certs(const std::filesystem::path& path, std::initializer_list<X509*> certs) {
    const BioPtr bio = open_for_writing(path);
    for (X509* cert : certs) {
        check(PEM_write_bio_X509(bio.get(), cert) == 1, "writing " + path.string());
    }
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
    const BioPtr bio = open_for_writing(path);
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing " + path.string());
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string good_subject_alt_names(const PkiOptions& options) {
    std::string names = "DNS:localhost,DNS:node.test,DNS:mail.test,IP:127.0.0.1";
    for (const std::string& name : options.extra_names) {
        boost::system::error_code not_an_address;
        boost::asio::ip::make_address(name, not_an_address);
        names += not_an_address ? ",DNS:" : ",IP:";
        names += name;
    }
    return names;
}

// The CA pair every chained leaf hangs from.
struct Authority {
    KeyPtr key;
    CertPtr cert;
};

// Mints one leaf, writes its chain and key as <name>_chain.pem / <name>_key.pem.
CertKeyPair write_leaf(const std::filesystem::path& dir, CertVariant variant,
                       const CertProfile& profile, const Authority& intermediate) {
    const KeyPtr key = make_key();
    const bool self_signed = variant == CertVariant::self_signed;
    const CertPtr cert =
        make_cert(profile, key.get(), self_signed ? nullptr : intermediate.cert.get(),
                  intermediate.key.get());

    const std::string name(to_string(variant));
    CertKeyPair pair{dir / (name + "_chain.pem"), dir / (name + "_key.pem")};
    if (self_signed || variant == CertVariant::missing_intermediate) {
        write_certs(pair.cert_chain, {cert.get()});
    } else {
        write_certs(pair.cert_chain, {cert.get(), intermediate.cert.get()});
    }
    write_key(pair.key, key.get());
    return pair;
}

}  // namespace

std::string_view to_string(CertVariant variant) noexcept {
    switch (variant) {
        case CertVariant::good:
            return "good";
        case CertVariant::expired:
            return "expired";
        case CertVariant::expiring_soon:
            return "expiring_soon";
        case CertVariant::wrong_host:
            return "wrong_host";
        case CertVariant::self_signed:
            return "self_signed";
        case CertVariant::missing_intermediate:
            return "missing_intermediate";
    }
    return "unknown";
}

std::optional<CertVariant> parse_cert_variant(std::string_view name) noexcept {
    for (CertVariant variant : all_cert_variants) {
        if (to_string(variant) == name) {
            return variant;
        }
    }
    return std::nullopt;
}

const CertKeyPair& Pki::leaf(CertVariant variant) const noexcept {
    switch (variant) {
        case CertVariant::good:
            return good;
        case CertVariant::expired:
            return expired;
        case CertVariant::expiring_soon:
            return expiring_soon;
        case CertVariant::wrong_host:
            return wrong_host;
        case CertVariant::self_signed:
            return self_signed;
        case CertVariant::missing_intermediate:
            return missing_intermediate;
    }
    return good;
}

Pki make_pki(const std::filesystem::path& dir, const PkiOptions& options) {
    std::filesystem::create_directories(dir);

    Authority root{make_key(), nullptr};
    root.cert =
        make_cert({.common_name = "tierwatch test root CA", .not_after_days = 3650, .is_ca = true},
                  root.key.get(), nullptr, nullptr);
    Authority intermediate{make_key(), nullptr};
    intermediate.cert = make_cert({.common_name = "tierwatch test intermediate CA",
                                   .not_after_days = 3650,
                                   .is_ca = true,
                                   .path_length = 0},
                                  intermediate.key.get(), root.cert.get(), root.key.get());

    Pki pki;
    pki.root_ca = dir / "root_ca.pem";
    pki.intermediate_ca = dir / "intermediate_ca.pem";
    write_certs(pki.root_ca, {root.cert.get()});
    write_certs(pki.intermediate_ca, {intermediate.cert.get()});

    const std::string good_names = good_subject_alt_names(options);
    const CertProfile good{.common_name = "localhost", .subject_alt_names = good_names};
    CertProfile expired = good;
    expired.not_before_days = -30;
    expired.not_after_days = -1;
    CertProfile expiring_soon = good;
    expiring_soon.not_after_days = 3;
    const CertProfile wrong_host{.common_name = "other.invalid",
                                 .subject_alt_names = "DNS:other.invalid"};

    pki.good = write_leaf(dir, CertVariant::good, good, intermediate);
    pki.expired = write_leaf(dir, CertVariant::expired, expired, intermediate);
    pki.expiring_soon = write_leaf(dir, CertVariant::expiring_soon, expiring_soon, intermediate);
    pki.wrong_host = write_leaf(dir, CertVariant::wrong_host, wrong_host, intermediate);
    pki.self_signed = write_leaf(dir, CertVariant::self_signed, good, intermediate);
    pki.missing_intermediate =
        write_leaf(dir, CertVariant::missing_intermediate, good, intermediate);
    return pki;
}

}  // namespace tierwatch::test

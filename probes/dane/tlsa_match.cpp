// TLSA matching and the renewal warning with OpenSSL (see tlsa_match.hpp).
#include "probes/dane/tlsa_match.hpp"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace tierwatch {

namespace {

struct X509Free {
    void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using Certificate = std::unique_ptr<X509, X509Free>;

// The whole buffer as one certificate: trailing bytes make it unparsable.
Certificate decode(const DerCertificate& der) {
    const unsigned char* cursor = der.data();
    Certificate cert(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
    if (cert && cursor != der.data() + der.size()) cert.reset();
    return cert;
}

std::optional<std::vector<std::uint8_t>> digest(const std::vector<std::uint8_t>& bytes,
                                                const EVP_MD* md) {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &length, md, nullptr) != 1)
        return std::nullopt;
    out.resize(length);
    return out;
}

std::optional<std::vector<std::uint8_t>> association(X509* cert, const DerCertificate& der,
                                                     std::uint8_t selector,
                                                     std::uint8_t matching_type) {
    std::vector<std::uint8_t> selected;
    if (selector == tlsa::cert) {
        selected = der;
    } else if (selector == tlsa::spki) {
        unsigned char* spki = nullptr;
        const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
        if (length <= 0) return std::nullopt;
        selected.assign(spki, spki + length);
        OPENSSL_free(spki);
    } else {
        return std::nullopt;
    }
    switch (matching_type) {
        case tlsa::full:
            return selected;
        case tlsa::sha256:
            return digest(selected, EVP_sha256());
        case tlsa::sha512:
            return digest(selected, EVP_sha512());
        default:
            return std::nullopt;
    }
}

// Whether chain[0] chains up to chain[top] by signature, each certificate issued by the next.
bool chains_to(const std::vector<Certificate>& chain, std::size_t top) {
    for (std::size_t i = 0; i < top; ++i) {
        X509* subject = chain[i].get();
        X509* issuer = chain[i + 1].get();
        if (X509_check_issued(issuer, subject) != X509_V_OK) return false;
        EVP_PKEY* key = X509_get0_pubkey(issuer);
        if (key == nullptr || X509_verify(subject, key) != 1) return false;
    }
    return true;
}

std::string days_text(std::int64_t seconds) {
    const std::int64_t days = seconds / 86400;
    return days == 1 ? "1 day" : std::to_string(days) + " days";
}

DaneCheck result(DaneCheck check, MailDnsReason reason, std::string detail, RecordState state) {
    check.reason = reason;
    check.state = state;
    check.detail = std::move(detail);
    return check;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> tlsa_association(const DerCertificate& certificate,
                                                          std::uint8_t selector,
                                                          std::uint8_t matching_type) {
    const Certificate cert = decode(certificate);
    if (!cert) return std::nullopt;
    return association(cert.get(), certificate, selector, matching_type);
}

DaneCheck check_dane(std::span<const TlsaRecord> records, std::span<const DerCertificate> chain,
                     std::chrono::system_clock::time_point now, const DaneOptions& options) {
    DaneCheck check;
    if (records.empty()) {
        return result(std::move(check), MailDnsReason::tlsa_missing, "no TLSA record",
                      default_state(MailDnsReason::tlsa_missing));
    }
    const RecordState mismatch = default_state(MailDnsReason::tlsa_mismatch);
    if (chain.empty()) {
        return result(std::move(check), MailDnsReason::tlsa_mismatch,
                      "the server presented no certificate", mismatch);
    }
    std::vector<Certificate> certs;
    for (std::size_t i = 0; i < chain.size(); ++i) {
        certs.push_back(decode(chain[i]));
        if (!certs.back()) {
            return result(std::move(check), MailDnsReason::tlsa_mismatch,
                          "certificate " + std::to_string(i) + " of the chain is not DER X.509",
                          mismatch);
        }
    }
    const ASN1_TIME* not_after = X509_get0_notAfter(certs.front().get());
    const std::time_t now_seconds = std::chrono::system_clock::to_time_t(now);
    std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> then(ASN1_TIME_set(nullptr, now_seconds),
                                                               ASN1_TIME_free);
    int days = 0, seconds = 0;
    if (then && ASN1_TIME_diff(&days, &seconds, then.get(), not_after) == 1) {
        check.seconds_to_expiry = static_cast<std::int64_t>(days) * 86400 + seconds;
    }

    // A usable DANE-EE record for some other key is taken for the next one; a stale record for an
    // old key looks the same from here, which is why the zone's history is the operator's to keep.
    bool unmatched_ee = false;
    bool matched_ta = false;  // a DANE-TA match survives a renewal under the same CA
    for (std::size_t r = 0; r < records.size(); ++r) {
        const TlsaRecord& record = records[r];
        if (!dane_usable(record)) continue;
        ++check.usable_records;
        bool matched = false;
        const std::size_t last = record.usage == tlsa::dane_ee ? 1 : certs.size();
        for (std::size_t c = 0; c < last; ++c) {
            const auto data =
                association(certs[c].get(), chain[c], record.selector, record.matching_type);
            if (!data || *data != record.data) continue;
            if (record.usage == tlsa::dane_ta && !chains_to(certs, c)) continue;
            check.matches.push_back(TlsaMatch{r, c});
            matched = true;
            // A TA record that matches the server's own certificate dies with it at renewal.
            if (record.usage == tlsa::dane_ta && c > 0) matched_ta = true;
        }
        if (!matched && record.usage == tlsa::dane_ee) unmatched_ee = true;
    }
    if (check.usable_records == 0) {
        return result(std::move(check), MailDnsReason::tlsa_mismatch,
                      "none of the " + std::to_string(records.size()) +
                          " TLSA records is usable for SMTP (usage 2 or 3, selector 0 or 1, "
                          "matching type 0, 1 or 2)",
                      mismatch);
    }
    if (check.matches.empty()) {
        // Say what the server's key would need, so the operator can compare with the zone.
        const auto current =
            association(certs.front().get(), chain.front(), tlsa::spki, tlsa::sha256);
        return result(std::move(check), MailDnsReason::tlsa_mismatch,
                      "no TLSA record matches the presented chain (" +
                          std::to_string(check.usable_records) +
                          " usable records; the server's key is \"3 1 1 " +
                          (current ? hex_encode(*current) : "?") + "\")",
                      mismatch);
    }
    const TlsaMatch& first = check.matches.front();
    std::string matched_text =
        "TLSA " + to_string(records[first.record]).substr(0, 6) + "... matches " +
        (first.certificate == 0 ? std::string("the server's certificate")
                                : "chain certificate " + std::to_string(first.certificate));
    if (check.seconds_to_expiry &&
        *check.seconds_to_expiry <= std::chrono::seconds(options.renewal_window).count() &&
        !unmatched_ee && !matched_ta) {
        return result(std::move(check), MailDnsReason::tlsa_next_key_missing,
                      "the certificate expires in " +
                          days_text(std::max<std::int64_t>(*check.seconds_to_expiry, 0)) +
                          " and every TLSA record matches only the current one: publish a record "
                          "for the next key "
                          "before renewing",
                      default_state(MailDnsReason::tlsa_next_key_missing));
    }
    check.detail = matched_text;
    return check;
}

}  // namespace tierwatch

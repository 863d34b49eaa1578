// DANE matching (probes/dane/tlsa_match): usages 2 and 3, selectors 0 and 1, matching types 0/1/2
// against real chains minted by the test PKI, chain linkage for DANE-TA, mismatches with the key
// the zone needs, and the renewal warning when no record for a next key is published.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "probes/dane/tlsa_match.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch {
namespace {

std::vector<DerCertificate> read_chain(const std::filesystem::path& pem) {
    std::vector<DerCertificate> chain;
    FILE* file = std::fopen(pem.c_str(), "r");
    if (file == nullptr) return chain;
    while (X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr)) {
        unsigned char* der = nullptr;
        const int length = i2d_X509(cert, &der);
        chain.emplace_back(der, der + length);
        OPENSSL_free(der);
        X509_free(cert);
    }
    std::fclose(file);
    return chain;
}

// One PKI for the suite: minting keys per test would only repeat the same work.
class Dane : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                         ("tierwatch-dane-" + std::to_string(::getpid())));
        pki_ = new test::Pki(test::make_pki(*dir_));
    }
    static void TearDownTestSuite() {
        std::filesystem::remove_all(*dir_);
        delete pki_;
        delete dir_;
    }

    static std::vector<DerCertificate> chain(test::CertVariant variant) {
        return read_chain(pki_->leaf(variant).cert_chain);
    }
    static TlsaRecord record(std::uint8_t usage, std::uint8_t selector, std::uint8_t matching,
                             const DerCertificate& cert) {
        return TlsaRecord{usage, selector, matching,
                          tlsa_association(cert, selector, matching).value()};
    }
    static DaneCheck check(const std::vector<TlsaRecord>& records,
                           const std::vector<DerCertificate>& presented) {
        return check_dane(records, presented, std::chrono::system_clock::now());
    }

    static inline std::filesystem::path* dir_ = nullptr;
    static inline test::Pki* pki_ = nullptr;
};

TEST_F(Dane, AssociationDataHasTheRightShape) {
    const auto good = chain(test::CertVariant::good);
    ASSERT_EQ(good.size(), 2u);  // leaf and intermediate
    EXPECT_EQ(tlsa_association(good[0], tlsa::cert, tlsa::full).value(), good[0]);
    EXPECT_EQ(tlsa_association(good[0], tlsa::spki, tlsa::sha256)->size(), 32u);
    EXPECT_EQ(tlsa_association(good[0], tlsa::spki, tlsa::sha512)->size(), 64u);
    EXPECT_NE(tlsa_association(good[0], tlsa::cert, tlsa::sha256),
              tlsa_association(good[0], tlsa::spki, tlsa::sha256));
    EXPECT_FALSE(tlsa_association(good[0], 2, tlsa::sha256));
    EXPECT_FALSE(tlsa_association(good[0], tlsa::spki, 3));
    EXPECT_FALSE(tlsa_association(DerCertificate{0x30, 0x00}, tlsa::spki, tlsa::sha256));
    DerCertificate trailing = good[0];
    trailing.push_back(0);
    EXPECT_FALSE(tlsa_association(trailing, tlsa::cert, tlsa::full));
}

TEST_F(Dane, DaneEeMatchesTheServerCertificateInEveryForm) {
    const auto good = chain(test::CertVariant::good);
    for (std::uint8_t selector : {tlsa::cert, tlsa::spki}) {
        for (std::uint8_t matching : {tlsa::full, tlsa::sha256, tlsa::sha512}) {
            const DaneCheck result =
                check({record(tlsa::dane_ee, selector, matching, good[0])}, good);
            EXPECT_TRUE(result.ok())
                << int(selector) << ' ' << int(matching) << ": " << result.detail;
            EXPECT_EQ(result.matches, (std::vector<TlsaMatch>{{0, 0}}));
            EXPECT_EQ(result.detail, "TLSA 3 " + std::to_string(selector) + " " +
                                         std::to_string(matching) +
                                         " ... matches the server's certificate");
        }
    }
    // DANE-EE never matches another certificate of the chain.
    const DaneCheck result =
        check({record(tlsa::dane_ee, tlsa::spki, tlsa::sha256, good[1])}, good);
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_mismatch);
}

TEST_F(Dane, DaneTaMatchesAnIssuerTheLeafChainsTo) {
    const auto good = chain(test::CertVariant::good);
    DaneCheck result = check({record(tlsa::dane_ta, tlsa::spki, tlsa::sha256, good[1])}, good);
    EXPECT_TRUE(result.ok()) << result.detail;
    EXPECT_EQ(result.matches, (std::vector<TlsaMatch>{{0, 1}}));
    EXPECT_EQ(result.detail, "TLSA 2 1 1 ... matches chain certificate 1");
    // A leaf that is not signed by the presented intermediate does not chain to it: no match.
    auto forged = chain(test::CertVariant::self_signed);
    ASSERT_EQ(forged.size(), 1u);
    forged.push_back(good[1]);
    result = check({record(tlsa::dane_ta, tlsa::cert, tlsa::full, good[1])}, forged);
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_mismatch);
    EXPECT_EQ(result.state, RecordState::critical);
}

TEST_F(Dane, MismatchNamesTheKeyTheZoneNeeds) {
    const auto good = chain(test::CertVariant::good);
    const auto other = chain(test::CertVariant::wrong_host);
    const DaneCheck result =
        check({record(tlsa::dane_ee, tlsa::spki, tlsa::sha256, other[0]),
               TlsaRecord{tlsa::pkix_ee, tlsa::spki, tlsa::sha256, std::vector<std::uint8_t>(32)}},
              good);
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_mismatch);
    EXPECT_EQ(result.usable_records, 1u);
    const std::string key = hex_encode(tlsa_association(good[0], tlsa::spki, tlsa::sha256).value());
    EXPECT_EQ(result.detail,
              "no TLSA record matches the presented chain (1 usable records; the server's key is "
              "\"3 1 1 " +
                  key + "\")");
    EXPECT_TRUE(result.matches.empty());
}

TEST_F(Dane, NoRecordsUnusableRecordsAndBadChains) {
    const auto good = chain(test::CertVariant::good);
    DaneCheck result = check({}, good);
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_missing);
    EXPECT_EQ(result.detail, "no TLSA record");
    result = check({record(tlsa::pkix_ee, tlsa::spki, tlsa::sha256, good[0])}, good);
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_mismatch);
    EXPECT_EQ(result.detail,
              "none of the 1 TLSA records is usable for SMTP (usage 2 or 3, selector 0 or 1, "
              "matching type 0, 1 or 2)");
    const std::vector<TlsaRecord> records{record(tlsa::dane_ee, tlsa::spki, tlsa::sha256, good[0])};
    EXPECT_EQ(check(records, {}).detail, "the server presented no certificate");
    EXPECT_EQ(check(records, {good[0], DerCertificate{1, 2, 3}}).detail,
              "certificate 1 of the chain is not DER X.509");
}

TEST_F(Dane, RenewalWarnsWithoutANextKeyRecord) {
    const auto soon = chain(test::CertVariant::expiring_soon);  // notAfter is 3 days away
    const auto next = chain(test::CertVariant::good);           // stands in for the next key
    const TlsaRecord current = record(tlsa::dane_ee, tlsa::spki, tlsa::sha256, soon[0]);
    const auto minted = std::chrono::system_clock::now();
    DaneCheck result = check_dane(std::vector<TlsaRecord>{current}, soon, minted);
    ASSERT_TRUE(result.seconds_to_expiry);
    EXPECT_GT(*result.seconds_to_expiry, 3 * 86400 - 60);
    EXPECT_LE(*result.seconds_to_expiry, 3 * 86400);
    // From here on the clock is fixed relative to notAfter, so no second boundary can move a
    // figure.
    const auto not_after = minted + std::chrono::seconds(*result.seconds_to_expiry);
    const auto now = not_after - std::chrono::hours(60);
    auto at_now = [&](const std::vector<TlsaRecord>& records) {
        return check_dane(records, soon, now);
    };
    result = at_now({current});
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_next_key_missing);
    EXPECT_EQ(result.state, RecordState::warning);
    EXPECT_EQ(result.matches.size(), 1u);
    EXPECT_EQ(result.seconds_to_expiry, 60 * 3600);
    EXPECT_EQ(result.detail,
              "the certificate expires in 2 days and every TLSA record matches only the current "
              "one: publish a "
              "record for the next key before renewing");
    // A record for the next key is published: the rollover is ready.
    result = at_now({current, record(tlsa::dane_ee, tlsa::spki, tlsa::sha256, next[0])});
    EXPECT_TRUE(result.ok()) << result.detail;
    // A DANE-TA record survives a renewal under the same CA.
    result = at_now({current, record(tlsa::dane_ta, tlsa::spki, tlsa::sha256, soon[1])});
    EXPECT_TRUE(result.ok()) << result.detail;
    // A DANE-TA record that matches the server's own certificate is replaced with it: no help.
    result = at_now({current, record(tlsa::dane_ta, tlsa::spki, tlsa::sha256, soon[0])});
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_next_key_missing);
    EXPECT_EQ(result.matches.size(), 2u);
    // Outside the window nothing is due.
    result =
        check_dane(std::vector<TlsaRecord>{current}, soon, now, DaneOptions{std::chrono::days(2)});
    EXPECT_TRUE(result.ok()) << result.detail;
    // The clock is the caller's: a year later the good certificate is due as well.
    const TlsaRecord good_record = record(tlsa::dane_ee, tlsa::cert, tlsa::sha256, next[0]);
    EXPECT_TRUE(check({good_record}, next).ok());
    result = check_dane(std::vector<TlsaRecord>{good_record}, next,
                        std::chrono::system_clock::now() + std::chrono::days(350));
    EXPECT_EQ(result.reason, MailDnsReason::tlsa_next_key_missing);
}

}  // namespace
}  // namespace tierwatch

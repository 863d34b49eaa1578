// The mail_domain verdict model (probes/mail_domain): failure reason names and default states, the
// DKIM key size check on real OpenSSL keys, and each record's judge from DNS answers as values.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <set>

#include "probes/mail_domain/dkim_key.hpp"
#include "probes/mail_domain/verdict.hpp"
#include "probes/wire/mail_common.hpp"
#include "tests/support/fake_mail_dns.hpp"

namespace tierwatch {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey rsa_key(unsigned bits) {
    return Pkey(EVP_RSA_gen(bits), EVP_PKEY_free);
}
Pkey ed25519_key() {
    return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
}

std::string spki_base64(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key, &der);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return base64_encode(bytes);
}

std::string pkcs1_base64(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int length = i2d_PublicKey(key, &der);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return base64_encode(bytes);
}

std::string raw_base64(EVP_PKEY* key) {
    std::string bytes(32, '\0');
    std::size_t length = bytes.size();
    EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(bytes.data()), &length);
    return base64_encode(bytes);
}

MailDnsAnswer txt_answer(std::vector<TxtStrings> records) {
    MailDnsAnswer answer;
    answer.txt = std::move(records);
    return answer;
}

MailDnsAnswer status(MailDnsAnswer::Status s) {
    MailDnsAnswer answer;
    answer.status = s;
    if (s == MailDnsAnswer::Status::error) answer.error_detail = "SERVFAIL";
    return answer;
}

DkimKeyCheck check(const std::string& record) {
    const Parsed<DkimKeyRecord> parsed = parse_dkim_key(record);
    EXPECT_TRUE(parsed.ok()) << parsed.error;
    return check_dkim_key(parsed.value);
}

TEST(MailDnsReasons, NamesAreUniqueAndRoundTrip) {
    std::set<std::string_view> names;
    for (MailDnsReason reason : all_mail_dns_reasons()) {
        const std::string_view name = to_string(reason);
        EXPECT_NE(name, "?");
        EXPECT_TRUE(names.insert(name).second) << name;
        EXPECT_EQ(parse_mail_dns_reason(name), reason);
    }
    EXPECT_EQ(names.size(), mail_dns_reason_count);
    EXPECT_FALSE(parse_mail_dns_reason("listed"));
    EXPECT_EQ(to_string(MailDnsReason::spf_too_many_lookups), "spf_too_many_lookups");
    EXPECT_EQ(to_string(MailDnsReason::dnssec), "dnssec");
}

TEST(MailDnsReasons, RefusalIsCriticalDriftIsWarning) {
    EXPECT_EQ(default_state(MailDnsReason::tlsa_mismatch), RecordState::critical);
    EXPECT_EQ(default_state(MailDnsReason::spf_not_covered), RecordState::critical);
    EXPECT_EQ(default_state(MailDnsReason::no_mx), RecordState::critical);
    EXPECT_EQ(default_state(MailDnsReason::dmarc_missing), RecordState::warning);
    EXPECT_EQ(default_state(MailDnsReason::dkim_weak_key), RecordState::warning);
    EXPECT_EQ(default_state(MailDnsReason::tlsa_next_key_missing), RecordState::warning);
}

TEST(DkimKey, RsaSizes) {
    const Pkey weak = rsa_key(512);
    DkimKeyCheck result = check("v=DKIM1; k=rsa; p=" + spki_base64(weak.get()));
    EXPECT_EQ(result.strength, DkimKeyStrength::weak);
    EXPECT_EQ(result.bits, 512);
    EXPECT_EQ(result.detail, "rsa 512 bits, under 1024");
    const Pkey enough = rsa_key(1024);
    result = check("v=DKIM1; p=" + spki_base64(enough.get()));
    EXPECT_EQ(result.strength, DkimKeyStrength::ok);
    EXPECT_EQ(result.detail, "rsa 1024 bits");
    // Some zones publish the bare PKCS#1 RSAPublicKey; OpenDKIM accepts it, so do we.
    result = check("v=DKIM1; p=" + pkcs1_base64(enough.get()));
    EXPECT_EQ(result.strength, DkimKeyStrength::ok);
    EXPECT_EQ(result.bits, 1024);
    const Parsed<DkimKeyRecord> parsed = parse_dkim_key("p=" + spki_base64(enough.get()));
    EXPECT_EQ(check_dkim_key(parsed.value, 2048).strength, DkimKeyStrength::weak);
}

TEST(DkimKey, Ed25519RawAndSpki) {
    const Pkey key = ed25519_key();
    DkimKeyCheck result = check("v=DKIM1; k=ed25519; p=" + raw_base64(key.get()));
    EXPECT_EQ(result.strength, DkimKeyStrength::ok);
    EXPECT_EQ(result.detail, "ed25519");
    EXPECT_EQ(check("v=DKIM1; k=ed25519; p=" + spki_base64(key.get())).strength,
              DkimKeyStrength::ok);
}

TEST(DkimKey, RevokedAndUnparsable) {
    EXPECT_EQ(check("v=DKIM1; p=").strength, DkimKeyStrength::revoked);
    DkimKeyCheck result = check("v=DKIM1; p=" + base64_encode("not a key"));
    EXPECT_EQ(result.strength, DkimKeyStrength::unparsable);
    EXPECT_EQ(result.detail, "p= is not an RSA public key (SubjectPublicKeyInfo)");
    const Pkey ed = ed25519_key();
    result = check("v=DKIM1; k=rsa; p=" + spki_base64(ed.get()));  // k= says rsa, p= holds Ed25519
    EXPECT_EQ(result.strength, DkimKeyStrength::unparsable);
    EXPECT_EQ(result.detail,
              "p= is not an RSA public key (SubjectPublicKeyInfo): it holds a key of another type");
    EXPECT_EQ(check("v=DKIM1; k=ed25519; p=" + base64_encode(std::string(31, 'x'))).detail,
              "p= is not an Ed25519 public key (32 bytes)");
    // Trailing bytes after a good key are not the key.
    const Pkey rsa = rsa_key(1024);
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(rsa.get(), &der);
    std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    EXPECT_EQ(check("p=" + base64_encode(bytes + "x")).strength, DkimKeyStrength::unparsable);
}

TEST(JudgeMx, PresentExpectedAndNull) {
    MailDnsAnswer answer;
    answer.mx = {{20, "mx2.example.com."}, {10, "mx1.example.com"}};
    RecordVerdict verdict = judge_mx(answer);
    EXPECT_TRUE(verdict.ok());
    EXPECT_EQ(verdict.name(), "mx");
    EXPECT_EQ(verdict.detail, "10 mx1.example.com, 20 mx2.example.com");
    const std::vector<std::string> expected{"MX1.example.com.", "mx2.example.com"};
    EXPECT_TRUE(judge_mx(answer, expected).ok());
    verdict = judge_mx(answer, std::vector<std::string>{"mx1.example.com"});
    EXPECT_EQ(verdict.reason, MailDnsReason::mx_unexpected);
    EXPECT_EQ(verdict.state, RecordState::warning);
    EXPECT_EQ(verdict.detail,
              "mx2.example.com (preference 20) is not one of the expected MX hosts");

    EXPECT_EQ(judge_mx(MailDnsAnswer{}).detail, "no MX record");
    EXPECT_EQ(judge_mx(MailDnsAnswer{}).state, RecordState::critical);
    EXPECT_EQ(judge_mx(status(MailDnsAnswer::Status::nxdomain)).detail,
              "the domain does not exist");
    verdict = judge_mx(status(MailDnsAnswer::Status::error));
    EXPECT_EQ(verdict.reason, MailDnsReason::dns_error);
    EXPECT_EQ(verdict.detail, "the lookup failed: SERVFAIL");
    MailDnsAnswer null_mx;
    null_mx.mx = {{0, "."}};
    EXPECT_EQ(judge_mx(null_mx).detail, "a null MX (RFC 7505): the domain accepts no mail");
}

TEST(JudgeSpf, CoverageOfEveryMta) {
    test::FakeMailDns dns;
    dns.spf("example.com", "v=spf1 ip4:192.0.2.0/28 include:_spf.example.net -all")
        .spf("_spf.example.net", "v=spf1 ip4:198.51.100.7 -all");
    auto coverage = [&](std::initializer_list<const char*> addresses) {
        std::vector<SpfCoverage> out;
        for (const char* text : addresses) {
            const IpAddress address = parse_ip(text).value();
            out.push_back({address, dns.check("example.com", address)});
        }
        return out;
    };
    RecordVerdict verdict = judge_spf(coverage({"192.0.2.1", "198.51.100.7"}));
    EXPECT_TRUE(verdict.ok()) << verdict.detail;
    EXPECT_EQ(verdict.detail,
              "covers 192.0.2.1 by ip4:192.0.2.0/28 in example.com; 198.51.100.7 by "
              "include:_spf.example.net in example.com");
    verdict = judge_spf(coverage({"192.0.2.1", "192.0.2.16"}));
    EXPECT_EQ(verdict.reason, MailDnsReason::spf_not_covered);
    EXPECT_EQ(verdict.state, RecordState::critical);
    EXPECT_EQ(verdict.detail, "192.0.2.16 is not covered (fail): -all in example.com matched");
    verdict = judge_spf(coverage({"192.0.2.16"}), false);
    EXPECT_TRUE(verdict.ok());
    EXPECT_EQ(verdict.detail, "evaluates in 1 DNS lookups");
    EXPECT_TRUE(judge_spf({}).ok());
}

TEST(JudgeSpf, ProblemsMapToReasons) {
    test::FakeMailDns dns;
    dns.spf("broken.example", "v=spf1 include:_spf.gone.example -all")
        .spf("syntax.example", "v=spf1 ipv4:192.0.2.1 -all")
        .txt("none.example", {"unrelated"})
        .fail("down.example");
    std::string loop = "v=spf1";
    for (int i = 0; i < 11; ++i) loop += " a:a" + std::to_string(i) + ".example";
    dns.spf("loop.example", loop);
    for (int i = 0; i < 11; ++i) dns.address("a" + std::to_string(i) + ".example", "203.0.113.1");
    const IpAddress address = parse_ip("192.0.2.1").value();
    auto judge = [&](const char* domain) {
        const SpfCoverage entry{address, dns.check(domain, address)};
        return judge_spf(std::span(&entry, 1));
    };
    EXPECT_EQ(judge("broken.example").reason, MailDnsReason::spf_invalid);
    EXPECT_EQ(judge("broken.example").detail,
              "include:_spf.gone.example: _spf.gone.example does not exist");
    EXPECT_EQ(judge("syntax.example").reason, MailDnsReason::spf_invalid);
    EXPECT_EQ(judge("none.example").reason, MailDnsReason::spf_missing);
    EXPECT_EQ(judge("down.example").reason, MailDnsReason::dns_error);
    EXPECT_EQ(judge("loop.example").reason, MailDnsReason::spf_too_many_lookups);
    EXPECT_EQ(judge("loop.example").detail,
              "more than 10 DNS lookups (the next is a:a10.example in loop.example)");
}

TEST(JudgeDmarc, MissingInvalidAndPolicy) {
    RecordVerdict verdict = judge_dmarc(txt_answer({{"v=DMARC1; p=reject; sp=none; pct=50"}}));
    EXPECT_TRUE(verdict.ok());
    EXPECT_EQ(verdict.detail, "p=reject sp=none pct=50");
    EXPECT_EQ(judge_dmarc(txt_answer({{"v=DMARC1; ", "p=quarantine"}})).detail, "p=quarantine");
    verdict = judge_dmarc(txt_answer({{"hello"}}));
    EXPECT_EQ(verdict.reason, MailDnsReason::dmarc_missing);
    EXPECT_EQ(verdict.detail, "no TXT record starts with v=DMARC1");
    EXPECT_EQ(judge_dmarc(status(MailDnsAnswer::Status::nxdomain)).detail,
              "the name does not exist");
    verdict = judge_dmarc(txt_answer({{"v=DMARC1; p=maybe"}}));
    EXPECT_EQ(verdict.reason, MailDnsReason::dmarc_invalid);
    EXPECT_EQ(verdict.detail, "tag p: 'maybe' is not none, quarantine or reject");
    verdict = judge_dmarc(txt_answer({{"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}}));
    EXPECT_EQ(verdict.detail, "2 records start with v=DMARC1; there must be one");
    EXPECT_EQ(judge_dmarc(status(MailDnsAnswer::Status::error)).reason, MailDnsReason::dns_error);
}

TEST(JudgeDkim, EachStateNamesTheSelector) {
    const Pkey good = rsa_key(2048);
    const std::string p = spki_base64(good.get());
    // A 2048-bit key does not fit one 255-byte character-string: zones split it.
    RecordVerdict verdict = judge_dkim(
        "s1", txt_answer({{"v=DKIM1; k=rsa; t=y; p=" + p.substr(0, 200), p.substr(200)}}));
    EXPECT_TRUE(verdict.ok()) << verdict.detail;
    EXPECT_EQ(verdict.name(), "dkim:s1");
    EXPECT_EQ(verdict.detail, "rsa 2048 bits, testing (t=y)");
    const Pkey weak = rsa_key(512);
    verdict = judge_dkim("old", txt_answer({{"v=DKIM1; p=" + spki_base64(weak.get())}}));
    EXPECT_EQ(verdict.reason, MailDnsReason::dkim_weak_key);
    EXPECT_EQ(verdict.name(), "dkim:old");
    EXPECT_EQ(judge_dkim("gone", txt_answer({{"v=DKIM1; p="}})).reason,
              MailDnsReason::dkim_revoked);
    verdict = judge_dkim("none", status(MailDnsAnswer::Status::nxdomain));
    EXPECT_EQ(verdict.reason, MailDnsReason::dkim_missing);
    EXPECT_EQ(verdict.detail, "no key record at none._domainkey");
    EXPECT_EQ(judge_dkim("bad", txt_answer({{"v=DKIM1; k=dsa; p=AA=="}})).detail,
              "tag k: 'dsa' is not a key type (rsa or ed25519)");
    EXPECT_EQ(judge_dkim("two", txt_answer({{"p="}, {"p="}})).reason, MailDnsReason::dkim_invalid);
    EXPECT_EQ(judge_dkim("x", status(MailDnsAnswer::Status::error)).selector, "x");
}

TEST(JudgeMtaSts, PolicyAndMxAgree) {
    const MailDnsAnswer txt = txt_answer({{"v=STSv1; id=20240101"}});
    const std::vector<MxHost> mx{{10, "mx1.example.com"}, {20, "mx2.example.com."}};
    MtaStsFetch fetch{
        true, "version: STSv1\r\nmode: enforce\r\nmx: *.example.com\r\nmax_age: 604800\r\n", {}};
    RecordVerdict verdict = judge_mta_sts(txt, fetch, mx);
    EXPECT_TRUE(verdict.ok()) << verdict.detail;
    EXPECT_EQ(verdict.detail, "id 20240101, mode enforce, max_age 604800");

    fetch.body = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n";
    verdict = judge_mta_sts(txt, fetch, mx);
    EXPECT_EQ(verdict.reason, MailDnsReason::mta_sts_mx_mismatch);
    EXPECT_EQ(verdict.state, RecordState::critical);
    EXPECT_EQ(verdict.detail,
              "MX mx2.example.com matches no mx: pattern of the policy (id 20240101, mode enforce, "
              "max_age 604800)");
    fetch.body = "version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 604800\n";
    EXPECT_EQ(judge_mta_sts(txt, fetch, mx).state, RecordState::warning);
    fetch.body = "version: STSv1\nmode: none\nmax_age: 0\n";
    EXPECT_TRUE(judge_mta_sts(txt, fetch, mx).ok());

    fetch.body = "version: STSv1\nmode: always\n";
    verdict = judge_mta_sts(txt, fetch, mx);
    EXPECT_EQ(verdict.reason, MailDnsReason::mta_sts_invalid);
    EXPECT_EQ(verdict.detail, "policy: line 2: mode: 'always' is not enforce, testing or none");
    verdict = judge_mta_sts(txt, MtaStsFetch{false, {}, "certificate verify failed"}, mx);
    EXPECT_EQ(verdict.reason, MailDnsReason::mta_sts_fetch);
    EXPECT_EQ(verdict.detail, "certificate verify failed");
    EXPECT_EQ(judge_mta_sts(txt, std::nullopt, mx).reason, MailDnsReason::mta_sts_fetch);
    EXPECT_EQ(judge_mta_sts(txt_answer({}), fetch, mx).reason, MailDnsReason::mta_sts_missing);
    EXPECT_EQ(judge_mta_sts(txt_answer({{"v=STSv1"}}), fetch, mx).detail,
              "tag id: missing (the policy id is required)");
}

TEST(JudgeTlsRpt, MissingInvalidOk) {
    RecordVerdict verdict =
        judge_tls_rpt(txt_answer({{"v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/x"}}));
    EXPECT_TRUE(verdict.ok());
    EXPECT_EQ(verdict.name(), "tls_rpt");
    EXPECT_EQ(verdict.detail, "rua=mailto:tls@example.com,https://r.example/x");
    EXPECT_EQ(judge_tls_rpt(txt_answer({{"v=spf1 -all"}})).reason, MailDnsReason::tlsrpt_missing);
    EXPECT_EQ(judge_tls_rpt(txt_answer({{"v=TLSRPTv1; rua=ftp://x"}})).reason,
              MailDnsReason::tlsrpt_invalid);
}

TEST(DomainVerdict, WorstStateRollsUp) {
    DomainVerdict domain{"example.com", {}};
    EXPECT_EQ(domain.worst(), RecordState::ok);
    domain.records.push_back(judge_tls_rpt(txt_answer({})));
    EXPECT_EQ(domain.worst(), RecordState::warning);
    domain.records.push_back(judge_mx(MailDnsAnswer{}));
    EXPECT_EQ(domain.worst(), RecordState::critical);
}

}  // namespace
}  // namespace tierwatch

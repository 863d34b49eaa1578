// The mail_domain state machine (probes/mail_domain/domain_evaluator): the lookups it asks in
// order, the policy fetch only when the _mta-sts record is sound, and one verdict per record.
#include <gtest/gtest.h>

#include "probes/mail_domain/domain_evaluator.hpp"
#include "tests/support/fake_mail_dns.hpp"

namespace tierwatch {
namespace {

struct DomainRun {
    DomainVerdict verdict;
    std::vector<MailDnsQuery> asked;
    std::vector<std::string> fetched;  // policy URLs
};

// Drives the evaluator as the prober will: resolve each query, fetch the policy when asked.
DomainRun run(const test::FakeMailDns& dns, MailDomainSettings settings,
              const MtaStsFetch& policy) {
    DomainRun out;
    MailDomainEvaluator evaluator(std::move(settings));
    while (evaluator.need() != MailDomainEvaluator::Need::done && out.asked.size() < 1000) {
        if (evaluator.need() == MailDomainEvaluator::Need::dns) {
            out.asked.push_back(evaluator.query());
            evaluator.feed(dns.answer(evaluator.query()));
        } else {
            out.fetched.push_back(evaluator.policy_url());
            evaluator.feed_policy(policy);
        }
    }
    out.verdict = evaluator.verdict();
    return out;
}

std::vector<std::string> names(const DomainVerdict& verdict) {
    std::vector<std::string> out;
    for (const RecordVerdict& record : verdict.records) out.push_back(record.name());
    return out;
}

test::FakeMailDns healthy_zone() {
    test::FakeMailDns dns;
    dns.mx("example.com", 10, "mx1.example.com")
        .mx("example.com", 20, "mx2.example.com")
        .spf("example.com", "v=spf1 ip4:192.0.2.0/28 -all")
        .txt("_dmarc.example.com", {"v=DMARC1; p=reject; rua=mailto:d@example.com"})
        .txt("s1._domainkey.example.com", {"v=DKIM1; p="})
        .txt("_mta-sts.example.com", {"v=STSv1; id=2024"})
        .txt("_smtp._tls.example.com", {"v=TLSRPTv1; rua=mailto:tls@example.com"});
    return dns;
}

const MtaStsFetch good_policy{
    true, "version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 86400\n", {}};

TEST(MailDomainEvaluator, AsksEachRecordInOrderAndJudgesIt) {
    MailDomainSettings settings;
    settings.domain = "example.com.";
    settings.outbound = {parse_ip("192.0.2.1").value(), parse_ip("192.0.2.2").value()};
    settings.dkim_selectors = {"s1", "s2"};
    const DomainRun result = run(healthy_zone(), settings, good_policy);
    const std::vector<MailDnsQuery> expected{
        {"example.com", MailDnsType::mx},
        {"example.com", MailDnsType::txt},  // SPF for 192.0.2.1
        {"example.com", MailDnsType::txt},  // and for 192.0.2.2
        {"_dmarc.example.com", MailDnsType::txt},
        {"s1._domainkey.example.com", MailDnsType::txt},
        {"s2._domainkey.example.com", MailDnsType::txt},
        {"_mta-sts.example.com", MailDnsType::txt},
        {"_smtp._tls.example.com", MailDnsType::txt},
    };
    EXPECT_EQ(result.asked, expected);
    EXPECT_EQ(result.fetched,
              std::vector<std::string>{"https://mta-sts.example.com/.well-known/mta-sts.txt"});
    EXPECT_EQ(result.verdict.domain, "example.com");
    EXPECT_EQ(names(result.verdict), (std::vector<std::string>{"mx", "spf", "dmarc", "dkim:s1",
                                                               "dkim:s2", "mta_sts", "tls_rpt"}));
    const auto& records = result.verdict.records;
    EXPECT_TRUE(records[0].ok());
    EXPECT_TRUE(records[1].ok()) << records[1].detail;
    EXPECT_EQ(
        records[1].detail,
        "covers 192.0.2.1 by ip4:192.0.2.0/28 in example.com; 192.0.2.2 by ip4:192.0.2.0/28 in "
        "example.com");
    EXPECT_TRUE(records[2].ok());
    EXPECT_EQ(records[3].reason, MailDnsReason::dkim_revoked);
    EXPECT_EQ(records[4].reason, MailDnsReason::dkim_missing);
    EXPECT_TRUE(records[5].ok()) << records[5].detail;
    EXPECT_TRUE(records[6].ok());
    EXPECT_EQ(result.verdict.worst(), RecordState::warning);
}

TEST(MailDomainEvaluator, UncoveredMtaAndPolicyWithoutTheMx) {
    MailDomainSettings settings;
    settings.domain = "example.com";
    settings.outbound = {parse_ip("192.0.2.1").value(), parse_ip("198.51.100.9").value()};
    const MtaStsFetch stale{
        true, "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 1\n", {}};
    const DomainRun result = run(healthy_zone(), settings, stale);
    ASSERT_EQ(names(result.verdict),
              (std::vector<std::string>{"mx", "spf", "dmarc", "mta_sts", "tls_rpt"}));
    EXPECT_EQ(result.verdict.records[1].reason, MailDnsReason::spf_not_covered);
    EXPECT_EQ(result.verdict.records[1].detail,
              "198.51.100.9 is not covered (fail): -all in example.com matched");
    EXPECT_EQ(result.verdict.records[3].reason, MailDnsReason::mta_sts_mx_mismatch);
    EXPECT_EQ(result.verdict.worst(), RecordState::critical);
}

TEST(MailDomainEvaluator, NoPolicyFetchWithoutASoundRecordAndOptionalChecksOff) {
    test::FakeMailDns dns;
    dns.mx("example.com", 10, "mx.example.com").txt("_mta-sts.example.com", {"v=STSv1"});
    MailDomainSettings settings;
    settings.domain = "example.com";
    DomainRun result = run(dns, settings, good_policy);
    EXPECT_TRUE(result.fetched.empty());
    ASSERT_EQ(names(result.verdict),
              (std::vector<std::string>{"mx", "spf", "dmarc", "mta_sts", "tls_rpt"}));
    EXPECT_EQ(result.verdict.records[1].reason, MailDnsReason::spf_missing);
    EXPECT_EQ(result.verdict.records[3].reason, MailDnsReason::mta_sts_invalid);
    EXPECT_EQ(result.verdict.records[4].reason, MailDnsReason::tlsrpt_missing);

    settings.mta_sts = false;
    settings.tls_rpt = false;
    result = run(dns, settings, good_policy);
    EXPECT_EQ(names(result.verdict), (std::vector<std::string>{"mx", "spf", "dmarc"}));
    EXPECT_EQ(result.asked.size(), 3u);
}

TEST(MailDomainEvaluator, WithoutOutboundAddressesSpfIsStillEvaluated) {
    test::FakeMailDns dns = healthy_zone();
    dns.spf("broken.example", "v=spf1 include:_spf.gone.example -all");
    MailDomainSettings settings;
    settings.domain = "example.com";
    DomainRun result = run(dns, settings, good_policy);
    EXPECT_TRUE(result.verdict.records[1].ok());
    EXPECT_EQ(result.verdict.records[1].detail, "evaluates in 0 DNS lookups");
    settings.domain = "broken.example";
    result = run(dns, settings, good_policy);
    EXPECT_EQ(result.verdict.records[0].reason, MailDnsReason::no_mx);
    EXPECT_EQ(result.verdict.records[1].reason, MailDnsReason::spf_invalid);
    EXPECT_EQ(result.verdict.records[1].detail,
              "include:_spf.gone.example: _spf.gone.example does not exist");
}

TEST(MailDomainEvaluator, FeedsOutOfTurnAreIgnored) {
    MailDomainSettings settings;
    settings.domain = "example.com";
    MailDomainEvaluator evaluator(settings);
    evaluator.feed_policy(good_policy);  // not asked for: nothing happens
    EXPECT_EQ(evaluator.need(), MailDomainEvaluator::Need::dns);
    EXPECT_EQ(evaluator.query(), (MailDnsQuery{"example.com", MailDnsType::mx}));
    EXPECT_TRUE(evaluator.verdict().records.empty());
}

TEST(MailDomainEvaluator, RequireDnssecMarksEachUnvalidatedRecord) {
    test::FakeMailDns dns = healthy_zone();
    dns.unsigned_name("example.com").unsigned_name("_smtp._tls.example.com").fail("_dmarc.example.com");
    MailDomainSettings settings;
    settings.domain = "example.com";
    settings.outbound = {parse_ip("192.0.2.1").value()};
    const DomainRun lax = run(dns, settings, good_policy);
    EXPECT_EQ(lax.verdict.records[0].state, RecordState::ok) << "off by default: unsigned answers are fine";

    settings.require_dnssec = true;
    settings.outbound = {parse_ip("198.51.100.9").value()};  // SPF does not cover it: its own reason stays
    const DomainRun strict = run(dns, settings, good_policy);
    ASSERT_EQ(names(strict.verdict), (std::vector<std::string>{"mx", "spf", "dmarc", "mta_sts", "tls_rpt"}));
    const auto& records = strict.verdict.records;
    EXPECT_EQ(records[0].reason, MailDnsReason::dnssec);
    EXPECT_EQ(records[0].state, RecordState::warning);
    EXPECT_EQ(records[0].detail, "the answer for example.com is not DNSSEC-validated (no AD bit from the resolver)");
    EXPECT_EQ(records[1].reason, MailDnsReason::spf_not_covered);
    EXPECT_EQ(records[1].state, RecordState::critical);
    EXPECT_EQ(records[1].detail,
              "198.51.100.9 is not covered (fail): -all in example.com matched; the answer for example.com is not "
              "DNSSEC-validated (no AD bit from the resolver)");
    EXPECT_EQ(records[2].reason, MailDnsReason::dns_error) << "a failed lookup says nothing about signatures";
    EXPECT_EQ(records[2].detail.find("DNSSEC"), std::string::npos);
    EXPECT_TRUE(records[3].ok()) << "validated _mta-sts record and policy: " << records[3].detail;
    EXPECT_EQ(records[4].reason, MailDnsReason::dnssec);
    EXPECT_NE(records[4].detail.find("_smtp._tls.example.com"), std::string::npos);
}

}  // namespace
}  // namespace tierwatch

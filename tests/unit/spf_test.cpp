// SPF (probes/wire/maildns/spf): the parser term by term, bad input named by term, the canonical
// text, and the evaluator against an in-memory DNS, each query it asks checked in order.
#include "probes/wire/maildns/spf.hpp"

#include <gtest/gtest.h>

#include "tests/support/fake_mail_dns.hpp"

namespace tierwatch {
namespace {

using test::FakeMailDns;

SpfRecord parsed(std::string_view text) {
    Parsed<SpfRecord> result = parse_spf(text);
    EXPECT_TRUE(result.ok()) << text << ": " << result.error;
    return result.value;
}

std::string error_of(std::string_view text) {
    Parsed<SpfRecord> result = parse_spf(text);
    EXPECT_FALSE(result.ok()) << text << " parsed";
    return result.error;
}

TEST(SpfParse, EveryMechanismWithQualifiersAndLengths) {
    const SpfRecord record = parsed(
        "v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx/28 "
        "mx:example.org//48 "
        "ptr ptr:example.net ip4:192.0.2.0/24 ip6:2001:DB8::/32 exists:%{ir}.%{l1r+-}._spf.%{d}");
    ASSERT_EQ(record.mechanisms.size(), 11u);
    const auto& m = record.mechanisms;
    EXPECT_EQ(m[0].kind, SpfMechanismKind::all);
    EXPECT_EQ(m[0].qualifier, SpfQualifier::pass);
    EXPECT_EQ(m[1].kind, SpfMechanismKind::include);
    EXPECT_EQ(m[1].qualifier, SpfQualifier::fail);
    EXPECT_EQ(m[1].domain, "_spf.example.com");
    EXPECT_EQ(m[2].kind, SpfMechanismKind::a);
    EXPECT_EQ(m[2].qualifier, SpfQualifier::softfail);
    EXPECT_TRUE(m[2].domain.empty());
    EXPECT_FALSE(m[2].cidr4);
    EXPECT_EQ(m[3].qualifier, SpfQualifier::neutral);
    EXPECT_EQ(m[3].domain, "mail.example.com");
    EXPECT_EQ(m[3].cidr4, 24u);
    EXPECT_EQ(m[3].cidr6, 64u);
    EXPECT_EQ(m[4].kind, SpfMechanismKind::mx);
    EXPECT_EQ(m[4].cidr4, 28u);
    EXPECT_FALSE(m[4].cidr6);
    EXPECT_EQ(m[5].domain, "example.org");
    EXPECT_FALSE(m[5].cidr4);
    EXPECT_EQ(m[5].cidr6, 48u);
    EXPECT_EQ(m[6].kind, SpfMechanismKind::ptr);
    EXPECT_EQ(m[7].domain, "example.net");
    EXPECT_EQ(m[8].kind, SpfMechanismKind::ip4);
    EXPECT_EQ(to_string(m[8].network), "192.0.2.0");
    EXPECT_EQ(m[8].cidr4, 24u);
    EXPECT_EQ(m[9].kind, SpfMechanismKind::ip6);
    EXPECT_EQ(to_string(m[9].network), "2001:db8::");
    EXPECT_EQ(m[9].cidr6, 32u);
    EXPECT_EQ(m[10].kind, SpfMechanismKind::exists);
    EXPECT_EQ(m[10].domain, "%{ir}.%{l1r+-}._spf.%{d}");
}

TEST(SpfParse, VersionAndNamesIgnoreCaseAndSpacesRepeat) {
    const SpfRecord record = parsed("V=SPF1  IP4:10.0.0.1   -ALL ");
    ASSERT_EQ(record.mechanisms.size(), 2u);
    EXPECT_EQ(record.mechanisms[1].kind, SpfMechanismKind::all);
    EXPECT_TRUE(parsed("v=spf1").mechanisms.empty());
}

TEST(SpfParse, ModifiersKnownAndUnknown) {
    const SpfRecord record =
        parsed("v=spf1 mx redirect=_spf.example.com exp=explain.%{d} foo-bar.1=%{i}x");
    EXPECT_EQ(record.redirect, "_spf.example.com");
    EXPECT_EQ(record.exp, "explain.%{d}");
    ASSERT_EQ(record.unknown.size(), 1u);
    EXPECT_EQ(record.unknown[0].name, "foo-bar.1");
    EXPECT_EQ(record.unknown[0].value, "%{i}x");
    // c, r and t belong to the explanation text exp= points at, not to the domain it names; an
    // unknown modifier's macro-string may hold any letter.
    EXPECT_EQ(error_of("v=spf1 exp=%{c}.example.com"),
              "term 1 'exp=%{c}.example.com': macro '%{c}' has no valid letter (c, r and t are "
              "only for explanation text)");
    EXPECT_EQ(parsed("v=spf1 x=%{c}.%{r}.%{t}").unknown.at(0).value, "%{c}.%{r}.%{t}");
    EXPECT_EQ(error_of("v=spf1 x=%{q}"), "term 1 'x=%{q}': macro '%{q}' has no valid letter");
}

TEST(SpfParse, MacroLiteralsAndDelimiters) {
    EXPECT_EQ(parsed("v=spf1 exists:%%%_%-.%{D2R.-+,/_=}").mechanisms[0].domain,
              "%%%_%-.%{D2R.-+,/_=}");
    EXPECT_TRUE(parse_spf("v=spf1 include:%{v}.%{h}.%{o}.%{s}.%{p}.example.com").ok());
}

TEST(SpfParse, ErrorsNameTheTerm) {
    EXPECT_EQ(error_of(""), "the record does not start with \"v=spf1 \"");
    EXPECT_EQ(error_of("v=spf10 -all"), "the record does not start with \"v=spf1 \"");
    EXPECT_EQ(error_of("spf1 -all"), "the record does not start with \"v=spf1 \"");
    EXPECT_EQ(error_of("v=spf1 mx foo:bar.com"), "term 2 'foo:bar.com': unknown mechanism 'foo'");
    EXPECT_EQ(error_of("v=spf1 *all"), "term 1 '*all': unknown mechanism '*all'");
    EXPECT_EQ(error_of("v=spf1 ip4:192.0.2.256"),
              "term 1 'ip4:192.0.2.256': ip4: '192.0.2.256' is not an IPv4 address");
    EXPECT_EQ(error_of("v=spf1 ip4:192.0.2.0/33"),
              "term 1 'ip4:192.0.2.0/33': ip4: '/33' is not a CIDR length (0-32)");
    EXPECT_EQ(error_of("v=spf1 ip4:192.0.2.0/024"),
              "term 1 'ip4:192.0.2.0/024': ip4: '/024' is not a CIDR length (0-32)");
    EXPECT_EQ(error_of("v=spf1 ip4:010.0.0.1"),
              "term 1 'ip4:010.0.0.1': ip4: '010.0.0.1' is not an IPv4 address");
    EXPECT_EQ(error_of("v=spf1 ip6:2001:db8::/129"),
              "term 1 'ip6:2001:db8::/129': ip6: '/129' is not a CIDR length (0-128)");
    EXPECT_EQ(error_of("v=spf1 ip6:192.0.2.1"),
              "term 1 'ip6:192.0.2.1': ip6: '192.0.2.1' is not an IPv6 address");
    EXPECT_EQ(error_of("v=spf1 ip4"), "term 1 'ip4': ip4 needs ':address'");
    EXPECT_EQ(error_of("v=spf1 include"), "term 1 'include': include needs ':domain'");
    EXPECT_EQ(error_of("v=spf1 include:"), "term 1 'include:': include: an empty domain after ':'");
    EXPECT_EQ(error_of("v=spf1 include:localhost"),
              "term 1 'include:localhost': include: 'localhost' is not a domain: it has no '.'");
    EXPECT_EQ(error_of("v=spf1 a:example.123"),
              "term 1 'a:example.123': a: 'example.123' does not end in a top-level label");
    EXPECT_EQ(error_of("v=spf1 all:x"), "term 1 'all:x': all takes no argument");
    EXPECT_EQ(error_of("v=spf1 ptr/24"), "term 1 'ptr/24': ptr takes no CIDR length");
    EXPECT_EQ(error_of("v=spf1 mx/"), "term 1 'mx/': mx: '/' is not an IPv4 CIDR length (0-32)");
    EXPECT_EQ(error_of("v=spf1 a//129"),
              "term 1 'a//129': a: '//129' is not an IPv6 CIDR length (//0-128)");
    EXPECT_EQ(error_of("v=spf1 redirect=a.example redirect=b.example"),
              "term 2 'redirect=b.example': redirect= appears twice");
    EXPECT_EQ(error_of("v=spf1 redirect="), "term 1 'redirect=': an empty domain");
    EXPECT_EQ(error_of("v=spf1 include:%{x}.example.com"),
              "term 1 'include:%{x}.example.com': include: macro '%{x}' has no valid letter (c, r "
              "and t are only for explanation text)");
    EXPECT_EQ(error_of("v=spf1 include:%{c}.example.com"),
              "term 1 'include:%{c}.example.com': include: macro '%{c}' has no valid letter (c, r "
              "and t are only for explanation text)");
    EXPECT_EQ(
        error_of("v=spf1 exists:%{d0}.example.com"),
        "term 1 'exists:%{d0}.example.com': exists: macro '%{d0}' keeps zero or too many parts");
    EXPECT_EQ(error_of("v=spf1 exists:%{dx}.example.com"),
              "term 1 'exists:%{dx}.example.com': exists: macro '%{dx}' has a bad transformer");
    EXPECT_EQ(error_of("v=spf1 exists:%{d.example.com"),
              "term 1 'exists:%{d.example.com': exists: a macro '%{' without '}'");
    EXPECT_EQ(error_of("v=spf1 exists:50%.example.com"),
              "term 1 'exists:50%.example.com': exists: '%.' is not a macro (write %% for '%')");
    EXPECT_EQ(error_of("v=spf1 exists:x.example.com%"),
              "term 1 'exists:x.example.com%': exists: a '%' that starts no macro");
    EXPECT_EQ(error_of("v=spf1 exists:%{}.example.com"),
              "term 1 'exists:%{}.example.com': exists: an empty macro '%{}'");
    EXPECT_EQ(error_of(std::string("v=spf1 a:ex\x01mple.com")),
              "term 1 'a:ex\\x01mple.com': a: a byte outside printable ASCII");
}

TEST(SpfParse, CanonicalTextParsesToTheSameRecord) {
    for (std::string_view text :
         {"v=spf1 +all",
          "V=SPF1 ?A:Mail.Example.com/24//64 ~MX//0 PTR ip6:2001:0db8:0:0:0:0:0:1/128 -all",
          "v=spf1 ip4:192.0.2.1 exists:%{i}.x.example redirect=a.example exp=b.example z=1 z=2"}) {
        const SpfRecord once = parsed(text);
        const std::string canonical = to_string(once);
        EXPECT_EQ(parsed(canonical), once) << canonical;
        EXPECT_EQ(to_string(parsed(canonical)), canonical);
    }
    EXPECT_EQ(to_string(parsed("v=spf1 +a:x.example/24//64 ?ip6:2001:0db8::0001/64 -all")),
              "v=spf1 a:x.example/24//64 ?ip6:2001:db8::1/64 -all");
}

TEST(SpfParse, DomainSpecCheck) {
    EXPECT_EQ(check_domain_spec("example.com"), "");
    EXPECT_EQ(check_domain_spec("example.com."), "");
    EXPECT_EQ(check_domain_spec("a.x-1"), "");  // a hyphen makes a numeric label a top label
    EXPECT_EQ(check_domain_spec("%{d}"), "");   // ends in a macro: checked once expanded
    EXPECT_EQ(check_domain_spec("a.-x"), "'a.-x' does not end in a top-level label");
    EXPECT_EQ(check_domain_spec("."), "'.' is not a domain: it has no '.'");
}

// --- evaluation ------------------------------------------------------------------------------

TEST(SpfEvaluate, Ip4MatchNamesTheTermAndDomain) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/24 -all");
    const SpfResult result = dns.check("example.com", "192.0.2.77");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(result.mechanism, "ip4:192.0.2.0/24");
    EXPECT_EQ(result.domain, "example.com");
    EXPECT_EQ(result.detail, "ip4:192.0.2.0/24 in example.com matched");
    EXPECT_EQ(result.lookups, 0u);
    ASSERT_EQ(dns.asked.size(), 1u);
    EXPECT_EQ(dns.asked[0], (MailDnsQuery{"example.com", MailDnsType::txt}));
}

TEST(SpfEvaluate, NotCoveredSaysWhichTermDecided) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all");
    SpfResult result = dns.check("example.com", "192.0.3.1");
    EXPECT_EQ(result.verdict, SpfVerdict::fail);
    EXPECT_EQ(result.detail, "-all in example.com matched");
    result = dns.check("example.com", "2001:db9::1");
    EXPECT_EQ(result.verdict, SpfVerdict::fail);
    EXPECT_EQ(dns.check("example.com", "2001:db8:ffff::1").verdict, SpfVerdict::pass);

    dns.spf("soft.example", "v=spf1 ~all");
    EXPECT_EQ(dns.check("soft.example", "192.0.2.1").verdict, SpfVerdict::softfail);
    dns.spf("open.example", "v=spf1 ip4:192.0.2.1");
    result = dns.check("open.example", "192.0.2.2");
    EXPECT_EQ(result.verdict, SpfVerdict::neutral);
    EXPECT_EQ(result.mechanism, "");
    EXPECT_EQ(result.detail, "no term of open.example matched 192.0.2.2; the default is neutral");
}

TEST(SpfEvaluate, Ipv4MappedAddressIsCheckedAsIpv4) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 a ip4:192.0.2.0/24 -all").address("example.com", "198.51.100.1");
    const SpfResult result = dns.check("example.com", "::ffff:192.0.2.9");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(dns.asked[1], (MailDnsQuery{"example.com", MailDnsType::a}));  // A, not AAAA
    EXPECT_EQ(result.mechanism, "ip4:192.0.2.0/24");
}

TEST(SpfEvaluate, TxtStringsAreJoinedAndOtherTxtIgnored) {
    FakeMailDns dns;
    dns.txt("example.com", {"google-site-verification=abc"})
        .txt("example.com", {"v=spf1 ip4:192.0.2.0", "/24 -all"});
    EXPECT_EQ(dns.check("example.com", "192.0.2.9").verdict, SpfVerdict::pass);
}

TEST(SpfEvaluate, NoRecordMultipleRecordsAndSyntax) {
    FakeMailDns dns;
    dns.txt("none.example", {"hello"});
    SpfResult result = dns.check("none.example", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::none);
    EXPECT_EQ(result.problem, SpfProblem::no_record);
    EXPECT_EQ(result.detail, "none.example publishes no SPF record");
    result = dns.check("gone.example", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::none);
    EXPECT_EQ(result.detail, "gone.example does not exist");

    dns.spf("two.example", "v=spf1 -all").spf("two.example", "v=spf1 +all");
    result = dns.check("two.example", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::permerror);
    EXPECT_EQ(result.problem, SpfProblem::multiple_records);
    EXPECT_EQ(result.detail, "two.example publishes 2 SPF records");

    dns.spf("bad.example", "v=spf1 ip4:1.2.3 -all");
    result = dns.check("bad.example", "192.0.2.1");
    EXPECT_EQ(result.problem, SpfProblem::syntax);
    EXPECT_EQ(result.detail,
              "SPF record of bad.example: term 1 'ip4:1.2.3': ip4: '1.2.3' is not an IPv4 address");
}

TEST(SpfEvaluate, IncludeMatchAndFallThrough) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 include:_a.example.com include:_b.example.com -all")
        .spf("_a.example.com", "v=spf1 ip4:198.51.100.1 -all")
        .spf("_b.example.com", "v=spf1 ip4:192.0.2.0/25 ?all");
    SpfResult result = dns.check("example.com", "192.0.2.5");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(result.mechanism, "include:_b.example.com");
    EXPECT_EQ(result.detail,
              "include:_b.example.com in example.com matched (ip4:192.0.2.0/25 in _b.example.com "
              "matched)");
    EXPECT_EQ(result.lookups, 2u);
    const std::vector<MailDnsQuery> expected{{"example.com", MailDnsType::txt},
                                             {"_a.example.com", MailDnsType::txt},
                                             {"_b.example.com", MailDnsType::txt}};
    EXPECT_EQ(dns.asked, expected);
    // Neither include passes ("?all" in _b is neutral): the outer -all decides.
    result = dns.check("example.com", "192.0.2.200");
    EXPECT_EQ(result.verdict, SpfVerdict::fail);
    EXPECT_EQ(result.detail, "-all in example.com matched");
}

TEST(SpfEvaluate, MissingIncludeIsPermerrorNamingIt) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 include:_spf.gone.example -all");
    SpfResult result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::permerror);
    EXPECT_EQ(result.problem, SpfProblem::missing_include);
    EXPECT_EQ(result.detail, "include:_spf.gone.example: _spf.gone.example does not exist");
    dns.txt("_spf.gone.example", {"v=spf2 nothing"});
    result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.detail,
              "include:_spf.gone.example: _spf.gone.example publishes no SPF record");
}

TEST(SpfEvaluate, ElevenLookupsArePermerror) {
    FakeMailDns dns;
    std::string record = "v=spf1";
    for (int i = 1; i <= 11; ++i) {
        const std::string name = "i" + std::to_string(i) + ".example.com";
        record += " include:" + name;
        dns.spf(name, "v=spf1 ip4:203.0.113." + std::to_string(i));
    }
    dns.spf("example.com", record + " -all");
    SpfResult result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::permerror);
    EXPECT_EQ(result.problem, SpfProblem::too_many_lookups);
    EXPECT_EQ(result.detail,
              "more than 10 DNS lookups (the next is include:i11.example.com in example.com)");
    EXPECT_EQ(result.lookups, 10u);
    EXPECT_EQ(dns.asked.size(), 11u);  // the record and ten includes; the eleventh is never asked
    // A match before the eleventh lookup is a pass: the limit counts what evaluation reaches.
    EXPECT_EQ(dns.check("example.com", "203.0.113.10").verdict, SpfVerdict::pass);
    SpfLimits strict;
    strict.dns_lookups = 3;
    EXPECT_EQ(dns.check("example.com", "203.0.113.10", strict).problem,
              SpfProblem::too_many_lookups);
}

TEST(SpfEvaluate, IncludeLoopStopsAtTheLimit) {
    FakeMailDns dns;
    dns.spf("a.example", "v=spf1 include:b.example").spf("b.example", "v=spf1 include:a.example");
    const SpfResult result = dns.check("a.example", "192.0.2.1");
    EXPECT_EQ(result.problem, SpfProblem::too_many_lookups);
    EXPECT_EQ(result.lookups, 10u);
}

TEST(SpfEvaluate, VoidLookups) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 a:v1.example.com a:v2.example.com mx:v3.example.com -all")
        .txt("v2.example.com", {"exists, but no A"});
    SpfResult result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::permerror);
    EXPECT_EQ(result.problem, SpfProblem::too_many_void_lookups);
    EXPECT_EQ(result.detail, "more than 2 void lookups (the last: MX v3.example.com)");
    EXPECT_EQ(result.void_lookups, 3u);
    // Two void lookups are allowed: the third term is reached and decides.
    dns.mx("v3.example.com", 10, "mx.example.com").address("mx.example.com", "192.0.2.1");
    result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(result.void_lookups, 2u);
}

TEST(SpfEvaluate, AWithCidrAndFamily) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 a/24//64 -all")
        .address("example.com", "192.0.2.10")
        .address("example.com", "2001:db8:1:2::10");
    EXPECT_EQ(dns.check("example.com", "192.0.2.200").verdict, SpfVerdict::pass);
    EXPECT_EQ(dns.asked.back(), (MailDnsQuery{"example.com", MailDnsType::a}));
    EXPECT_EQ(dns.check("example.com", "192.0.3.10").verdict, SpfVerdict::fail);
    EXPECT_EQ(dns.check("example.com", "2001:db8:1:2:ffff::1").verdict, SpfVerdict::pass);
    EXPECT_EQ(dns.asked.back(), (MailDnsQuery{"example.com", MailDnsType::aaaa}));
    EXPECT_EQ(dns.check("example.com", "2001:db8:1:3::10").verdict, SpfVerdict::fail);
}

TEST(SpfEvaluate, MxResolvesEachHost) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 mx -all")
        .mx("example.com", 10, "mx1.example.com")
        .mx("example.com", 20, "mx2.example.com")
        .address("mx1.example.com", "198.51.100.1")
        .address("mx2.example.com", "192.0.2.25");
    const SpfResult result = dns.check("example.com", "192.0.2.25");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(result.detail, "mx in example.com matched (MX host mx2.example.com)");
    const std::vector<MailDnsQuery> expected{{"example.com", MailDnsType::txt},
                                             {"example.com", MailDnsType::mx},
                                             {"mx1.example.com", MailDnsType::a},
                                             {"mx2.example.com", MailDnsType::a}};
    EXPECT_EQ(dns.asked, expected);
    EXPECT_EQ(result.lookups, 1u);  // the address lookups of MX hosts are not DNS-querying terms
    EXPECT_EQ(dns.check("example.com", "192.0.2.26").verdict, SpfVerdict::fail);
}

TEST(SpfEvaluate, MoreThanTenMxHostsIsPermerror) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 mx -all");
    for (int i = 0; i < 11; ++i)
        dns.mx("example.com", 10, "mx" + std::to_string(i) + ".example.com");
    const SpfResult result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.problem, SpfProblem::too_many_mx);
    EXPECT_EQ(result.detail, "mx in example.com: example.com has 11 MX records, more than 10");
}

TEST(SpfEvaluate, PtrIsValidatedForward) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 ptr -all")
        .ptr("1.2.0.192.in-addr.arpa", "liar.other.example")
        .ptr("1.2.0.192.in-addr.arpa", "mta.example.com.")
        .address("liar.other.example", "192.0.2.1")
        .address("mta.example.com", "192.0.2.1");
    EXPECT_EQ(dns.check("example.com", "192.0.2.1").verdict, SpfVerdict::pass);
    EXPECT_EQ(dns.asked[1], (MailDnsQuery{"1.2.0.192.in-addr.arpa", MailDnsType::ptr}));
    // A PTR name whose forward lookup does not give the address back does not count.
    FakeMailDns forged;
    forged.spf("example.com", "v=spf1 ptr -all")
        .ptr("1.2.0.192.in-addr.arpa", "mta.example.com")
        .address("mta.example.com", "192.0.2.99");
    EXPECT_EQ(forged.check("example.com", "192.0.2.1").verdict, SpfVerdict::fail);
}

TEST(SpfEvaluate, ExistsExpandsMacros) {
    FakeMailDns dns;
    dns.spf("example.com",
            "v=spf1 exists:%{ir}.%{l}._spf.%{d2} exists:%{i}.%{v}.%{O}.x.example -all")
        .address("1.2.0.192.postmaster._spf.example.com", "127.0.0.2");
    SpfResult result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(dns.asked[1],
              (MailDnsQuery{"1.2.0.192.postmaster._spf.example.com", MailDnsType::a}));
    dns.check("example.com", "192.0.2.2");
    ASSERT_EQ(dns.asked.size(), 3u);
    EXPECT_EQ(dns.asked[2].name, "192.0.2.2.in-addr.example.com.x.example");
    // IPv6 %{i} is dotted nibbles; exists asks for A whatever the family.
    dns.check("example.com", "2001:db8::1");
    EXPECT_EQ(dns.asked[1].name,
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.postmaster._spf."
              "example.com");
    EXPECT_EQ(dns.asked[1].type, MailDnsType::a);
}

TEST(SpfEvaluate, MacroTransformersAndEscaping) {
    FakeMailDns dns;
    dns.spf("a.b.example.com", "v=spf1 exists:%{d1r}.%{d3}.%{S}.%{l-}.%%.%_.%-.x.example -all");
    dns.check("a.b.example.com", "192.0.2.1");
    ASSERT_EQ(dns.asked.size(), 2u);
    EXPECT_EQ(dns.asked[1].name,
              "a.b.example.com.postmaster%40a.b.example.com.postmaster.%. .%20.x.example");
}

TEST(SpfEvaluate, RedirectTakesOverAndMissingTargetIsPermerror) {
    FakeMailDns dns;
    dns.spf("example.com", "v=spf1 ip4:198.51.100.1 redirect=_spf.example.net")
        .spf("_spf.example.net", "v=spf1 ip4:192.0.2.0/24 -all");
    SpfResult result = dns.check("example.com", "192.0.2.3");
    EXPECT_EQ(result.verdict, SpfVerdict::pass);
    EXPECT_EQ(result.domain, "_spf.example.net");
    EXPECT_EQ(result.lookups, 1u);
    EXPECT_EQ(dns.check("example.com", "203.0.113.1").verdict, SpfVerdict::fail);
    EXPECT_EQ(dns.check("example.com", "198.51.100.1").verdict, SpfVerdict::pass);

    FakeMailDns broken;
    broken.spf("example.com", "v=spf1 redirect=_spf.gone.example");
    result = broken.check("example.com", "192.0.2.3");
    EXPECT_EQ(result.verdict, SpfVerdict::permerror);
    EXPECT_EQ(result.problem, SpfProblem::no_record);
    EXPECT_EQ(result.detail, "redirect=_spf.gone.example: _spf.gone.example does not exist");
}

TEST(SpfEvaluate, DnsFailureIsTemperror) {
    FakeMailDns dns;
    dns.fail("example.com");
    SpfResult result = dns.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::temperror);
    EXPECT_EQ(result.problem, SpfProblem::dns_error);
    EXPECT_EQ(result.detail, "TXT lookup of example.com failed: SERVFAIL");

    FakeMailDns inner;
    inner.spf("example.com", "v=spf1 a:mail.example.org -all").fail("mail.example.org");
    result = inner.check("example.com", "192.0.2.1");
    EXPECT_EQ(result.verdict, SpfVerdict::temperror);
    EXPECT_EQ(
        result.detail,
        "A lookup of mail.example.org for a:mail.example.org in example.com failed: SERVFAIL");
}

TEST(SpfEvaluate, FeedingAfterTheEndChangesNothing) {
    FakeMailDns dns;
    dns.spf("example.com.", "v=spf1 -all");
    SpfEvaluator evaluator("example.com.", parse_ip("192.0.2.1").value());
    EXPECT_EQ(evaluator.query().name, "example.com");  // the trailing dot is dropped
    MailDnsAnswer answer;
    answer.txt.push_back({"v=spf1 -all"});
    evaluator.feed(answer);
    ASSERT_TRUE(evaluator.done());
    evaluator.feed(MailDnsAnswer{});
    EXPECT_EQ(evaluator.result().verdict, SpfVerdict::fail);
    EXPECT_EQ(evaluator.result().queries, 1u);
}

}  // namespace
}  // namespace tierwatch

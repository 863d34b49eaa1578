// The shared pieces of the mail DNS parsers (probes/wire/maildns/text, address): TXT joining and
// version selection, RFC 6376 tag lists, base64 and hex, IP text forms, prefixes, reverse names.
#include <gtest/gtest.h>

#include "probes/wire/mail_common.hpp"
#include "probes/wire/maildns/address.hpp"
#include "probes/wire/maildns/text.hpp"

namespace tierwatch {
namespace {

TEST(MailDnsTxt, JoinsStringsWithNothingBetween) {
    EXPECT_EQ(join_txt({"v=spf1 ip4:192.0.2.0", "/24 -all"}), "v=spf1 ip4:192.0.2.0/24 -all");
    EXPECT_EQ(join_txt({}), "");
}

TEST(MailDnsTxt, SelectsRecordsByVersion) {
    const std::vector<TxtStrings> records{{"v=spf1 -all"}, {"V=SPF1"},          {"v=spf10 a"},
                                          {"x v=spf1"},    {"v=DMARC1;p=none"}, {"v=spf1;"}};
    EXPECT_EQ(records_with_version(records, "v=spf1"),
              (std::vector<std::string>{"v=spf1 -all", "V=SPF1", "v=spf1;"}));
    EXPECT_EQ(records_with_version(records, "v=DMARC1"),
              (std::vector<std::string>{"v=DMARC1;p=none"}));
    EXPECT_TRUE(records_with_version(records, "v=STSv1").empty());
}

TEST(MailDnsTxt, QuoteBoundsAndEscapes) {
    EXPECT_EQ(quote("abc"), "'abc'");
    EXPECT_EQ(quote(std::string("a\0b\\", 4)), "'a\\x00b\\x5c'");
    EXPECT_EQ(quote(std::string(50, 'x')), "'" + std::string(40, 'x') + "...'");
}

TEST(TagList, ParsesWithWhitespaceAndTrailingSeparator) {
    const Parsed<std::vector<Tag>> tags = parse_tag_list(" v = DKIM1 ;\tk=rsa; p=MIGf MA0;  ");
    ASSERT_TRUE(tags.ok()) << tags.error;
    const std::vector<Tag> expected{{"v", "DKIM1"}, {"k", "rsa"}, {"p", "MIGf MA0"}};
    EXPECT_EQ(tags.value, expected);
    ASSERT_NE(find_tag(tags.value, "k"), nullptr);
    EXPECT_EQ(find_tag(tags.value, "k")->value, "rsa");
    EXPECT_EQ(find_tag(tags.value, "K"), nullptr);  // tag names are case-sensitive
    EXPECT_EQ(parse_tag_list("a=").value, (std::vector<Tag>{{"a", ""}}));
}

TEST(TagList, ErrorsNameTheTag) {
    EXPECT_EQ(parse_tag_list("").error, "tag 1 is empty");
    EXPECT_EQ(parse_tag_list(";").error, "tag 1 is empty");
    EXPECT_EQ(parse_tag_list("a=1;;b=2").error, "tag 2 is empty");
    EXPECT_EQ(parse_tag_list("a=1; b").error, "tag 2 'b' has no '='");
    EXPECT_EQ(parse_tag_list("1a=x").error, "tag 1: '1a' is not a tag name");
    EXPECT_EQ(parse_tag_list("a-b=x").error, "tag 1: 'a-b' is not a tag name");
    EXPECT_EQ(parse_tag_list("=x").error, "tag 1: '' is not a tag name");
    EXPECT_EQ(parse_tag_list("a=1; a=2").error, "tag a appears twice");
    EXPECT_EQ(parse_tag_list("a=\x80").error,
              "tag a: the value holds a byte outside printable ASCII");
}

TEST(Base64, DecodesWhatEncodeWrites) {
    for (std::string_view bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const auto decoded = base64_decode(base64_encode(bytes));
        ASSERT_TRUE(decoded) << bytes;
        EXPECT_EQ(std::string(decoded->begin(), decoded->end()), bytes);
    }
    const auto folded = base64_decode(" Zm9v\r\n YmFy ");
    ASSERT_TRUE(folded);
    EXPECT_EQ(std::string(folded->begin(), folded->end()), "foobar");
}

TEST(Base64, RefusesBadInput) {
    EXPECT_FALSE(base64_decode("Zm9"));    // no padding
    EXPECT_FALSE(base64_decode("Zg="));    // short padding
    EXPECT_FALSE(base64_decode("Zg==="));  // too much padding
    EXPECT_FALSE(base64_decode("="));
    EXPECT_FALSE(base64_decode("Zh=="));  // non-zero pad bits
    EXPECT_FALSE(base64_decode("Zm9=="));
    EXPECT_FALSE(base64_decode("Zm9vYm=Fy"));  // data after padding
    EXPECT_FALSE(base64_decode("Zm9v!"));
    EXPECT_FALSE(base64_decode("Zm9v-_"));  // base64url is not DKIM's alphabet
}

TEST(Hex, RoundTripAndErrors) {
    const auto bytes = hex_decode("00ff 7A a5");
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, (std::vector<std::uint8_t>{0x00, 0xff, 0x7a, 0xa5}));
    EXPECT_EQ(hex_encode(*bytes), "00FF7AA5");
    EXPECT_FALSE(hex_decode("abc"));
    EXPECT_FALSE(hex_decode("a bc"));
    EXPECT_FALSE(hex_decode("zz"));
    EXPECT_EQ(hex_decode("")->size(), 0u);
}

TEST(IpAddress, ParsesIpv4Strictly) {
    const auto address = parse_ipv4("192.0.2.255");
    ASSERT_TRUE(address);
    EXPECT_FALSE(address->v6);
    EXPECT_EQ(address->bytes[0], 192);
    EXPECT_EQ(address->bytes[3], 255);
    for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ",
                                 "1..3.4", "1.2.3.", "a.b.c.d", "1234.1.1.1", "-1.2.3.4"}) {
        EXPECT_FALSE(parse_ipv4(bad)) << bad;
    }
}

TEST(IpAddress, ParsesIpv6Forms) {
    EXPECT_EQ(to_string(parse_ipv6("2001:DB8:0:0:1:0:0:1").value()), "2001:db8::1:0:0:1");
    EXPECT_EQ(to_string(parse_ipv6("::").value()), "::");
    EXPECT_EQ(to_string(parse_ipv6("::1").value()), "::1");
    EXPECT_EQ(to_string(parse_ipv6("1::").value()), "1::");
    EXPECT_EQ(to_string(parse_ipv6("1:0:0:2:0:0:0:3").value()), "1:0:0:2::3");
    EXPECT_EQ(to_string(parse_ipv6("1:0:2:3:4:5:6:7").value()),
              "1:0:2:3:4:5:6:7");  // one zero: no "::"
    EXPECT_EQ(to_string(parse_ipv6("::ffff:192.0.2.1").value()), "::ffff:c000:201");
    EXPECT_EQ(to_string(parse_ipv6("1:2:3:4:5:6:1.2.3.4").value()), "1:2:3:4:5:6:102:304");
    for (std::string_view bad :
         {"", ":", ":1", "1:", "1:2", "1::2::3", ":::", "12345::", "g::", "1:2:3:4:5:6:7:8:9",
          "1:2:3:4:5:6:7::8", "1.2.3.4::", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4"}) {
        EXPECT_FALSE(parse_ipv6(bad)) << bad;
    }
    EXPECT_TRUE(parse_ip("2001:db8::1")->v6);
    EXPECT_FALSE(parse_ip("192.0.2.1")->v6);
}

TEST(IpAddress, PrefixMatching) {
    const IpAddress a = parse_ip("192.0.2.130").value();
    EXPECT_TRUE(in_network(a, parse_ip("192.0.2.128").value(), 25));
    EXPECT_FALSE(in_network(a, parse_ip("192.0.2.0").value(), 25));
    EXPECT_TRUE(in_network(a, parse_ip("10.0.0.0").value(), 0));
    EXPECT_TRUE(in_network(a, a, 99));                       // capped at 32
    EXPECT_FALSE(in_network(a, parse_ip("::").value(), 0));  // never across families
    const IpAddress b = parse_ip("2001:db8:abcd::1").value();
    EXPECT_TRUE(in_network(b, parse_ip("2001:db8:ab00::").value(), 40));
    EXPECT_FALSE(in_network(b, parse_ip("2001:db8:ab00::").value(), 41));
}

TEST(IpAddress, ReverseNames) {
    EXPECT_EQ(reverse_name(parse_ip("192.0.2.1").value()), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_name(parse_ip("2001:db8::567:89ab").value()),
              "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

}  // namespace
}  // namespace tierwatch

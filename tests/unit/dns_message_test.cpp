// The DNS wire codec byte by byte: the query we send, every record type we read, and malformed
// responses, each refused with the offset where it goes wrong.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "probes/wire/dns_message.hpp"

namespace tierwatch {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A response header: id 0xbeef, QR RD RA (+ AD when asked), the given rcode and counts.
Bytes header(std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar, std::uint8_t rcode = 0,
             bool ad = false) {
    return {0xbe, 0xef, 0x81, static_cast<std::uint8_t>(0x80 | (ad ? 0x20 : 0) | rcode), 0, static_cast<std::uint8_t>(qd),
            0,    static_cast<std::uint8_t>(an), 0, static_cast<std::uint8_t>(ns), 0, static_cast<std::uint8_t>(ar)};
}

void append(Bytes& out, std::initializer_list<std::uint8_t> more) { out.insert(out.end(), more); }

// "a.example" at offset 12, the question every response below repeats.
Bytes with_question(Bytes out, std::uint8_t type) {
    append(out, {1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, type, 0, 1});
    return out;
}

// An answer owned by a pointer to the question's name (offset 12).
void answer(Bytes& out, std::uint8_t type, std::initializer_list<std::uint8_t> rdata) {
    append(out, {0xc0, 12, 0, type, 0, 1, 0, 0, 0x0e, 0x10, 0, static_cast<std::uint8_t>(rdata.size())});
    append(out, rdata);
}

TEST(DnsQuery, BuildsHeaderQuestionAndOpt) {
    std::string error;
    const Bytes query = build_dns_query(0x1234, "Mx.Example.", DnsType::txt, {}, error);
    ASSERT_EQ(error, "");
    const Bytes expected{0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,  // RD, AD, one OPT
                         2,    'M',  'x',  7,    'E', 'x', 'a', 'm', 'p', 'l', 'e', 0,
                         0,    16,   0,    1,                                   // TXT IN
                         0,    0,    41,   0x04, 0xd0, 0, 0, 0, 0, 0, 0};      // OPT 1232, DO=0
    EXPECT_EQ(query, expected);
}

TEST(DnsQuery, OptionsClearBitsAndSetDo) {
    std::string error;
    DnsQueryOptions options;
    options.recursion_desired = false;
    options.authentic_data = false;
    options.dnssec_ok = true;
    const Bytes query = build_dns_query(1, "x", DnsType::a, options, error);
    ASSERT_EQ(error, "");
    EXPECT_EQ(query[2], 0x00);
    EXPECT_EQ(query[3], 0x00);
    EXPECT_EQ(query[query.size() - 4], 0x80);  // DO
    options.edns = false;
    const Bytes plain = build_dns_query(1, "x", DnsType::a, options, error);
    EXPECT_EQ(plain.size(), 12u + 3u + 4u);
    EXPECT_EQ(plain[11], 0);  // no additional record
}

TEST(DnsQuery, RefusesNamesDnsCannotCarry) {
    std::string error;
    EXPECT_TRUE(build_dns_query(1, "a..b", DnsType::a, {}, error).empty());
    EXPECT_EQ(error, "empty label in DNS name");
    std::string long_label(64, 'x');  // appended, not `+`: GCC 12 warns falsely (-Warray-bounds)
    long_label.append(".com");
    EXPECT_TRUE(build_dns_query(1, long_label, DnsType::a, {}, error).empty());
    EXPECT_NE(error.find("longer than 63 bytes"), std::string::npos);
    std::string long_name;
    for (int i = 0; i < 60; ++i) long_name += "abcd.";
    EXPECT_TRUE(build_dns_query(1, long_name, DnsType::a, {}, error).empty());
    EXPECT_EQ(error, "DNS name longer than 255 bytes");
}

TEST(DnsParse, ReadsFlagsAndAddressRecords) {
    Bytes bytes = with_question(header(1, 2, 0, 0, 0, true), 1);
    answer(bytes, 1, {127, 0, 0, 2});
    answer(bytes, 28, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    const auto parsed = parse_dns_message(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    const DnsMessage& m = parsed.message;
    EXPECT_EQ(m.id, 0xbeef);
    EXPECT_TRUE(m.response);
    EXPECT_TRUE(m.authentic_data);
    EXPECT_TRUE(m.recursion_available);
    EXPECT_FALSE(m.truncated);
    EXPECT_EQ(m.question_name, "a.example");
    ASSERT_EQ(m.answers.size(), 2u);
    EXPECT_EQ(m.answers[0].name, "a.example");
    EXPECT_EQ(m.answers[0].ttl, 3600u);
    EXPECT_EQ(m.answers[0].address, (Bytes{127, 0, 0, 2}));
    EXPECT_EQ(m.answers[1].address.size(), 16u);
    EXPECT_EQ(m.answers_of(DnsType::aaaa).size(), 1u);
}

TEST(DnsParse, ReadsRcodeAndTruncation) {
    Bytes bytes = with_question(header(1, 0, 0, 0, 3), 1);
    bytes[2] |= 0x02;  // TC
    const auto parsed = parse_dns_message(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_TRUE(parsed.message.rcode_is(DnsRcode::nxdomain));
    EXPECT_TRUE(parsed.message.truncated);
    EXPECT_FALSE(parsed.message.authentic_data);
    EXPECT_EQ(dns_rcode_name(parsed.message.rcode), "NXDOMAIN");
    EXPECT_EQ(dns_rcode_name(11), "RCODE11");
}

TEST(DnsParse, OptCarriesTheExtendedRcode) {
    Bytes bytes = with_question(header(1, 0, 0, 1, 0), 1);
    append(bytes, {0, 0, 41, 0x04, 0xd0, 1, 0, 0, 0, 0, 0});  // extended rcode 1: BADVERS (16)
    const auto parsed = parse_dns_message(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_TRUE(parsed.message.has_edns);
    EXPECT_EQ(parsed.message.rcode, 16);
}

TEST(DnsParse, ReadsNamesTextMxAndTlsa) {
    Bytes bytes = with_question(header(1, 4, 0, 0), 16);
    // PTR to "mx.a.example": a label, then a pointer to the question name.
    answer(bytes, 12, {2, 'm', 'x', 0xc0, 12});
    // MX 10 to the same name by pointer to the PTR's target (offset 12+15+12 = 39).
    answer(bytes, 15, {0, 10, 0xc0, 39});
    // TXT of two character-strings, kept apart and joined.
    answer(bytes, 16, {3, 'v', '=', 's', 4, 'p', 'f', '1', ' '});
    // TLSA 3 1 1 and two data bytes.
    answer(bytes, 52, {3, 1, 1, 0xab, 0xcd});
    const auto parsed = parse_dns_message(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    const auto& a = parsed.message.answers;
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[0].target, "mx.a.example");
    EXPECT_EQ(a[1].preference, 10);
    EXPECT_EQ(a[1].target, "mx.a.example");
    EXPECT_EQ(a[2].texts, (std::vector<std::string>{"v=s", "pf1 "}));
    EXPECT_EQ(a[2].text(), "v=spf1 ");
    EXPECT_EQ(a[3].tlsa_usage, 3);
    EXPECT_EQ(a[3].tlsa_selector, 1);
    EXPECT_EQ(a[3].tlsa_matching, 1);
    EXPECT_EQ(a[3].tlsa_data, (Bytes{0xab, 0xcd}));
}

TEST(DnsParse, EscapesUnprintableLabelBytes) {
    Bytes bytes = header(1, 0, 0, 0);
    append(bytes, {3, 'a', '.', 0x07, 0, 0, 1, 0, 1});
    const auto parsed = parse_dns_message(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.message.question_name, "a\\046\\007");
}

// Each malformed response and the sentence it gets.
struct Malformed {
    const char* what;
    Bytes bytes;
    const char* error;
};

TEST(DnsParse, RefusesMalformedInputNamingTheOffset) {
    const Bytes question = with_question(header(1, 1, 0, 0), 1);
    auto with = [&](std::initializer_list<std::uint8_t> tail) {
        Bytes out = question;
        append(out, tail);
        return out;
    };
    const std::vector<Malformed> cases{
        {"short header", Bytes{0, 1, 2}, "DNS header cut short: 3 of 12 bytes"},
        {"pointer to itself", with({0xc0, 27, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}), "compression pointer to offset 27 does not point backwards at offset 27"},
        {"pointer forward", with({0xc0, 40, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}), "compression pointer to offset 40 does not point backwards at offset 27"},
        {"cut pointer", with({0xc0}), "1 records announced but only 1 bytes left at offset 27"},
        {"label past end", with({60, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0}), "label runs past the end of the message at offset 27"},
        {"reserved label type", with({0x40, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}), "label type 1 is not supported at offset 27"},
        {"rdata past end", with({0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1}),
         "record data of 9 bytes runs past the end of the message at offset 39"},
        {"A of 3 bytes", with({0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3}),
         "A record data of 3 bytes (an A record has 4) at offset 39"},
        {"TXT string overruns", with({0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 5, 'x'}),
         "TXT character-string runs past its record data at offset 39"},
        {"PTR name overruns rdata", with({0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 0, 0, 2, 3, 'a'}),
         "label runs past the end of the message at offset 39"},
        {"trailing bytes", with({0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4, 9}),
         "1 bytes after the last record at offset 43"},
        {"huge count", [] {
             Bytes b = header(0, 0, 0, 0);
             b[6] = 0xff;
             b[7] = 0xff;
             return b;
         }(), "65535 records announced but only 0 bytes left at offset 12"},
    };
    for (const auto& c : cases) {
        const auto parsed = parse_dns_message(c.bytes);
        EXPECT_EQ(parsed.error, c.error) << c.what;
    }
}

TEST(DnsParse, RefusesNamesOver255Bytes) {
    Bytes bytes = header(1, 0, 0, 0);
    for (int i = 0; i < 5; ++i) {
        bytes.push_back(63);
        bytes.insert(bytes.end(), 63, 'x');
    }
    append(bytes, {0, 0, 1, 0, 1});
    const auto parsed = parse_dns_message(bytes);
    EXPECT_EQ(parsed.error, "name longer than 255 bytes at offset 204");
}

TEST(DnsParse, PointerChainsEndBackwards) {
    // Question "a.example"; a second question points to a pointer that points to the first.
    Bytes bytes = header(2, 0, 0, 0);
    append(bytes, {1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1});
    append(bytes, {0xc0, 14, 0, 1, 0, 1});  // "example" by pointer
    const auto parsed = parse_dns_message(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
}

TEST(DnsNames, ReverseLookupNames) {
    EXPECT_EQ(reverse_lookup_name(Bytes{192, 0, 2, 99}, "zen.example."), "99.2.0.192.zen.example");
    Bytes v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    EXPECT_EQ(reverse_lookup_name(v6, "ip6.arpa"),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    EXPECT_TRUE(same_dns_name("MX1.Example.", "mx1.example"));
    EXPECT_FALSE(same_dns_name("mx1.example", "mx2.example"));
}

}  // namespace
}  // namespace tierwatch

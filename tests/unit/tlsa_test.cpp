// TLSA records (probes/wire/maildns/tlsa): RDATA byte by byte, presentation text, their agreement,
// digest lengths and which records DANE for SMTP can use.
#include "probes/wire/maildns/tlsa.hpp"

#include <gtest/gtest.h>

namespace tierwatch {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> values) {
    std::vector<std::uint8_t> out;
    for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
    return out;
}

TEST(Tlsa, RdataFieldsByteByByte) {
    std::vector<std::uint8_t> rdata = bytes({3, 1, 1});
    for (int i = 0; i < 32; ++i) rdata.push_back(static_cast<std::uint8_t>(i));
    const Parsed<TlsaRecord> parsed = parse_tlsa_rdata(rdata);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value.usage, tlsa::dane_ee);
    EXPECT_EQ(parsed.value.selector, tlsa::spki);
    EXPECT_EQ(parsed.value.matching_type, tlsa::sha256);
    EXPECT_EQ(parsed.value.data.size(), 32u);
    EXPECT_EQ(parsed.value.data[31], 31);
    EXPECT_EQ(to_rdata(parsed.value), rdata);
    EXPECT_TRUE(dane_usable(parsed.value));
}

TEST(Tlsa, EveryTruncationOfADigestRecordIsRefused) {
    std::vector<std::uint8_t> rdata = bytes({3, 1, 2});
    rdata.resize(3 + 64, 0x5a);
    for (std::size_t length = 0; length < rdata.size(); ++length) {
        const Parsed<TlsaRecord> parsed = parse_tlsa_rdata(std::span(rdata.data(), length));
        EXPECT_FALSE(parsed.ok()) << length;
        EXPECT_FALSE(parsed.error.empty()) << length;
    }
    EXPECT_TRUE(parse_tlsa_rdata(rdata).ok());
}

TEST(Tlsa, RdataErrors) {
    EXPECT_EQ(parse_tlsa_rdata(bytes({})).error,
              "the RDATA is 0 bytes, shorter than its three fields");
    EXPECT_EQ(parse_tlsa_rdata(bytes({3, 1})).error,
              "the RDATA is 2 bytes, shorter than its three fields");
    EXPECT_EQ(parse_tlsa_rdata(bytes({3, 1, 1})).error, "no certificate association data");
    EXPECT_EQ(parse_tlsa_rdata(bytes({3, 1, 1, 0xab})).error,
              "matching type 1 needs 32 bytes of data, not 1");
    std::vector<std::uint8_t> long_sha512 = bytes({2, 0, 2});
    long_sha512.resize(3 + 65);
    EXPECT_EQ(parse_tlsa_rdata(long_sha512).error,
              "matching type 2 needs 64 bytes of data, not 65");
    // Numbers DANE does not use are still a record: the matcher skips them.
    const Parsed<TlsaRecord> odd = parse_tlsa_rdata(bytes({255, 9, 7, 1}));
    ASSERT_TRUE(odd.ok()) << odd.error;
    EXPECT_FALSE(dane_usable(odd.value));
}

TEST(Tlsa, PresentationAgreesWithRdata) {
    const std::string digest = "0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6";
    const Parsed<TlsaRecord> text =
        parse_tlsa_text(" 3 1 1 " + digest.substr(0, 20) + " " + digest.substr(20) + "\n");
    ASSERT_TRUE(text.ok()) << text.error;
    EXPECT_EQ(to_string(text.value), "3 1 1 " + digest);
    const Parsed<TlsaRecord> wire = parse_tlsa_rdata(to_rdata(text.value));
    ASSERT_TRUE(wire.ok());
    EXPECT_EQ(wire.value, text.value);
    EXPECT_EQ(parse_tlsa_text("2 0 0 30820122").value.data, bytes({0x30, 0x82, 0x01, 0x22}));
}

TEST(Tlsa, PresentationErrors) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "usage: '' is not a number from 0 to 255"},
        {"256 1 1 00", "usage: '256' is not a number from 0 to 255"},
        {"3x 1 1 00", "usage: '3x' is not a number from 0 to 255"},
        {"3 1", "matching type: '' is not a number from 0 to 255"},
        {"3 -1 1 00", "selector: '-1' is not a number from 0 to 255"},
        {"3 1 0001 00", "matching type: '0001' is not a number from 0 to 255"},
        {"3 1 1", "no certificate association data"},
        {"3 1 1 ABC", "certificate association data: 'ABC' is not hex"},
        {"3 1 1 GG", "certificate association data: 'GG' is not hex"},
        {"3 1 1 AB", "matching type 1 needs 32 bytes of data, not 1"},
    };
    for (const auto& [text, error] : cases) EXPECT_EQ(parse_tlsa_text(text).error, error) << text;
}

TEST(Tlsa, UsableCombinations) {
    TlsaRecord record{tlsa::dane_ta, tlsa::cert, tlsa::full, {1}};
    EXPECT_TRUE(dane_usable(record));
    record.usage = tlsa::pkix_ee;  // RFC 7672 §3.1.3: PKIX usages are not for SMTP
    EXPECT_FALSE(dane_usable(record));
    record.usage = tlsa::dane_ee;
    record.selector = 2;
    EXPECT_FALSE(dane_usable(record));
    record.selector = tlsa::spki;
    record.matching_type = 3;
    EXPECT_FALSE(dane_usable(record));
}

}  // namespace
}  // namespace tierwatch

// The dnsbl verdict on real answer shapes: what is a listing, what is a zone's error code; how
// the dane measurements grade.
#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "daemon/alarms/grading.hpp"
#include "probes/dane/dane.hpp"
#include "probes/dnsbl/dnsbl.hpp"
#include "probes/net/dns_probe.hpp"

namespace tierwatch {
namespace {

DnsMessage answer_with(std::uint16_t rcode, std::vector<std::vector<std::uint8_t>> addresses) {
    DnsMessage message;
    message.response = true;
    message.rcode = rcode;
    for (auto& address : addresses) {
        DnsRecord record;
        record.type = static_cast<std::uint16_t>(DnsType::a);
        record.address = std::move(address);
        message.answers.push_back(std::move(record));
    }
    return message;
}

using Kind = DnsblVerdict::Kind;

TEST(DnsblVerdict, NxdomainAndNodataAreNotListed) {
    EXPECT_EQ(dnsbl_verdict(answer_with(3, {})).kind, Kind::not_listed);
    EXPECT_EQ(dnsbl_verdict(answer_with(0, {})).kind, Kind::not_listed);
}

TEST(DnsblVerdict, LoopbackCodesAreListings) {
    const auto verdict = dnsbl_verdict(answer_with(0, {{127, 0, 0, 2}, {127, 0, 0, 4}}));
    EXPECT_EQ(verdict.kind, Kind::listed);
    EXPECT_EQ(verdict.code, "127.0.0.2");
}

TEST(DnsblVerdict, ErrorCodesAndForeignAnswersAreErrorsNeverListings) {
    for (std::uint8_t last : {252, 253, 254, 255}) {
        const auto verdict = dnsbl_verdict(answer_with(0, {{127, 255, 255, last}}));
        EXPECT_EQ(verdict.kind, Kind::error) << int(last);
        EXPECT_EQ(verdict.code, "127.255.255." + std::to_string(last));
    }
    // An error code beside a listing code still means the zone refused to answer.
    EXPECT_EQ(dnsbl_verdict(answer_with(0, {{127, 0, 0, 2}, {127, 255, 255, 254}})).kind, Kind::error);
    // A hijacking resolver's answer is no listing either.
    EXPECT_EQ(dnsbl_verdict(answer_with(0, {{192, 0, 2, 1}})).code, "192.0.2.1");
    const auto servfail = dnsbl_verdict(answer_with(2, {}));
    EXPECT_EQ(servfail.kind, Kind::error);
    EXPECT_EQ(servfail.code, "SERVFAIL");
}

TEST(DnsProbeAddress, MappedAddressesAreLookedUpAsIpv4) {
    EXPECT_EQ(address_bytes(boost::asio::ip::make_address("::ffff:198.51.100.7")),
              (std::vector<std::uint8_t>{198, 51, 100, 7}));
    EXPECT_EQ(address_bytes(boost::asio::ip::make_address("2001:db8::1")).size(), 16u);
    EXPECT_EQ(address_text({198, 51, 100, 7}), "198.51.100.7");
    EXPECT_EQ(address_text(address_bytes(boost::asio::ip::make_address("2001:db8::1"))), "2001:db8::1");
}

TEST(DaneGrading, AnUnpreparedRenewalWarnsAPreparedOneDoesNot) {
    Check check;
    check.protocol = Protocol::dane;
    ProbeResult result;
    result.total = std::chrono::milliseconds(80);
    result.measurements.push_back({&dane_tlsa_matched_measurement, 1, {}});
    result.measurements.push_back({&dane_renewal_unprepared_measurement, 0, {}});
    const auto now = std::chrono::system_clock::now();
    EXPECT_EQ(grade_result(result, check, now).grade, Grade::ok);
    result.measurements[1].value = 3 * 86400;  // three days into the renewal window
    const Graded graded = grade_result(result, check, now);
    EXPECT_EQ(graded.grade, Grade::warning);
    EXPECT_EQ(graded.why, "certificate due without a next-key TLSA record for 3d above 0s");
}

}  // namespace
}  // namespace tierwatch

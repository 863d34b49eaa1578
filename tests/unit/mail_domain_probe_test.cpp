// The mail_domain prober's sans-io parts: c-ares answers as the evaluator's values, the verdict
// as measurements and detail, how a state measurement grades and shows, and one target per
// domain.
#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include "daemon/alarms/grading.hpp"
#include "daemon/scheduling/targets.hpp"
#include "daemon/web/result_json.hpp"
#include "probes/mail_domain/mail_domain.hpp"

namespace tierwatch {
namespace {

DnsRecord record_of(DnsType type) {
    DnsRecord record;
    record.type = static_cast<std::uint16_t>(type);
    return record;
}

DnsAnswer answer_with(std::uint16_t rcode, std::vector<DnsRecord> records) {
    DnsAnswer answer;
    answer.message.response = true;
    answer.message.rcode = rcode;
    answer.message.answers = std::move(records);
    return answer;
}

TEST(MailDnsAnswer, StatusFromClientErrorAndRcode) {
    DnsAnswer timed_out;
    timed_out.error = "timeout";
    const MailDnsAnswer timeout = mail_dns_answer(timed_out, MailDnsType::txt);
    EXPECT_EQ(timeout.status, MailDnsAnswer::Status::error);
    EXPECT_EQ(timeout.error_detail, "timeout");
    EXPECT_EQ(mail_dns_answer(answer_with(3, {}), MailDnsType::mx).status, MailDnsAnswer::Status::nxdomain);
    const MailDnsAnswer servfail = mail_dns_answer(answer_with(2, {}), MailDnsType::mx);
    EXPECT_EQ(servfail.status, MailDnsAnswer::Status::error);
    EXPECT_EQ(servfail.error_detail, "SERVFAIL");
    const MailDnsAnswer nodata = mail_dns_answer(answer_with(0, {}), MailDnsType::txt);
    EXPECT_EQ(nodata.status, MailDnsAnswer::Status::ok);
    EXPECT_TRUE(nodata.txt.empty());
}

TEST(MailDnsAnswer, RecordsOfTheAskedTypeOnly) {
    DnsRecord txt = record_of(DnsType::txt);
    txt.texts = {"v=spf1 ", "-all"};
    DnsRecord mx = record_of(DnsType::mx);
    mx.preference = 10;
    mx.target = "mx1.example.com";
    DnsRecord a = record_of(DnsType::a);
    a.address = {192, 0, 2, 7};
    DnsRecord aaaa = record_of(DnsType::aaaa);
    aaaa.address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const DnsAnswer answer = answer_with(0, {txt, mx, a, aaaa});

    const MailDnsAnswer texts = mail_dns_answer(answer, MailDnsType::txt);
    ASSERT_EQ(texts.txt.size(), 1u);
    EXPECT_EQ(texts.txt[0], (TxtStrings{"v=spf1 ", "-all"})) << "the strings stay apart: the parsers join them";
    EXPECT_TRUE(texts.mx.empty());
    EXPECT_EQ(mail_dns_answer(answer, MailDnsType::mx).mx, (std::vector<MxHost>{{10, "mx1.example.com"}}));
    EXPECT_EQ(mail_dns_answer(answer, MailDnsType::a).addresses,
              (std::vector<IpAddress>{parse_ip("192.0.2.7").value()}));
    EXPECT_EQ(mail_dns_answer(answer, MailDnsType::aaaa).addresses,
              (std::vector<IpAddress>{parse_ip("2001:db8::1").value()}));
}

TEST(IndependentQueries, EveryNameTheSettingsFixAndOnlyThoseChecked) {
    MailDomainSettings settings;
    settings.domain = "example.com";
    settings.dkim_selectors = {"s1", "ed"};
    EXPECT_EQ(independent_queries(settings),
              (std::vector<MailDnsQuery>{{"example.com", MailDnsType::mx},
                                         {"example.com", MailDnsType::txt},
                                         {"_dmarc.example.com", MailDnsType::txt},
                                         {"s1._domainkey.example.com", MailDnsType::txt},
                                         {"ed._domainkey.example.com", MailDnsType::txt},
                                         {"_mta-sts.example.com", MailDnsType::txt},
                                         {"_smtp._tls.example.com", MailDnsType::txt}}));
    settings.dkim_selectors.clear();
    settings.mta_sts = false;
    settings.tls_rpt = false;
    EXPECT_EQ(independent_queries(settings).size(), 3u);
}

DomainVerdict sample_verdict() {
    DomainVerdict verdict;
    verdict.domain = "example.com";
    verdict.records.push_back({RecordKind::mx, {}, RecordState::ok, std::nullopt, {}});
    verdict.records.push_back({RecordKind::spf, {}, RecordState::critical, MailDnsReason::spf_not_covered,
                               "192.0.2.9 gets fail"});
    verdict.records.push_back({RecordKind::dkim, "s1", RecordState::warning, MailDnsReason::dkim_revoked,
                               "s1._domainkey.example.com has an empty p= (revoked)"});
    return verdict;
}

TEST(ReportVerdict, OneStatePerRecordAndADetailForEachProblem) {
    ProbeResult result;
    report_verdict(sample_verdict(), result);
    ASSERT_EQ(result.measurements.size(), 3u);
    EXPECT_EQ(result.measurements[0].label, "mx");
    EXPECT_EQ(result.measurements[0].value, 0);
    EXPECT_EQ(result.measurements[1].label, "spf");
    EXPECT_EQ(result.measurements[1].value, 2);
    EXPECT_EQ(result.measurements[2].label, "dkim:s1");
    EXPECT_EQ(result.measurements[2].value, 1);
    EXPECT_EQ(result.detail,
              "spf spf_not_covered: 192.0.2.9 gets fail; "
              "dkim:s1 dkim_revoked: s1._domainkey.example.com has an empty p= (revoked)");
    EXPECT_TRUE(result.ok()) << "a record's state is graded, the probe itself ran";
}

// A state kind as any protocol would declare one: nothing here is mail-specific.
constexpr MeasurementKind door_state{"door", MeasurementUnit::state, "door", "test_door_state", "doors",
                                     "door", "", "door", nullptr, false};

TEST(StateMeasurement, GradesTheTargetToItsWorstValue) {
    Check check;
    const auto now = std::chrono::system_clock::now();
    ProbeResult result;
    result.measurements = {{&door_state, 0, "front"}, {&door_state, 1, "back"}};
    result.detail = "back door ajar";
    Graded graded = grade_result(result, check, now);
    EXPECT_EQ(graded.grade, Grade::warning);
    EXPECT_EQ(graded.cause, GradeCause::failure);
    EXPECT_EQ(graded.why, "door back warning: back door ajar");
    result.measurements.push_back({&door_state, 2, "garage"});
    result.measurements.push_back({&door_state, 2, "cellar"});
    graded = grade_result(result, check, now);
    EXPECT_EQ(graded.grade, Grade::critical);
    EXPECT_EQ(graded.why, "door garage critical: back door ajar") << "the first of the worst names it";
    result.measurements = {{&door_state, 0, "front"}};
    result.detail.clear();
    EXPECT_EQ(grade_result(result, check, now).grade, Grade::ok);
}

TEST(StateMeasurement, OutputsWriteTheWord) {
    EXPECT_EQ(format_measurement({&door_state, 0, "front"}), "ok");
    EXPECT_EQ(format_measurement({&door_state, 1, "front"}), "warning");
    EXPECT_EQ(format_measurement({&door_state, 2, "front"}), "critical");
    ProbeResult result;
    result.measurements = {{&door_state, 0, "front"}, {&door_state, 2, "garage"}};
    boost::json::object json;
    append_result_json(json, result);
    EXPECT_EQ(json.at("door").as_object().at("front").as_string(), "ok");
    EXPECT_EQ(json.at("door").as_object().at("garage").as_string(), "critical");
}

TEST(ExpandTargets, OneMailDomainTargetPerDomainNamedByIt) {
    const Config config = parse_config(
        "[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\n"
        "[[node]]\nname = \"mta2\"\nrole = \"mta\"\naddress = \"10.0.0.2\"\n"
        "[[check]]\nname = \"domain\"\nprotocol = \"mail_domain\"\nroles = [\"mta\"]\ndomain = \"example.com\"\n"
        "mta_sts = false\n",
        "fleet.toml");
    const auto specs = expand_targets(config, {});
    ASSERT_EQ(specs.size(), 1u) << "the domain's records are probed once, not once per MTA";
    EXPECT_EQ(specs[0].identity, "domain|domain:example.com");
    ASSERT_NE(specs[0].node, nullptr);
    EXPECT_EQ(specs[0].node->name, "mta1");
    TargetTable table;
    table.sync(specs);
    EXPECT_EQ(table.at(0).label, "example.com");
    EXPECT_EQ(table.at(0).server_name(), "example.com");
}

}  // namespace
}  // namespace tierwatch

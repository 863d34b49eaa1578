// MTA-STS (probes/wire/maildns/mta_sts): the TXT record, the policy file line by line with CRLF or
// LF, its size bound, errors naming the line, and MX pattern matching.
#include "probes/wire/maildns/mta_sts.hpp"

#include <gtest/gtest.h>

namespace tierwatch {
namespace {

TEST(MtaStsTxt, ParsesTheId) {
    const Parsed<MtaStsTxt> parsed = parse_mta_sts_txt("v=STSv1; id=20160831085700Z;");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value.id, "20160831085700Z");
    EXPECT_TRUE(parse_mta_sts_txt("v=STSv1; id=a; ext=1").ok());
}

TEST(MtaStsTxt, ErrorsNameTheTag) {
    EXPECT_EQ(parse_mta_sts_txt("id=1; v=STSv1").error,
              "tag v: the record must start with v=STSv1");
    EXPECT_EQ(parse_mta_sts_txt("v=STSv2; id=1").error,
              "tag v: the record must start with v=STSv1");
    EXPECT_EQ(parse_mta_sts_txt("v=STSv1").error, "tag id: missing (the policy id is required)");
    EXPECT_EQ(parse_mta_sts_txt("v=STSv1; id=").error,
              "tag id: '' is not 1 to 32 letters and digits");
    EXPECT_EQ(parse_mta_sts_txt("v=STSv1; id=2024-01").error,
              "tag id: '2024-01' is not 1 to 32 letters and digits");
    EXPECT_EQ(parse_mta_sts_txt("v=STSv1; id=" + std::string(33, 'a')).error,
              "tag id: '" + std::string(33, 'a') + "' is not 1 to 32 letters and digits");
}

TEST(MtaStsPolicy, ParsesCrlfAndLfLines) {
    const MtaStsPolicy expected{MtaStsMode::enforce, 604800, {"mail.example.com", "*.example.net"}};
    for (std::string_view body :
         {"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: "
          "*.example.net\r\nmax_age: 604800\r\n",
          "version: STSv1\nmode: enforce\nmx: Mail.Example.COM.\nmx:*.example.net\nmax_age:604800",
          "version: STSv1\r\nmode: enforce\r\nfuture: x\r\nmx: mail.example.com\r\nmode: none\r\n"
          "mx: *.example.net\r\nmax_age: 604800\r\n\r\n"}) {
        const Parsed<MtaStsPolicy> parsed = parse_mta_sts_policy(body);
        ASSERT_TRUE(parsed.ok()) << parsed.error;
        EXPECT_EQ(parsed.value, expected);
    }
    const Parsed<MtaStsPolicy> none =
        parse_mta_sts_policy("version: STSv1\nmode: none\nmax_age: 0\n");
    ASSERT_TRUE(none.ok()) << none.error;
    EXPECT_EQ(none.value.mode, MtaStsMode::none);
    EXPECT_EQ(
        parse_mta_sts_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 31557600\n")
            .value.max_age,
        31557600u);
}

TEST(MtaStsPolicy, CanonicalTextRoundTrips) {
    const MtaStsPolicy policy{MtaStsMode::testing, 86400, {"a.example", "*.b.example"}};
    const Parsed<MtaStsPolicy> parsed = parse_mta_sts_policy(to_string(policy));
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value, policy);
}

TEST(MtaStsPolicy, ErrorsNameTheLine) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "version: missing (the policy must say version: STSv1)"},
        {"mode: enforce\nmx: a.example\nmax_age: 1\n",
         "version: missing (the policy must say version: STSv1)"},
        {"version: STSv2\n", "line 1: version: 'STSv2' is not STSv1"},
        {"version: STSv1\nmode: strict\n",
         "line 2: mode: 'strict' is not enforce, testing or none"},
        {"version: STSv1\nmode: enforce\nmax_age: 31557601\n",
         "line 3: max_age: '31557601' is not a number of seconds from 0 to 31557600"},
        {"version: STSv1\nmax_age: -5\n",
         "line 2: max_age: '-5' is not a number of seconds from 0 to 31557600"},
        {"version: STSv1\nmax_age: 99999999999\n",
         "line 2: max_age: '99999999999' is not a number of seconds from 0 to 31557600"},
        {"version: STSv1\nmx: *.*.example.com\n",
         "line 2: mx: '*.*.example.com' is not a host name or *.domain pattern"},
        {"version: STSv1\nmx: mail.*.example\n",
         "line 2: mx: 'mail.*.example' is not a host name or *.domain pattern"},
        {"version: STSv1\nmx: \n", "line 2: mx: '' is not a host name or *.domain pattern"},
        {"version: STSv1\nmx: a..example\n",
         "line 2: mx: 'a..example' is not a host name or *.domain pattern"},
        {"version: STSv1\nmode enforce\n", "line 2: 'mode enforce' is not \"key: value\""},
        {"version: STSv1\n: x\n", "line 2: ': x' is not \"key: value\""},
        {"version: STSv1\rmode: enforce\n", "line 1: a CR inside the line"},
        {"version: STSv1\nmax_age: 1\n", "mode: missing"},
        {"version: STSv1\nmode: none\n", "max_age: missing"},
        {"version: STSv1\nmode: enforce\nmax_age: 1\n",
         "mx: missing (mode enforce needs at least one)"},
    };
    for (const auto& [body, error] : cases)
        EXPECT_EQ(parse_mta_sts_policy(body).error, error) << body;
}

TEST(MtaStsPolicy, OversizedBodyIsRefusedUnread) {
    std::string body = "version: STSv1\nmode: none\nmax_age: 1\n";
    body.resize(mta_sts_policy_max_bytes, '\n');
    EXPECT_TRUE(parse_mta_sts_policy(body).ok());
    body += '\n';
    EXPECT_EQ(parse_mta_sts_policy(body).error, "the policy is 65537 bytes, more than 65536");
}

TEST(MtaStsPolicy, MxMatching) {
    EXPECT_TRUE(mx_matches("mail.example.com", "MAIL.example.com."));
    EXPECT_TRUE(mx_matches("mail.example.com.", "mail.example.com"));
    EXPECT_FALSE(mx_matches("mail.example.com", "mail2.example.com"));
    EXPECT_TRUE(mx_matches("*.example.com", "mx1.example.com"));
    EXPECT_FALSE(mx_matches("*.example.com", "a.b.example.com"));  // one label only
    EXPECT_FALSE(mx_matches("*.example.com", "example.com"));
    EXPECT_FALSE(mx_matches("*.example.com", ".example.com"));
    EXPECT_FALSE(mx_matches("*.example.com", "mx1.example.org"));
    EXPECT_FALSE(mx_matches("", ""));
}

}  // namespace
}  // namespace tierwatch

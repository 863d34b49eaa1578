// DMARC records (probes/wire/maildns/dmarc): every tag, defaults, and each error naming its tag.
#include "probes/wire/maildns/dmarc.hpp"

#include <gtest/gtest.h>

namespace tierwatch {
namespace {

TEST(Dmarc, ParsesEveryTag) {
    const Parsed<DmarcRecord> parsed = parse_dmarc(
        "v=DMARC1; p=reject; sp=quarantine; pct=25; rua=mailto:agg@example.com, "
        "mailto:x@y.example!10m; "
        "ruf=mailto:forensic@example.com; adkim=s; aspf=r; fo=1; ri=86400; rf=afrf; future=1");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    const DmarcRecord& r = parsed.value;
    EXPECT_EQ(r.policy, DmarcPolicy::reject);
    EXPECT_EQ(r.subdomain_policy, DmarcPolicy::quarantine);
    EXPECT_EQ(r.percent, 25u);
    EXPECT_EQ(r.rua,
              (std::vector<std::string>{"mailto:agg@example.com", "mailto:x@y.example!10m"}));
    EXPECT_EQ(r.ruf, (std::vector<std::string>{"mailto:forensic@example.com"}));
    EXPECT_EQ(r.adkim, DmarcAlignment::strict);
    EXPECT_EQ(r.aspf, DmarcAlignment::relaxed);
}

TEST(Dmarc, Defaults) {
    const Parsed<DmarcRecord> parsed = parse_dmarc("v=DMARC1;p=none");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value, DmarcRecord{});
    EXPECT_EQ(parse_dmarc("v=DMARC1; p=Quarantine; pct=0;").value.policy, DmarcPolicy::quarantine);
    EXPECT_EQ(parse_dmarc("v=DMARC1; p=none; rua=mailto:a@b!5").value.rua.front(), "mailto:a@b!5");
}

TEST(Dmarc, ErrorsNameTheTag) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "tag 1 is empty"},
        {"p=none; v=DMARC1", "tag v: the record must start with v=DMARC1"},
        {"v=DMARC2; p=none", "tag v: the record must start with v=DMARC1"},
        {"v=DMARC1", "tag p: missing (the policy is required)"},
        {"v=DMARC1; rua=mailto:a@b.example", "tag p: missing (the policy is required)"},
        {"v=DMARC1; p=block", "tag p: 'block' is not none, quarantine or reject"},
        {"v=DMARC1; p=none; sp=", "tag sp: '' is not none, quarantine or reject"},
        {"v=DMARC1; p=none; pct=101", "tag pct: '101' is not a percentage from 0 to 100"},
        {"v=DMARC1; p=none; pct=-1", "tag pct: '-1' is not a percentage from 0 to 100"},
        {"v=DMARC1; p=none; pct=99999999999",
         "tag pct: '99999999999' is not a percentage from 0 to 100"},
        {"v=DMARC1; p=none; rua=agg@example.com",
         "tag rua: 'agg@example.com' is not a mailto: URI"},
        {"v=DMARC1; p=none; rua=https://example.com/r",
         "tag rua: 'https://example.com/r' is not a mailto: URI"},
        {"v=DMARC1; p=none; ruf=mailto:@example.com",
         "tag ruf: 'mailto:@example.com' has no local@domain address"},
        {"v=DMARC1; p=none; rua=mailto:a@b,", "tag rua: '' is not a mailto: URI"},
        {"v=DMARC1; p=none; rua=mailto:a@b!x",
         "tag rua: 'mailto:a@b!x' has a bad size limit after '!'"},
        {"v=DMARC1; p=none; adkim=relaxed",
         "tag adkim: 'relaxed' is not r (relaxed) or s (strict)"},
        {"v=DMARC1; p=none; aspf=", "tag aspf: '' is not r (relaxed) or s (strict)"},
        {"v=DMARC1; p=none; ri=1d", "tag ri: '1d' is not a number of seconds"},
        {"v=DMARC1; p=none; p=reject", "tag p appears twice"},
        {"v=DMARC1 p=none", "tag v: the record must start with v=DMARC1"},
    };
    for (const auto& [text, error] : cases) EXPECT_EQ(parse_dmarc(text).error, error) << text;
}

}  // namespace
}  // namespace tierwatch

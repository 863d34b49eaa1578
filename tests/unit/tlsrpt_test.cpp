// TLS-RPT records (probes/wire/maildns/tlsrpt): the rua list and each error naming its tag.
#include "probes/wire/maildns/tlsrpt.hpp"

#include <gtest/gtest.h>

namespace tierwatch {
namespace {

TEST(TlsRpt, ParsesTheReportUris) {
    const Parsed<TlsRptRecord> parsed = parse_tlsrpt(
        "v=TLSRPTv1; rua=mailto:tls@example.com, https://reports.example.com/v1;ext=1");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value.rua, (std::vector<std::string>{"mailto:tls@example.com",
                                                          "https://reports.example.com/v1"}));
}

TEST(TlsRpt, ErrorsNameTheTag) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "tag 1 is empty"},
        {"rua=mailto:a@b; v=TLSRPTv1", "tag v: the record must start with v=TLSRPTv1"},
        {"v=TLSRPTv2; rua=mailto:a@b", "tag v: the record must start with v=TLSRPTv1"},
        {"v=TLSRPTv1", "tag rua: missing (where reports go is required)"},
        {"v=TLSRPTv1; rua=", "tag rua: '' is not a mailto:local@domain or https:// URI"},
        {"v=TLSRPTv1; rua=http://example.com",
         "tag rua: 'http://example.com' is not a mailto:local@domain or https:// URI"},
        {"v=TLSRPTv1; rua=mailto:@b",
         "tag rua: 'mailto:@b' is not a mailto:local@domain or https:// URI"},
        {"v=TLSRPTv1; rua=mailto:a@",
         "tag rua: 'mailto:a@' is not a mailto:local@domain or https:// URI"},
        {"v=TLSRPTv1; rua=https://",
         "tag rua: 'https://' is not a mailto:local@domain or https:// URI"},
    };
    for (const auto& [text, error] : cases) EXPECT_EQ(parse_tlsrpt(text).error, error) << text;
}

}  // namespace
}  // namespace tierwatch

// DKIM key records (probes/wire/maildns/dkim): tags, base64 key bytes, revocation, errors by tag.
#include <gtest/gtest.h>

#include "probes/wire/maildns/dkim.hpp"

namespace tierwatch {
namespace {

TEST(DkimKeyRecord, ParsesTagsAndDecodesTheKey) {
    const Parsed<DkimKeyRecord> parsed = parse_dkim_key(
        "v=DKIM1; k=rsa; h=sha256:sha1; s=email:*; t=y:s; n=notes here; p=AAEC AwQ=");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    const DkimKeyRecord& r = parsed.value;
    EXPECT_EQ(r.key_type, DkimKeyType::rsa);
    EXPECT_EQ(r.key, (std::vector<std::uint8_t>{0, 1, 2, 3, 4}));
    EXPECT_FALSE(r.revoked);
    EXPECT_EQ(r.hash_algorithms, (std::vector<std::string>{"sha256", "sha1"}));
    EXPECT_EQ(r.service_types, (std::vector<std::string>{"email", "*"}));
    EXPECT_EQ(r.flags, (std::vector<std::string>{"y", "s"}));
    EXPECT_TRUE(r.testing());
}

TEST(DkimKeyRecord, DefaultsEd25519AndRevocation) {
    Parsed<DkimKeyRecord> parsed = parse_dkim_key("p=AA==");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value.key_type, DkimKeyType::rsa);  // k= defaults to rsa, v= is optional
    EXPECT_FALSE(parsed.value.testing());
    parsed = parse_dkim_key("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value.key_type, DkimKeyType::ed25519);
    EXPECT_EQ(parsed.value.key.size(), 32u);
    parsed = parse_dkim_key("v=DKIM1; p=");
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_TRUE(parsed.value.revoked);
    EXPECT_TRUE(parsed.value.key.empty());
    EXPECT_EQ(dkim_key_name("s2024", "example.com"), "s2024._domainkey.example.com");
}

TEST(DkimKeyRecord, ErrorsNameTheTag) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "tag 1 is empty"},
        {"v=DKIM1; k=rsa", "tag p: missing (the public key is required)"},
        {"k=rsa; v=DKIM1; p=AA==", "tag v: v=DKIM1 must be the first tag when present"},
        {"v=DKIM2; p=AA==", "tag v: v=DKIM1 must be the first tag when present"},
        {"v=DKIM1; k=dsa; p=AA==", "tag k: 'dsa' is not a key type (rsa or ed25519)"},
        {"v=DKIM1; p=AA=", "tag p: the key is not valid base64"},
        {"v=DKIM1; p=AA==x", "tag p: the key is not valid base64"},
        {"v=DKIM1; p=A", "tag p: the key is not valid base64"},
        {"v=DKIM1; h=sha256::sha1; p=AA==",
         "tag h: 'sha256::sha1' is not a colon-separated list of names"},
        {"v=DKIM1; t=y,s; p=AA==", "tag t: 'y,s' is not a colon-separated list of names"},
        {"v=DKIM1; p=AA==; p=", "tag p appears twice"},
        {"v=DKIM1; p=AA==; x", "tag 3 'x' has no '='"},
    };
    for (const auto& [text, error] : cases) EXPECT_EQ(parse_dkim_key(text).error, error) << text;
}

}  // namespace
}  // namespace tierwatch

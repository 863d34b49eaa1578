// Unit tests for the one URL splitter (probes/wire/url): the parts, IPv6 brackets, ports, and
// each error with the parts read before it, as the config, pager and plugin callers rely on.
#include <gtest/gtest.h>

#include "probes/wire/url.hpp"

namespace tierwatch {
namespace {

TEST(SplitUrl, SplitsEveryPart) {
    const UrlSplit split = split_url("https://user:pw@www.example.com:8443/health/deep?x=1&y=2#top");
    ASSERT_TRUE(split.ok());
    const UrlParts& url = split.parts;
    EXPECT_EQ(url.scheme, "https");
    EXPECT_TRUE(url.has_userinfo);
    EXPECT_EQ(url.userinfo, "user:pw");
    EXPECT_EQ(url.host, "www.example.com");
    EXPECT_FALSE(url.bracketed);
    EXPECT_EQ(url.port_text, "8443");
    EXPECT_EQ(url.port, 8443);
    EXPECT_EQ(url.path, "/health/deep");
    EXPECT_EQ(url.query, "x=1&y=2");
    EXPECT_EQ(url.fragment, "top");
}

TEST(SplitUrl, AbsentPartsAreAbsent) {
    const UrlSplit split = split_url("smtp://mx.example.com");
    ASSERT_TRUE(split.ok());
    EXPECT_EQ(split.parts.host, "mx.example.com");
    EXPECT_FALSE(split.parts.has_userinfo);
    EXPECT_FALSE(split.parts.port_text);
    EXPECT_FALSE(split.parts.port);  // the caller takes its protocol's default
    EXPECT_TRUE(split.parts.path.empty());
    EXPECT_FALSE(split.parts.query);
    EXPECT_FALSE(split.parts.fragment);
}

TEST(SplitUrl, QueryBeforeAnyPathEndsTheAuthority) {
    const UrlSplit split = split_url("imap://h:143?starttls=true");
    ASSERT_TRUE(split.ok());
    EXPECT_EQ(split.parts.host, "h");
    EXPECT_EQ(split.parts.port, 143);
    EXPECT_TRUE(split.parts.path.empty());
    EXPECT_EQ(split.parts.query, "starttls=true");
    EXPECT_EQ(split_url("http://h?a/b").parts.query, "a/b");
}

TEST(SplitUrl, Ipv6LiteralsInBrackets) {
    UrlSplit split = split_url("imaps://[::1]:993/");
    ASSERT_TRUE(split.ok());
    EXPECT_TRUE(split.parts.bracketed);
    EXPECT_EQ(split.parts.host, "::1");
    EXPECT_EQ(split.parts.port, 993);
    EXPECT_EQ(split.parts.path, "/");

    split = split_url("http://[::1");
    EXPECT_EQ(split.error, UrlError::unclosed_bracket);
    split = split_url("http://[::1]x:80/");
    EXPECT_EQ(split.error, UrlError::after_bracket);
    EXPECT_EQ(split.parts.host, "::1");
}

TEST(SplitUrl, PortsFromOneTo65535Only) {
    EXPECT_EQ(split_url("tls://h:65535").parts.port, 65535);
    EXPECT_EQ(split_url("tcp://h:1").parts.port, 1);
    for (const char* bad : {"tcp://h:0", "tcp://h:65536", "tcp://h:", "tcp://h:+5", "tcp://h:5x", "tcp://h:99999999999"}) {
        const UrlSplit split = split_url(bad);
        EXPECT_EQ(split.error, UrlError::bad_port) << bad;
        EXPECT_EQ(split.parts.host, "h") << bad;  // read before the error, for the caller's message
        EXPECT_TRUE(split.parts.port_text) << bad;
        EXPECT_FALSE(split.parts.port) << bad;
    }
}

TEST(SplitUrl, NoSchemeAndEmptyHost) {
    EXPECT_EQ(split_url("mx.example.com:25").error, UrlError::no_scheme);
    const UrlSplit empty = split_url("http://");
    EXPECT_TRUE(empty.ok());  // an empty host is the caller's to refuse, in its own words
    EXPECT_TRUE(empty.parts.host.empty());
}

}  // namespace
}  // namespace tierwatch

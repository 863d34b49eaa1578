// The HTTP response reader shared by the http prober and the HTTP pagers: what each kind of
// server answer becomes, whatever the size of each receive.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/http_bytes.hpp"

namespace tierwatch {
namespace {

using testing::read_http_bytes;

HttpRead read_in(std::string_view bytes, std::size_t read_size, HttpLimits limits = {}) {
    return read_http_bytes(bytes, read_size, limits);
}

TEST(HttpResponse, ReadsStatusAndBodyWhateverTheReceiveSize) {
    const std::string answer = "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nfull";
    for (std::size_t read_size : {1u, 7u, 4096u}) {
        const auto read = read_in(answer, read_size);
        ASSERT_EQ(read.error, HttpReadError::none) << read_size << ": " << read.code.message();
        EXPECT_EQ(read.response.result_int(), 503u);
        EXPECT_EQ(read.response.body(), "full");
    }
}

TEST(HttpResponse, ChunkedBodyIsJoined) {
    const auto read = read_in("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                              5);
    ASSERT_EQ(read.error, HttpReadError::none) << read.code.message();
    EXPECT_EQ(read.response.body(), "abcde");
}

TEST(HttpResponse, BodyPastTheLimitIsNamed) {
    const auto declared = read_in("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 3,
                                  HttpLimits{1024, 4});
    EXPECT_EQ(declared.error, HttpReadError::body_too_large);
    const auto chunked = read_in("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
                                 2, HttpLimits{1024, 4});
    EXPECT_EQ(chunked.error, HttpReadError::body_too_large);
}

TEST(HttpResponse, HeaderPastTheLimitIsNamedWhateverTheReceiveSize) {
    const std::string answer =
        "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(600, 'x') + "\r\nContent-Length: 0\r\n\r\n";
    for (std::size_t read_size : {1u, 100u, 4096u}) {
        EXPECT_EQ(read_in(answer, read_size, HttpLimits{512, 64}).error, HttpReadError::header_too_large)
            << read_size;
        EXPECT_EQ(read_in(answer, read_size, HttpLimits{1024, 64}).error, HttpReadError::none) << read_size;
    }
}

TEST(HttpResponse, NotHttpAndEarlyEndAreMalformed) {
    EXPECT_EQ(read_in("220 smtp.example ESMTP\r\n", 8).error, HttpReadError::malformed);
    EXPECT_EQ(read_in("", 8).error, HttpReadError::malformed);  // closed before a word
    const auto cut = read_in("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 8);
    EXPECT_EQ(cut.error, HttpReadError::malformed);
    EXPECT_EQ(cut.code, boost::beast::http::error::partial_message);
}

}  // namespace
}  // namespace tierwatch

// The shared base of prober tests: a PKI minted once per suite, a check with test defaults, and
// one probe run to completion on a private event loop.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "probes/net/probe.hpp"
#include "probes/net/tls_context.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch::test {

class ProbeFixture : public ::testing::Test {
protected:
    // Suites call this from their SetUpTestSuite(), with extra certificate names if they need any.
    static void make_suite_pki(std::string_view suite, const PkiOptions& options = {});
    static void remove_suite_pki();

    // A check of `protocol` with test-friendly defaults, trusting the suite's root CA.
    static Check make_check(Protocol protocol,
                            Duration timeout = std::chrono::seconds(2));

    // Runs one probe of `check` against `endpoint` (SNI and certificate name `server_name`),
    // with `tls_session` as the target's session slot (tls_resume) when given.
    ProbeResult probe(const Check& check, const boost::asio::ip::tcp::endpoint& endpoint,
                      std::string_view server_name = "node.test",
                      TlsSessionSlot* tls_session = nullptr);

    static std::filesystem::path pki_dir_;
    static Pki pki_;
    TlsContextCache tls_contexts_;
};

}  // namespace tierwatch::test

// Compares reasons by name, so a failure prints both names and the probe's detail.
#define EXPECT_REASON(result, expected) \
    EXPECT_EQ(::tierwatch::to_string((result).reason), ::tierwatch::to_string(expected)) << (result).detail

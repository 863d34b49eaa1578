// ProbeFixture (see probe_fixture.hpp).
#include "tests/support/probe_fixture.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace tierwatch::test {

std::filesystem::path ProbeFixture::pki_dir_;
Pki ProbeFixture::pki_;

void ProbeFixture::make_suite_pki(std::string_view suite, const PkiOptions& options) {
    pki_dir_ = std::filesystem::temp_directory_path() /
               ("tierwatch-" + std::string(suite) + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(pki_dir_);
    pki_ = make_pki(pki_dir_, options);
}

void ProbeFixture::remove_suite_pki() { std::filesystem::remove_all(pki_dir_); }

Check ProbeFixture::make_check(Protocol protocol, Duration timeout) {
    Check check;
    check.name = "test-" + std::string(to_string(protocol));
    check.protocol = protocol;
    check.interval = std::chrono::seconds(15);
    check.timeout = timeout;
    check.cert_warning = std::chrono::days(21);
    check.cert_critical = std::chrono::days(7);
    check.tls.ca_file = pki_.root_ca;
    return check;
}

ProbeResult ProbeFixture::probe(const Check& check, const boost::asio::ip::tcp::endpoint& endpoint,
                                std::string_view server_name, TlsSessionSlot* tls_session) {
    boost::asio::io_context io;
    ProbeContext context{io.get_executor(), &tls_contexts_, {}};
    ProbeRequest target = probe_request(check, endpoint.address(), server_name, tls_session);
    target.port = endpoint.port();
    auto future = boost::asio::co_spawn(io, run_probe(target, context), boost::asio::use_future);
    io.run();
    return future.get();
}

}  // namespace tierwatch::test

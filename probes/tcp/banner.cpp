// Banner expectation shared by the tcp and tls probers.
#include "probes/tcp/banner.hpp"

namespace tierwatch {

boost::asio::awaitable<bool> expect_banner(ProbeSession& session, const TcpSettings& settings) {
    const auto& regex = settings.banner_regex;
    if (!regex) co_return true;
    session.begin(Phase::greeting);
    std::string_view line;
    const bool read = co_await session.read_line(line);  // named: the GCC 12 coroutine rule
    if (!read) co_return false;
    bool matched = false;
    try {
        matched = boost::regex_search(line.begin(), line.end(), *regex);
    } catch (const std::runtime_error& error) {  // boost's complexity limit on hostile input
        co_return session.fail(FailureReason::bad_greeting, error.what());
    }
    if (!matched) {
        co_return session.fail(FailureReason::bad_greeting,
                               "banner \"" + printable_excerpt(line) + "\" does not match /" +
                                   settings.banner_regex_text + "/");
    }
    co_return true;
}

}  // namespace tierwatch

// Session opening and capability checks shared by the mail probers (see mail_session.hpp).
#include "probes/mail_session.hpp"

namespace tierwatch {

boost::asio::awaitable<bool> open_mail_session(ProbeSession& session) {
    if (const bool ok = co_await session.connect(); !ok) co_return false;
    if (uses_implicit_tls(session.check().protocol)) {
        if (const bool ok = co_await session.start_tls(); !ok) co_return false;
    }
    session.begin(Phase::greeting);
    co_return true;
}

bool check_capabilities(ProbeSession& session, std::span<const std::string> offered) {
    const std::string missing =
        missing_capabilities(offered, session.check().mail.expect_capabilities);
    if (missing.empty()) return true;
    const bool several = missing.find(", ") != std::string::npos;
    return session.fail(
        FailureReason::protocol,
        std::string(several ? "capabilities " : "capability ") + missing + " not offered");
}

bool check_starttls_offered(ProbeSession& session, std::span<const std::string> offered,
                            std::string_view keyword) {
    if (has_capability(offered, keyword)) return true;
    return session.fail(FailureReason::protocol,
                        keyword == "STARTTLS"
                            ? "STARTTLS not offered"
                            : "STARTTLS not offered (no " + std::string(keyword) + " capability)");
}

}  // namespace tierwatch

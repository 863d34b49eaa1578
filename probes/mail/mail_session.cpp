// Session opening and capability checks shared by the mail probers (see mail_session.hpp).
#include "probes/mail/mail_session.hpp"

#include <vector>

namespace tierwatch {

boost::asio::awaitable<bool> open_mail_session(ProbeSession& session) {
    if (const bool ok = co_await session.connect(); !ok) co_return false;
    if (uses_implicit_tls(session.target().protocol)) {
        if (const bool ok = co_await session.start_tls(); !ok) co_return false;
    }
    session.begin(Phase::greeting);
    co_return true;
}

bool check_capabilities(ProbeSession& session, const MailSettings& settings, std::span<const std::string> offered) {
    std::vector<std::string> expected = settings.expect_capabilities;
    if (settings.starttls) {
        // Servers stop listing STARTTLS (POP3: STLS) once it is in use; it was offered and used,
        // so a check may expect it, as the SPEC's example does, and still check after TLS.
        std::erase_if(expected, [](const std::string& capability) {
            return equals_ignoring_case(capability, "STARTTLS") ||
                   equals_ignoring_case(capability, "STLS");
        });
    }
    const std::string missing = missing_capabilities(offered, expected);
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

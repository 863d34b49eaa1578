// The SMTP-family client dialogue as a reusable piece: the smtp prober runs it up to QUIT, the
// roundtrip prober goes on to submit a message with it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "probes/net/connection.hpp"
#include "probes/wire/smtp_parser.hpp"

namespace tierwatch {

// Drives the session's request (protocol, login) and mail settings (starttls, helo_name, auth). The
// e-mail pager drives it too, towards its relay.
class SmtpClient {
public:
    SmtpClient(ProbeSession& session, const MailSettings& settings)
        : session_(session), request_(session.target()), mail_(settings) {}

    // Greeting, EHLO (LHLO), STARTTLS and EHLO again, capability checks, AUTH when the check has
    // a username: everything before the first mail transaction. Ends in the command phase.
    boost::asio::awaitable<bool> open();
    // Sends `line` and reads the reply; fails with protocol unless the reply code is `expected`
    // (or within [expected, expected_high]: RCPT TO takes 250 and 251).
    boost::asio::awaitable<bool> command(std::string_view line, std::string_view name,
                                         int expected, int expected_high = 0);
    boost::asio::awaitable<bool> quit();
    const SmtpReply& reply() const noexcept { return parser_.reply(); }

private:
    boost::asio::awaitable<bool> exchange(std::string_view line);
    boost::asio::awaitable<bool> hello();
    boost::asio::awaitable<bool> authenticate();

    ProbeSession& session_;
    const ProbeRequest& request_;
    const MailSettings& mail_;
    SmtpReplyParser parser_;
    std::vector<std::string> capabilities_;
};

}  // namespace tierwatch

// The IMAP client dialogue as a reusable piece: the imap prober runs it to EXAMINE and LOGOUT,
// the roundtrip prober searches, deletes and expunges with it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/net/connection.hpp"
#include "probes/wire/imap_parser.hpp"

namespace tierwatch {

// Drives the session's request (login) and mail settings (starttls, auth).
class ImapClient {
public:
    ImapClient(ProbeSession& session, const MailSettings& settings)
        : session_(session), request_(session.target()), mail_(settings) {}

    // Greeting, CAPABILITY, STARTTLS and CAPABILITY again, capability checks, and the login when
    // the check has a username. Ends in the command phase.
    boost::asio::awaitable<bool> open();
    // Sends a tagged command and reads up to its tagged completion, collecting capabilities and
    // SEARCH results and answering each "+" continuation with the next of `continuations`
    // (literals, SASL data). `arguments` are quoted or sent as literals. NO to a login is auth,
    // any other NO or BAD is protocol.
    boost::asio::awaitable<bool> command(std::string_view verb,
                                         std::span<const std::string_view> arguments = {},
                                         std::span<const std::string> continuations = {});
    // A command line sent as written (atoms, numbers, sets; no quoting), e.g. "UID SEARCH ...".
    boost::asio::awaitable<bool> raw_command(std::string_view line);

    bool preauthenticated() const noexcept { return preauth_; }
    const std::vector<std::string>& capabilities() const noexcept { return capabilities_; }
    // The numbers of every "* SEARCH" response to the last command.
    const std::vector<std::uint32_t>& search_results() const noexcept { return search_results_; }

private:
    boost::asio::awaitable<bool> login();
    boost::asio::awaitable<bool> exchange(std::string_view verb, std::string_view tag,
                                          std::span<const std::string> parts);

    ProbeSession& session_;
    const ProbeRequest& request_;
    const MailSettings& mail_;
    ImapResponseParser parser_;
    std::vector<std::string> capabilities_;
    std::vector<std::uint32_t> search_results_;
    unsigned tags_ = 0;
    bool preauth_ = false;
};

}  // namespace tierwatch

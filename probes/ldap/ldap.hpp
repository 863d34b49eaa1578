// The ldap and ldaps prober (StartTLS, simple bind, search, unbind), and the LDAP client session
// and response judgements that the ldap_replication prober reuses.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/net/connection.hpp"
#include "probes/wire/ldap_codec.hpp"
#include "probes/net/probe.hpp"

namespace tierwatch {

boost::asio::awaitable<ProbeResult> probe_ldap(const ProbeRequest& target, const LdapSettings& settings, ProbeContext& context);

// ---- sans-io judgements --------------------------------------------------------------------

struct LdapVerdict {
    FailureReason reason = FailureReason::protocol;
    std::string detail;
};

// What a non-success LDAPResult means: invalidCredentials (49) is `auth`, every other code is
// `protocol`; the detail names `operation`, the code and the server's (printable) diagnostic.
std::optional<LdapVerdict> ldap_result_failure(std::string_view operation,
                                               const LdapResult& result);

// What one search returned before its SearchResultDone.
struct LdapSearchOutcome {
    std::uint32_t entries = 0;
    std::uint32_t references = 0;
    std::vector<std::string> collected;  // values of the attribute the caller asked to collect
    LdapResult done;                     // the SearchResultDone's result
};

// Judges a finished search: sizeLimitExceeded after entries is fine when the probe set the limit
// itself; fewer than `min_entries` entries is a protocol failure.
std::optional<LdapVerdict> judge_search(const LdapSearchOutcome& outcome, std::int32_t size_limit,
                                        std::uint32_t min_entries);

// ---- the client half, over one ProbeSession --------------------------------------------------

// One LDAP conversation: every step records its failure in the session and returns false, like
// ProbeSession's own steps. Messages are read through a bounded LdapReader.
class LdapClient {
public:
    LdapClient(ProbeSession& session, const LdapSettings& settings);

    // Connects; TLS for ldaps or after the StartTLS extended operation when the check asks for
    // it; then the simple bind when the check has a bind_dn (phase auth).
    boost::asio::awaitable<bool> open();
    // One search (phase command); values of `collect` (when not empty) go to outcome.collected.
    boost::asio::awaitable<bool> search(const LdapSearch& search, std::string_view collect,
                                        LdapSearchOutcome& outcome);
    // Polite goodbye; the probe has its answer already, so a failure to send it is ignored.
    boost::asio::awaitable<void> unbind();

private:
    boost::asio::awaitable<bool> start_tls();
    boost::asio::awaitable<bool> bind();
    // The next message, which must answer `id` with `op`; unsolicited notices fail the probe.
    boost::asio::awaitable<bool> expect(std::int32_t id, LdapOp op, std::string_view operation);
    boost::asio::awaitable<bool> read_message();

    ProbeSession& session_;
    const LdapSettings& settings_;
    LdapReader reader_;
    LdapMessage message_;
    std::string out_;
    std::int32_t next_id_ = 1;
};

}  // namespace tierwatch

// ldap_replication (ldap_replication.hpp): the node and its peers are read concurrently over
// LdapClient sessions, each with the check's deadline; the lag arithmetic is pure.
#include "probes/ldap/ldap_replication.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "probes/net/connection.hpp"
#include "probes/ldap/ldap.hpp"
#include "probes/net/use_tuple.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

struct NodeRead {
    ProbeResult result;
    std::vector<ContextCsn> csns;
};

// One full LDAP session to `target`: open (TLS, bind), a base search for contextCSN, unbind.
asio::awaitable<NodeRead> read_context_csn(ProbeRequest target, const LdapSettings& settings, ProbeContext& context) {
    static const std::array<std::string, 1> attributes{"contextCSN"};
    NodeRead read;
    ProbeSession session(target, context);
    LdapClient client(session, settings);
    if (const bool opened = co_await client.open(); opened) {
        const std::string& base = settings.search_base;
        const LdapSearch search{
            .base_dn = base,
            .scope = LdapScope::base,
            .size_limit = 0,
            .time_limit = 0,
            .filter_ber = {},  // (objectClass=*): the entry itself, whatever it is
            .attributes = attributes,
        };
        LdapSearchOutcome outcome;
        if (const bool searched = co_await client.search(search, attributes[0], outcome);
            searched) {
            std::string bad;
            std::optional<std::vector<ContextCsn>> csns;
            if (auto failure = judge_search(outcome, 0, 1)) {
                session.fail(failure->reason, std::move(failure->detail));
            } else if (outcome.collected.empty()) {
                session.fail(FailureReason::protocol,
                             "no contextCSN on \"" + printable_excerpt(base) +
                                 "\" (not a replicated naming context, or not readable "
                                 "by this bind)");
            } else if (csns = newest_csn_per_sid(outcome.collected, bad); !csns) {
                session.fail(FailureReason::protocol,
                             "malformed contextCSN \"" + printable_excerpt(bad) + "\"");
            } else {
                read.csns = std::move(*csns);
            }
            co_await client.unbind();
        }
    }
    read.result = session.finish();
    co_return read;
}

// A member's addresses: its IP literal, or what its host name resolves to (the system resolver,
// as a peer has no target of this probe's own to borrow the daemon's resolution from).
asio::awaitable<std::vector<asio::ip::address>> member_addresses(const ReplicationMember& member,
                                                                 ProbeContext& context,
                                                                 std::string& error) {
    std::vector<asio::ip::address> addresses;
    boost::system::error_code ec;
    const auto literal = asio::ip::make_address(member.address, ec);
    if (!ec) {
        addresses.push_back(literal);
        co_return addresses;
    }
    asio::ip::tcp::resolver resolver(context.executor);
    auto [resolve_error, results] = co_await resolver.async_resolve(member.address, "", use_tuple);
    if (resolve_error) {
        error = member.address + ": " + resolve_error.message();
        co_return addresses;
    }
    for (const auto& entry : results) addresses.push_back(entry.endpoint().address());
    if (addresses.empty()) error = member.address + ": no addresses";
    co_return addresses;
}

std::string seconds_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1fs", seconds);
    return text;
}

}  // namespace

std::optional<std::vector<ContextCsn>> newest_csn_per_sid(std::span<const std::string> values,
                                                          std::string& bad) {
    std::vector<ContextCsn> newest;
    for (const std::string& value : values) {
        const auto csn = parse_context_csn(value);
        if (!csn) {
            bad = value;
            return std::nullopt;
        }
        const auto same = std::find_if(newest.begin(), newest.end(), [&](const ContextCsn& known) {
            return known.sid == csn->sid;
        });
        if (same == newest.end()) {
            newest.push_back(*csn);
        } else if (csn->time > same->time) {
            *same = *csn;
        }
    }
    return newest;
}

double replication_lag_seconds(std::span<const ContextCsn> node, std::span<const ContextCsn> peer,
                               std::chrono::system_clock::time_point now) {
    std::chrono::microseconds lag{0};
    for (const ContextCsn& theirs : peer) {
        const auto mine = std::find_if(
            node.begin(), node.end(), [&](const ContextCsn& csn) { return csn.sid == theirs.sid; });
        const auto reference = mine != node.end()
                                   ? mine->time
                                   : std::chrono::time_point_cast<std::chrono::microseconds>(now);
        const auto behind = mine != node.end() ? theirs.time - reference : reference - theirs.time;
        lag = std::max(lag, behind);
    }
    return std::chrono::duration<double>(lag).count();
}

asio::awaitable<ProbeResult> probe_ldap_replication(const ProbeRequest& target, const LdapSettings& settings,
                                                    ProbeContext& context) {
    const auto started = std::chrono::steady_clock::now();
    // Peers are the other members; "other" by address, the identity of a target.
    struct Peer {
        const ReplicationMember* member;
        std::optional<asio::ip::address> address;
        std::string error;
    };
    std::vector<Peer> peers;
    for (const ReplicationMember& member : settings.members) {
        std::string error;
        const auto addresses = co_await member_addresses(member, context, error);
        if (std::find(addresses.begin(), addresses.end(), target.address) != addresses.end())
            continue;
        peers.push_back({&member,
                         addresses.empty() ? std::nullopt : std::optional(addresses.front()),
                         std::move(error)});
    }

    using Read = decltype(asio::co_spawn(context.executor, read_context_csn(target, settings, context),
                                         asio::deferred));
    std::vector<Read> reads;
    reads.push_back(
        asio::co_spawn(context.executor, read_context_csn(target, settings, context), asio::deferred));
    for (const Peer& peer : peers) {
        if (!peer.address) continue;
        ProbeRequest peer_target = target;  // same deadline and TLS options, another server
        peer_target.address = *peer.address;
        peer_target.server_name = peer.member->fqdn;
        peer_target.tls_session = nullptr;
        reads.push_back(asio::co_spawn(context.executor, read_context_csn(peer_target, settings, context),
                                       asio::deferred));
    }
    auto [order, exceptions, results] =
        co_await asio::experimental::make_parallel_group(std::move(reads))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const auto& exception : exceptions) {
        if (exception) std::rethrow_exception(exception);  // a bug: run_probe's caller reports it
    }

    ProbeResult result = std::move(results.front().result);
    if (result.ok()) {
        const auto now = std::chrono::system_clock::now();
        std::string lags;
        std::string unreadable;
        std::size_t next = 1;
        for (const Peer& peer : peers) {
            const std::string& name = peer.member->name;
            if (!peer.address) {
                unreadable +=
                    (unreadable.empty() ? "" : ", ") + name + " (dns: " + peer.error + ")";
                continue;
            }
            const NodeRead& read = results[next++];
            if (!read.result.ok()) {
                unreadable += (unreadable.empty() ? "" : ", ") + name + " (" +
                              std::string(to_string(read.result.reason)) + ")";
                continue;
            }
            const double lag = replication_lag_seconds(results.front().csns, read.csns, now);
            result.measurements.push_back({&ldap_replication_lag_measurement, lag, name});
            lags += (lags.empty() ? "" : ", ") + seconds_text(lag) + " behind " + name;
        }
        result.detail = lags.empty() ? "no peer could be read" : "lag " + lags;
        if (!unreadable.empty()) result.detail += "; unreadable peers: " + unreadable;
    }
    result.total = std::chrono::steady_clock::now() - started;
    co_return result;
}

}  // namespace tierwatch

// The LDAP dialogue (ldap.hpp): a thin coroutine over ProbeSession that feeds the sans-io
// LdapReader and judges each result with the pure functions below.
#include "probes/ldap/ldap.hpp"

#include <openssl/crypto.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "probes/net/use_tuple.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

// Server diagnostics are free text; a long one is cut so a detail stays one readable line.
constexpr std::size_t max_diagnostic = 160;
// Largest response PDU accepted: a probe's search answer is small, a huge one is hostile.
constexpr std::size_t max_ldap_message = std::size_t{1} << 20;
constexpr int size_limit_exceeded = 4;

std::string_view operation_name(LdapOp op) noexcept {
    switch (op) {
        case LdapOp::bind_response:
            return "BindResponse";
        case LdapOp::search_result_entry:
            return "SearchResultEntry";
        case LdapOp::search_result_done:
            return "SearchResultDone";
        case LdapOp::search_result_reference:
            return "SearchResultReference";
        case LdapOp::extended_response:
            return "ExtendedResponse";
        case LdapOp::other:
            break;
    }
    return "operation";
}

std::string describe(const LdapMessage& message) {
    if (message.op != LdapOp::other) return std::string(operation_name(message.op));
    static constexpr char hex[] = "0123456789abcdef";
    return std::string("operation with tag 0x") + hex[message.tag >> 4] + hex[message.tag & 0xf];
}

// "invalidCredentials (49): <diagnostic>", the diagnostic made printable and cut short.
std::string result_text(const LdapResult& result) {
    std::string text =
        std::string(ldap_result_code_name(result.code)) + " (" + std::to_string(result.code) + ")";
    if (!result.diagnostic_message.empty()) {
        text += ": " + printable_excerpt(result.diagnostic_message, max_diagnostic);
    }
    return text;
}

}  // namespace

std::optional<LdapVerdict> ldap_result_failure(std::string_view operation,
                                               const LdapResult& result) {
    const LdapFailure failure = classify_ldap_result(result.code);
    if (failure == LdapFailure::none) return std::nullopt;
    return LdapVerdict{failure == LdapFailure::auth ? FailureReason::auth : FailureReason::protocol,
                       std::string(operation) + " failed: " + result_text(result)};
}

std::optional<LdapVerdict> judge_search(const LdapSearchOutcome& outcome, std::int32_t size_limit,
                                        std::uint32_t min_entries) {
    const LdapResult& done = outcome.done;
    // The server stopped at the limit the probe itself asked for: the entries it sent are the
    // answer.
    const bool limited = done.code == size_limit_exceeded && size_limit > 0 && outcome.entries > 0;
    if (!limited) {
        if (auto failure = ldap_result_failure("search", done)) return failure;
    }
    if (outcome.entries < min_entries) {
        return LdapVerdict{FailureReason::protocol,
                           "search found " + std::to_string(outcome.entries) + " entr" +
                               (outcome.entries == 1 ? "y" : "ies") + ", expected at least " +
                               std::to_string(min_entries)};
    }
    return std::nullopt;
}

LdapClient::LdapClient(ProbeSession& session, const LdapSettings& settings)
    : session_(session), settings_(settings), reader_(LdapReaderLimits{.max_message_size = max_ldap_message}) {}

asio::awaitable<bool> LdapClient::open() {
    if (const bool ok = co_await session_.connect(); !ok) co_return false;
    if (uses_implicit_tls(session_.target().protocol)) {
        if (const bool ok = co_await session_.start_tls(); !ok) co_return false;
    } else if (settings_.starttls) {
        if (const bool ok = co_await start_tls(); !ok) co_return false;
    }
    if (!settings_.bind_dn.empty()) {
        if (const bool ok = co_await bind(); !ok) co_return false;
    }
    co_return true;
}

asio::awaitable<bool> LdapClient::start_tls() {
    session_.begin(Phase::tls);
    const std::int32_t id = next_id_++;
    out_.clear();
    append_start_tls_request(out_, id);
    if (const bool ok = co_await session_.write(out_); !ok) co_return false;
    if (const bool ok = co_await expect(id, LdapOp::extended_response, "StartTLS"); !ok)
        co_return false;
    if (auto failure = ldap_result_failure("StartTLS", message_.result)) {
        co_return session_.fail(FailureReason::protocol, std::move(failure->detail));
    }
    if (reader_.pending() != 0) {
        // Bytes after the response would be read as if they came through TLS (CVE-2011-0411).
        co_return session_.fail(FailureReason::protocol,
                                "server sent data after the StartTLS response");
    }
    co_return co_await session_.start_tls();
}

asio::awaitable<bool> LdapClient::bind() {
    session_.begin(Phase::auth);
    const std::string& bind_dn = settings_.bind_dn;
    const std::int32_t id = next_id_++;
    out_.clear();
    append_bind_request(out_, id, bind_dn, session_.target().password_text());
    const bool written = co_await session_.write(out_);
    // The PDU holds the password in clear: wipe it before anything else can reuse the buffer.
    OPENSSL_cleanse(out_.data(), out_.size());
    out_.clear();
    if (!written) co_return false;
    if (const bool ok = co_await expect(id, LdapOp::bind_response, "bind"); !ok) co_return false;
    if (auto failure = ldap_result_failure("bind as " + printable_excerpt(bind_dn),
                                           message_.result)) {
        co_return session_.fail(failure->reason, std::move(failure->detail));
    }
    co_return true;
}

asio::awaitable<bool> LdapClient::search(const LdapSearch& search, std::string_view collect,
                                         LdapSearchOutcome& outcome) {
    session_.begin(Phase::command);
    const std::int32_t id = next_id_++;
    out_.clear();
    append_search_request(out_, id, search);
    if (const bool ok = co_await session_.write(out_); !ok) co_return false;
    while (true) {
        if (const bool ok = co_await read_message(); !ok) co_return false;
        if (message_.message_id != id) {
            co_return session_.fail(FailureReason::protocol,
                                    "response to message " + std::to_string(message_.message_id) +
                                        " while waiting for the search (message " +
                                        std::to_string(id) + ")");
        }
        switch (message_.op) {
            case LdapOp::search_result_entry:
                ++outcome.entries;
                if (!collect.empty()) {
                    if (const LdapAttribute* attribute = find_attribute(message_, collect)) {
                        outcome.collected.insert(outcome.collected.end(), attribute->values.begin(),
                                                 attribute->values.end());
                    }
                }
                continue;
            case LdapOp::search_result_reference:
                ++outcome.references;
                continue;
            case LdapOp::search_result_done:
                outcome.done = std::move(message_.result);
                co_return true;
            default:
                co_return session_.fail(
                    FailureReason::protocol,
                    "unexpected " + describe(message_) + " in answer to the search");
        }
    }
}

boost::asio::awaitable<void> LdapClient::unbind() {
    out_.clear();
    append_unbind_request(out_, next_id_++);
    // Written directly: an error here must not turn a finished, successful probe into a failure.
    co_await asio::async_write(session_.stream(), asio::buffer(out_), use_tuple);
}

asio::awaitable<bool> LdapClient::expect(std::int32_t id, LdapOp op, std::string_view operation) {
    if (const bool ok = co_await read_message(); !ok) co_return false;
    if (message_.message_id != id || message_.op != op) {
        co_return session_.fail(FailureReason::protocol,
                                "unexpected " + describe(message_) + " (message " +
                                    std::to_string(message_.message_id) + ") in answer to " +
                                    std::string(operation));
    }
    co_return true;
}

asio::awaitable<bool> LdapClient::read_message() {
    while (true) {
        switch (reader_.next(message_)) {
            case LdapReader::Status::message:
                if (message_.message_id == 0) {
                    // Unsolicited: a Notice of Disconnection, sent just before the server hangs up.
                    std::string detail =
                        is_notice_of_disconnection(message_)
                            ? "server disconnected: " + result_text(message_.result)
                            : "unsolicited " + describe(message_) + " from the server";
                    co_return session_.fail(FailureReason::protocol, std::move(detail));
                }
                co_return true;
            case LdapReader::Status::error:
                co_return session_.fail(
                    FailureReason::protocol,
                    "bad LDAP response: " + std::string(to_string(reader_.error())));
            case LdapReader::Status::need_more:
                break;
        }
        const auto space = reader_.prepare();
        auto [error, received] = co_await session_.stream().async_read_some(
            asio::buffer(space.data(), space.size()), use_tuple);
        if (error) co_return session_.fail_io(error);
        reader_.commit(received);
    }
}

asio::awaitable<ProbeResult> probe_ldap(const ProbeRequest& target, const LdapSettings& settings, ProbeContext& context) {
    ProbeSession session(target, context);
    LdapClient client(session, settings);
    if (const bool opened = co_await client.open(); opened) {
        const LdapSearch search{
            .base_dn = settings.search_base,
            .scope = settings.search_scope,
            .size_limit = settings.size_limit,
            .time_limit = 0,
            .filter_ber = settings.search_filter_ber,
            .attributes = settings.search_attributes,
        };
        LdapSearchOutcome outcome;
        if (const bool searched = co_await client.search(search, {}, outcome); searched) {
            if (auto failure = judge_search(outcome, settings.size_limit, settings.min_entries)) {
                session.fail(failure->reason, std::move(failure->detail));
            }
            co_await client.unbind();
        }
    }
    co_return session.finish();
}

}  // namespace tierwatch

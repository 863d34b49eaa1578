// Connection, deadline, TLS upgrade and error mapping shared by every prober.
#include "probes/net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "probes/net/probe_socket.hpp"
#include "probes/net/tls_context.hpp"
#include "probes/net/tls_session.hpp"
#include "probes/net/use_tuple.hpp"

namespace tierwatch {

namespace asio = boost::asio;

void ProbeSession::Deadline::expire(void* self) {
    auto& deadline = *static_cast<Deadline*>(self);
    deadline.expired = true;
    deadline.stream->close();
}

namespace {

std::shared_ptr<DeadlineQueue> deadline_queue(ProbeContext& context) {
    if (!context.deadlines) context.deadlines = DeadlineQueue::create(context.executor);
    return context.deadlines;
}

}  // namespace

ProbeSession::ProbeSession(const ProbeRequest& target, ProbeContext& context)
    : target_(target),
      context_(context),
      stream_(context.executor),
      deadlines_(deadline_queue(context)),
      deadline_{&stream_},
      started_(std::chrono::steady_clock::now()),
      phase_started_(started_) {
    // One deadline for the whole probe: when it fires, closing the socket aborts whatever
    // phase is in progress, and fail_io() names the phase.
    deadline_.key = deadlines_->add(started_ + target.deadline, &Deadline::expire, &deadline_);
    if (auto* slot = resume_slot()) slot->begin_probe();
}

TlsSessionSlot* ProbeSession::resume_slot() const noexcept {
    return target_.tls->resume ? target_.tls_session : nullptr;
}

ProbeSession::~ProbeSession() { deadlines_->cancel(deadline_.key); }

void ProbeSession::begin(Phase phase) {
    const auto now = std::chrono::steady_clock::now();
    if (phase_) result_.add_phase(*phase_, now - phase_started_);
    phase_ = phase;
    phase_started_ = now;
}

bool ProbeSession::deadline_expired() const noexcept { return deadline_.expired; }

bool ProbeSession::fail(FailureReason reason, std::string detail) {
    if (result_.ok()) {
        result_.reason = reason;
        result_.detail = std::move(detail);
    }
    return false;
}

bool ProbeSession::fail_io(const boost::system::error_code& error) {
    const Phase phase = phase_.value_or(Phase::connect);
    const std::string during = std::string(" during ") + std::string(to_string(phase));
    if (deadline_.expired) {
        const auto reason = phase == Phase::connect    ? FailureReason::connect_timeout
                            : phase == Phase::greeting ? FailureReason::banner_timeout
                                                       : FailureReason::timeout;
        return fail(reason, "no answer within " + format_duration(target_.deadline) + during);
    }
    if (error == asio::error::connection_refused) {
        return fail(FailureReason::connect_refused, "connection refused");
    }
    if (error == asio::error::connection_reset || error == asio::error::broken_pipe) {
        return fail(FailureReason::connection_reset, "connection reset by peer" + during);
    }
    if (phase == Phase::connect) return fail(FailureReason::connect_error, error.message());
    if (error == asio::error::eof || error == asio::ssl::error::stream_truncated) {
        const auto reason = phase == Phase::tls ? FailureReason::tls_handshake : FailureReason::protocol;
        return fail(reason, "connection closed by the server" + during);
    }
    if (phase == Phase::tls) return fail(FailureReason::tls_handshake, error.message());
    return fail(FailureReason::protocol, error.message() + during);
}

asio::awaitable<bool> ProbeSession::connect() {
    begin(Phase::connect);
    const asio::ip::tcp::endpoint endpoint(target_.address, target_.port);
    auto& socket = stream_.lowest_layer();
    bool in_progress = false;
    const auto started = start_connect(socket, endpoint, in_progress);
    if (started) co_return fail_io(started);
    if (!in_progress) co_return true;
    // The deadline closes the socket, which ends this wait with operation_aborted.
    auto [waited] = co_await socket.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
    if (waited) co_return fail_io(waited);
    const auto connected = connect_result(socket);
    if (connected) co_return fail_io(connected);
    co_return true;
}

asio::awaitable<bool> ProbeSession::reconnect() {
    const bool was_tls = stream_.tls_active();
    stream_.reset();
    if (lines_) lines_->clear();
    const bool connected = co_await connect();  // named: the GCC 12 coroutine rule
    if (!connected) co_return false;
    if (was_tls) co_return co_await start_tls();
    co_return true;
}

asio::awaitable<bool> ProbeSession::start_tls() {
    if (lines_ && !lines_->pending().empty()) {
        // Bytes after our STARTTLS reply would be injected into the TLS session (CVE-2011-0411).
        co_return fail(FailureReason::protocol, "server sent data after the STARTTLS reply");
    }
    begin(Phase::tls);
    const TlsSettings& settings = *target_.tls;
    auto& context = context_.tls_contexts->get(settings);
    stream_.start_tls(context);
    SSL* ssl = stream_.tls().native_handle();
    const std::string address_text = target_.address.to_string();
    configure_client_ssl(ssl, settings, target_.server_name, address_text);
    TlsSessionSlot* slot = resume_slot();
    const auto started = std::chrono::steady_clock::now();
    if (slot != nullptr) {
        attach_session_slot(ssl, slot);
        slot->offer(ssl, started, settings.cert_refresh);
    }
    auto [error] = co_await stream_.tls().async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (error) {
        if (slot != nullptr) slot->forget();
        co_return fail_io(error);
    }
    if (slot != nullptr && SSL_session_reused(ssl) == 1) {
        // No certificate crossed the wire: report the one the last full handshake verified.
        slot->record_resumption();
        result_.certificate = slot->certificate();
        co_return true;
    }
    result_.certificate = std::make_shared<const CertificateFacts>(read_certificate_facts(ssl));
    std::string detail;
    const auto verdict = verification_failure(ssl, settings, detail);
    if (verdict != FailureReason::none) {
        if (slot != nullptr) {
            attach_session_slot(ssl, nullptr);  // nothing from this server is resumed
            slot->forget();
        }
        co_return fail(verdict, std::move(detail));
    }
    if (slot != nullptr) slot->record_full_handshake(started, result_.certificate);
    co_return true;
}

asio::awaitable<void> ProbeSession::collect_session_ticket() {
    TlsSessionSlot* slot = resume_slot();
    if (slot == nullptr || !result_.ok() || !stream_.tls_active() || slot->received_session() ||
        SSL_version(stream_.tls().native_handle()) < TLS1_3_VERSION) {
        co_return;
    }
    // A TLS 1.3 server sends its tickets after the handshake (after every handshake: a ticket is
    // used once), so a probe that reads nothing more would close before they arrive. Sending
    // close_notify and reading until the server closes (within the probe's deadline) processes
    // them on the way. The verdict is already made.
    co_await stream_.tls().async_shutdown(use_tuple);
}

std::vector<std::vector<std::uint8_t>> ProbeSession::presented_chain() {
    std::vector<std::vector<std::uint8_t>> chain;
    if (!stream_.tls_active()) return chain;
    // On the client side this stack includes the server's own certificate (SSL_get_peer_cert_chain).
    STACK_OF(X509)* presented = SSL_get_peer_cert_chain(stream_.tls().native_handle());
    for (int i = 0; presented != nullptr && i < sk_X509_num(presented); ++i) {
        X509* certificate = sk_X509_value(presented, i);
        const int length = i2d_X509(certificate, nullptr);
        if (length <= 0) continue;
        std::vector<std::uint8_t> der(static_cast<std::size_t>(length));
        unsigned char* out = der.data();
        if (i2d_X509(certificate, &out) == length) chain.push_back(std::move(der));
    }
    return chain;
}

asio::awaitable<bool> ProbeSession::read_line(std::string_view& line, std::size_t max_line) {
    if (!lines_ || lines_->max_line() != max_line) lines_.emplace(max_line);
    while (true) {
        switch (lines_->next(line)) {
            case LineReader::Status::line: co_return true;
            case LineReader::Status::too_long:
                co_return fail(FailureReason::protocol,
                               "line longer than " + std::to_string(max_line) + " bytes");
            case LineReader::Status::need_more: break;
        }
        auto space = lines_->prepare();
        auto [error, received] = co_await stream_.async_read_some(
            asio::buffer(space.data(), space.size()), use_tuple);
        if (error) co_return fail_io(error);
        lines_->commit(received);
    }
}

asio::awaitable<bool> ProbeSession::read_bytes(std::string_view& bytes, std::size_t max,
                                               std::size_t max_line) {
    if (!lines_ || lines_->max_line() != max_line) lines_.emplace(max_line);
    if (lines_->pending().empty()) {
        auto space = lines_->prepare();
        auto [error, received] = co_await stream_.async_read_some(
            asio::buffer(space.data(), space.size()), use_tuple);
        if (error) co_return fail_io(error);
        lines_->commit(received);
    }
    bytes = lines_->take(max);
    co_return true;
}

asio::awaitable<bool> ProbeSession::write(std::string_view data) {
    auto [error, written] = co_await asio::async_write(stream_, asio::buffer(data), use_tuple);
    if (error) co_return fail_io(error);
    co_return true;
}

ProbeResult ProbeSession::finish() {
    const auto now = std::chrono::steady_clock::now();
    if (phase_) result_.add_phase(*phase_, now - phase_started_);
    phase_.reset();
    result_.total = now - started_;
    if (result_.ok() && stream_.tls_active() && resume_slot() != nullptr) {
        // The dialogue ended as it should. Closing without close_notify would otherwise make
        // OpenSSL mark the connection's session not resumable (its guard against truncation).
        SSL_set_shutdown(stream_.tls().native_handle(), SSL_SENT_SHUTDOWN);
    }
    stream_.close();
    return std::move(result_);
}

}  // namespace tierwatch

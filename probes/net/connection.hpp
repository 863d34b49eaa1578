// The shared half of every probe: one connection with one deadline across all phases, phase
// timings, an optional TLS layer (implicit or STARTTLS), a bounded line reader, and the mapping
// of socket and TLS errors to failure reasons. Protocol files only script the dialogue.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/line_reader.hpp"
#include "probes/net/deadline_queue.hpp"
#include "probes/net/probe.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

// A byte stream that is plain TCP until start_tls(), then TLS over the same socket. It meets
// Asio's AsyncReadStream/AsyncWriteStream requirements, so Beast can read HTTP from it.
class ProbeStream {
public:
    using executor_type = boost::asio::any_io_executor;
    using tcp = boost::asio::ip::tcp;

    explicit ProbeStream(executor_type executor) : executor_(executor), socket_(std::move(executor)) {}

    executor_type get_executor() { return lowest_layer().get_executor(); }
    tcp::socket& lowest_layer() { return tls_ ? tls_->next_layer() : socket_; }
    bool tls_active() const noexcept { return tls_.has_value(); }
    boost::asio::ssl::stream<tcp::socket>& tls() { return *tls_; }
    void start_tls(boost::asio::ssl::context& context) { tls_.emplace(std::move(socket_), context); }
    void close() noexcept {
        boost::system::error_code ignored;
        lowest_layer().close(ignored);
    }
    // A fresh, unconnected socket in place of the current one (for a redirect).
    void reset() {
        close();
        tls_.reset();
        socket_ = tcp::socket(executor_);
    }

    template <typename MutableBuffers, typename Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
        return socket_.async_read_some(buffers, std::forward<Token>(token));
    }
    template <typename ConstBuffers, typename Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
        return socket_.async_write_some(buffers, std::forward<Token>(token));
    }

private:
    executor_type executor_;
    tcp::socket socket_;
    std::optional<boost::asio::ssl::stream<tcp::socket>> tls_;
};

class ProbeSession {
public:
    ProbeSession(const ProbeRequest& target, ProbeContext& context);
    ~ProbeSession();
    ProbeSession(const ProbeSession&) = delete;
    ProbeSession& operator=(const ProbeSession&) = delete;

    const ProbeRequest& target() const noexcept { return target_; }
    ProbeStream& stream() noexcept { return stream_; }
    ProbeResult& result() noexcept { return result_; }

    // Ends the running phase (its time is recorded) and starts the next.
    void begin(Phase phase);
    // The running phase; none before the first and after finish().
    std::optional<Phase> phase() const noexcept { return phase_; }

    // Each step returns false after recording the failure in result(); the prober then
    // returns finish() at once.
    boost::asio::awaitable<bool> connect();
    // Drops the connection and connects again (and redoes TLS if it was on), same deadline.
    boost::asio::awaitable<bool> reconnect();
    // Upgrades to TLS (implicit TLS right after connect, or after STARTTLS), then checks the
    // chain and records the certificate facts.
    boost::asio::awaitable<bool> start_tls();
    // With tls_resume, after a successful dialogue that read nothing after the handshake: waits
    // for the server's session ticket (TLS 1.3) so the next probe can resume.
    boost::asio::awaitable<void> collect_session_ticket();
    // The certificates the server presented in this connection's handshake, DER, leaf first, as
    // it sent them (what DANE judges). Empty before TLS and after a resumed handshake: then no
    // certificate crossed the wire.
    std::vector<std::vector<std::uint8_t>> presented_chain();
    boost::asio::awaitable<bool> read_line(std::string_view& line, std::size_t max_line = 8192);
    // At most `max` (and at least one) raw bytes, those already buffered by read_line first.
    // The view is valid until the next read.
    boost::asio::awaitable<bool> read_bytes(std::string_view& bytes, std::size_t max,
                                            std::size_t max_line = 8192);
    boost::asio::awaitable<bool> write(std::string_view data);

    bool fail(FailureReason reason, std::string detail);
    // Maps an I/O error (or the deadline having fired) to the right reason for the phase.
    bool fail_io(const boost::system::error_code& error);
    bool deadline_expired() const noexcept;

    // Closes the connection and returns the result with phase and total durations.
    ProbeResult finish();

private:
    struct Deadline {
        ProbeStream* stream;
        bool expired = false;
        DeadlineQueue::Key key{};
        // The queue's callback: closing the socket aborts whatever phase is in progress.
        static void expire(void* self);
    };

    // The target's session slot when its check resumes sessions, else null.
    TlsSessionSlot* resume_slot() const noexcept;

    const ProbeRequest& target_;
    ProbeContext& context_;
    ProbeStream stream_;
    std::shared_ptr<DeadlineQueue> deadlines_;  // the context's; kept alive while the session is
    Deadline deadline_;
    std::optional<LineReader> lines_;
    ProbeResult result_;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point phase_started_;
    std::optional<Phase> phase_;
};

}  // namespace tierwatch

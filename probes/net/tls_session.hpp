// TLS session resumption (tls_resume): the per-target slot that keeps the session to offer on the
// next probe and the certificate facts of the last full handshake, which resumed probes report.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "probes/net/result.hpp"

// As <openssl/ssl.h> declares it; the daemon's target table need not include all of OpenSSL.
typedef struct ssl_session_st SSL_SESSION;

namespace tierwatch {

// Owned by the daemon's Target (one per target with tls_resume), used by one probe at a time.
class TlsSessionSlot {
public:
    using Clock = std::chrono::steady_clock;

    // Offers the held session to `ssl` for a handshake starting at `now`; false when there is
    // none: then the probe does a full handshake and reads the certificate again. Nothing is
    // offered before a verified full handshake, nor once that is cert_refresh old or older (the
    // session is dropped then). `ssl` gets a copy: OpenSSL spends a TLS 1.3 session on its first
    // resumption, and a server that issues no new ticket after resuming (Postfix) would otherwise
    // get a full handshake every second probe.
    bool offer(SSL* ssl, Clock::time_point now, Clock::duration cert_refresh);

    // A session the server issued (TLS 1.2 at the handshake's end, TLS 1.3 tickets after it);
    // takes over the caller's reference. The newest one replaces the one held.
    void store(SSL_SESSION* session) noexcept;
    bool has_session() const noexcept { return session_ != nullptr; }
    // Whether a session arrived since the last offer (that is, on the current connection).
    bool received_session() const noexcept { return received_; }

    // A full handshake that verified, started at `started`: resumed probes report these facts
    // until the next full handshake.
    void record_full_handshake(Clock::time_point started,
                               std::shared_ptr<const CertificateFacts> facts);
    // The handshake failed or did not verify: the next probe does a full handshake.
    void forget() noexcept;
    const std::shared_ptr<const CertificateFacts>& certificate() const noexcept {
        return certificate_;
    }

    // Whether the latest probe resumed its session (cleared when a probe starts).
    void begin_probe() noexcept { last_probe_resumed_ = false; }
    void record_resumption() noexcept { last_probe_resumed_ = true; }
    bool last_probe_resumed() const noexcept { return last_probe_resumed_; }
    // The same, cleared: the daemon counts each resumption once, whatever ran in between.
    bool take_resumption() noexcept { return std::exchange(last_probe_resumed_, false); }

private:
    struct SessionFree {
        void operator()(SSL_SESSION* session) const noexcept;
    };

    std::unique_ptr<SSL_SESSION, SessionFree> session_;
    Clock::time_point full_handshake_at_{};
    std::shared_ptr<const CertificateFacts> certificate_;
    bool received_ = false;
    bool last_probe_resumed_ = false;
};

// Makes a client context hand the sessions its connections receive to their slots (see
// attach_session_slot); connections without a slot keep nothing.
void enable_session_capture(SSL_CTX* context);
// Sessions `ssl` receives from now on go to `slot` (null: nowhere).
void attach_session_slot(SSL* ssl, TlsSessionSlot* slot);

}  // namespace tierwatch

// TlsSessionSlot and the OpenSSL new-session hook that fills it.
#include "probes/net/tls_session.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace tierwatch {
namespace {

// The SSL ex_data index that points a connection at its target's slot.
int slot_index() {
    static const int index = [] {
        const int made = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
        if (made < 0) throw std::runtime_error("OpenSSL: no ex_data index for TLS session slots");
        return made;
    }();
    return index;
}

// Runs inside SSL_do_handshake (TLS 1.2) or SSL_read (TLS 1.3 NewSessionTicket). Returning 1
// keeps the reference OpenSSL hands over; 0 lets OpenSSL free the session.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* slot = static_cast<TlsSessionSlot*>(SSL_get_ex_data(ssl, slot_index()));
    if (slot == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
    slot->store(session);
    return 1;
}

}  // namespace

void TlsSessionSlot::SessionFree::operator()(SSL_SESSION* session) const noexcept {
    SSL_SESSION_free(session);
}

bool TlsSessionSlot::offer(SSL* ssl, Clock::time_point now, Clock::duration cert_refresh) {
    received_ = false;
    if (session_ && certificate_ && now - full_handshake_at_ < cert_refresh &&
        SSL_SESSION_is_resumable(session_.get()) == 1) {
        // Monitoring has no use for RFC 8446's one-use advice (linkability); servers that want
        // single use reject the copy and the probe does a full handshake.
        SSL_SESSION* copy = SSL_SESSION_dup(session_.get());
        const bool offered = copy != nullptr && SSL_set_session(ssl, copy) == 1;
        SSL_SESSION_free(copy);  // ssl holds its own reference
        return offered;
    }
    // Time to read the certificate again (or nothing to offer): a full handshake, and no
    // session from before it that a later probe could still resume.
    session_.reset();
    return false;
}

void TlsSessionSlot::store(SSL_SESSION* session) noexcept {
    session_.reset(session);
    received_ = true;
}

void TlsSessionSlot::record_full_handshake(Clock::time_point started,
                                           std::shared_ptr<const CertificateFacts> facts) {
    full_handshake_at_ = started;
    certificate_ = std::move(facts);
}

void TlsSessionSlot::forget() noexcept {
    session_.reset();
    certificate_.reset();
}

void enable_session_capture(SSL_CTX* context) {
    // Client-side caching only so that OpenSSL calls on_new_session; the context itself stores
    // nothing (NO_INTERNAL_STORE): sessions live in their target's slot.
    SSL_CTX_set_session_cache_mode(context,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(context, on_new_session);
}

void attach_session_slot(SSL* ssl, TlsSessionSlot* slot) {
    SSL_set_ex_data(ssl, slot_index(), slot);
}

}  // namespace tierwatch

// Names of failure reasons and phases, as they appear in metrics labels and output.
#include "probes/result.hpp"

#include <algorithm>

namespace tierwatch {

std::string_view to_string(FailureReason reason) noexcept {
    switch (reason) {
        case FailureReason::none: return "none";
        case FailureReason::dns: return "dns";
        case FailureReason::connect_refused: return "connect_refused";
        case FailureReason::connect_timeout: return "connect_timeout";
        case FailureReason::connect_error: return "connect_error";
        case FailureReason::connection_reset: return "connection_reset";
        case FailureReason::tls_handshake: return "tls_handshake";
        case FailureReason::tls_verify: return "tls_verify";
        case FailureReason::cert_expired: return "cert_expired";
        case FailureReason::banner_timeout: return "banner_timeout";
        case FailureReason::bad_greeting: return "bad_greeting";
        case FailureReason::protocol: return "protocol";
        case FailureReason::auth: return "auth";
        case FailureReason::unexpected_status: return "unexpected_status";
        case FailureReason::body_mismatch: return "body_mismatch";
        case FailureReason::timeout: return "timeout";
    }
    return "unknown";
}

const std::array<FailureReason, failure_reason_count>& all_failure_reasons() noexcept {
    static constexpr std::array<FailureReason, failure_reason_count> reasons = [] {
        std::array<FailureReason, failure_reason_count> r{};
        for (std::size_t i = 0; i < failure_reason_count; ++i) r[i] = static_cast<FailureReason>(i);
        return r;
    }();
    return reasons;
}

std::string_view to_string(Phase phase) noexcept {
    switch (phase) {
        case Phase::resolve: return "resolve";
        case Phase::connect: return "connect";
        case Phase::tls: return "tls";
        case Phase::greeting: return "greeting";
        case Phase::command: return "command";
        case Phase::auth: return "auth";
    }
    return "unknown";
}

std::string printable_excerpt(std::string_view bytes, std::size_t max) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    text.reserve(std::min(bytes.size(), max) + 8);
    for (unsigned char c : bytes) {
        if (text.size() >= max) {
            text += "...";
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            text += static_cast<char>(c);
        } else {
            text += "\\x";
            text += hex[c >> 4];
            text += hex[c & 0xf];
        }
    }
    return text;
}

}  // namespace tierwatch

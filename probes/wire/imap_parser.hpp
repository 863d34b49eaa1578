// Sans-io IMAP response parser (RFC 3501/9051): untagged "*", tagged, and "+" continuation
// responses, status codes ("[CAPABILITY ...]"), and "{n}" literals, whose bytes are counted
// rather than read as lines. Also builds commands whose arguments are quoted or sent as literals.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/mail_common.hpp"

namespace tierwatch {

enum class ImapStatus : std::uint8_t { none, ok, no, bad, preauth, bye };
std::string_view to_string(ImapStatus status) noexcept;

struct ImapResponse {
    enum class Kind : std::uint8_t { untagged, tagged, continuation };
    Kind kind = Kind::untagged;
    std::string tag;                       // tagged responses
    ImapStatus status = ImapStatus::none;  // none: untagged data ("* CAPABILITY ...", "* 3 EXISTS")
    std::string code;  // inside "[...]" after a status, e.g. "CAPABILITY IMAP4rev1"
    // A status response's human text; for data, everything after "* " with each literal's
    // "{n}" marker left in place and its bytes in `literals`.
    std::string text;
    std::vector<std::string> literals;

    // "NO [AUTHENTICATIONFAILED] Authentication failed." safe for a detail text.
    std::string summary() const;
};

// The capabilities announced by "* CAPABILITY ..." or an "[CAPABILITY ...]" code, appended to
// `out`; false when the response announces none.
bool imap_capabilities(const ImapResponse& response, std::vector<std::string>& out);

// Appends the message numbers (or UIDs) of an untagged "* SEARCH 3 7" to `out`. True for any
// other response too; false only for a SEARCH response holding something besides numbers.
bool imap_search_results(const ImapResponse& response, std::vector<std::uint32_t>& out);

class ImapResponseParser {
public:
    // `max_literal` bounds the literal bytes of one response; of those, the first `max_kept`
    // are kept in response().literals and the rest only counted (a probe reads message bodies
    // and large LIST replies to get past them, not to look at them).
    explicit ImapResponseParser(std::size_t max_literal = 1024 * 1024,
                                std::size_t max_lines = max_reply_lines,
                                std::size_t max_kept = 64 * 1024)
        : max_literal_(max_literal), max_lines_(max_lines), max_kept_(max_kept) {}

    // One line without its line end. While a literal is pending (literal_remaining() > 0) the
    // line is taken as literal bytes followed by CRLF, the line end IMAP mandates; a caller
    // with the raw bytes uses feed_literal() instead.
    ParseStatus feed(std::string_view line);
    // Bytes the pending literal still needs ("need n more bytes"); 0 when none is pending.
    std::size_t literal_remaining() const noexcept { return literal_remaining_; }
    // Takes at most literal_remaining() bytes and returns how many it took. When the literal is
    // complete the response continues with the rest of its line, fed through feed().
    std::size_t feed_literal(std::string_view bytes);

    const ImapResponse& response() const noexcept { return response_; }
    const std::string& error() const noexcept { return error_; }
    void reset();

private:
    enum class State : std::uint8_t { start, literal, continuation, done };

    ParseStatus start(std::string_view line);
    ParseStatus status_response(std::string_view rest);
    ParseStatus data(std::string_view rest, std::string_view line);
    ParseStatus invalid(std::string why, std::string_view line);

    std::size_t max_literal_;
    std::size_t max_lines_;
    std::size_t max_kept_;
    std::size_t kept_total_ = 0;
    State state_ = State::start;
    std::size_t lines_ = 0;
    std::size_t literal_remaining_ = 0;
    std::size_t literal_total_ = 0;
    ImapResponse response_;
    std::string error_;
};

// A command as the parts to send: parts[0] first, then each further part only after the server's
// "+" continuation (a synchronizing literal). Arguments go as quoted strings ('"' and '\' escaped)
// unless they hold CR, LF or 8-bit bytes, which only a literal carries. Empty when an argument
// holds NUL, which IMAP cannot carry at all. Each part ends with CRLF.
std::vector<std::string> imap_command(std::string_view tag, std::string_view verb,
                                      std::span<const std::string_view> arguments);

}  // namespace tierwatch

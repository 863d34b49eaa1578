// Sans-io pieces the SMTP, IMAP and POP3 dialogues share: the parsers' common status, reply
// bounds, capability matching and SASL encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tierwatch {

// What a reply parser says after each line it is fed.
enum class ParseStatus : std::uint8_t { need_more, complete, invalid };

// A reply with more lines than this is broken or hostile; real EHLO and CAPA replies have ~20.
inline constexpr std::size_t max_reply_lines = 128;
// Longest line a mail dialogue reads (RFC 5321 allows 512; IMAP CAPABILITY lines grow longer).
inline constexpr std::size_t max_mail_line = 8192;

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept;

// The words of `text`, split at runs of spaces.
std::vector<std::string_view> split_words(std::string_view text);

// True when `offered` (one capability per entry, as the server lists them: "AUTH PLAIN LOGIN",
// "STARTTLS", "IMAP4rev1") has `expected`: its first word names an entry's first word, ignoring
// case, and every further word of `expected` is among that entry's parameters. So "AUTH PLAIN"
// matches "AUTH LOGIN PLAIN", and an IMAP atom like "AUTH=PLAIN" matches itself.
bool has_capability(std::span<const std::string> offered, std::string_view expected);

// The expected capabilities that `offered` lacks, joined by ", " (empty: none missing).
std::string missing_capabilities(std::span<const std::string> offered,
                                 std::span<const std::string> expected);

std::string base64_encode(std::string_view bytes);

// The SASL PLAIN initial response (RFC 4616): base64 of NUL user NUL password.
std::string sasl_plain(std::string_view username, std::string_view password);

}  // namespace tierwatch

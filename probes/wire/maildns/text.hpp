// Shared by the mail DNS record parsers: the parse-result shape, ASCII helpers, TXT records as the
// resolver hands them (character-strings), RFC 6376 tag lists, base64 and hex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tierwatch {

// A parsed value, or a sentence naming what is wrong and where (the tag, term or line).
template <class T>
struct Parsed {
    T value{};
    std::string error;  // empty when parsed
    bool ok() const noexcept { return error.empty(); }
};

// One TXT resource record: its character-strings, each at most 255 bytes on the wire.
using TxtStrings = std::vector<std::string>;

// RFC 7208 §3.3 and RFC 6376 §3.6.2.2: the strings of one record are joined with nothing between.
std::string join_txt(const TxtStrings& strings);

// The joined texts of the records that start with `version` (case-insensitive) followed by the
// end, a space or a ';' ("v=spf1", "v=DMARC1"): zero means none published, two or more is an error
// for every record type here.
std::vector<std::string> records_with_version(const std::vector<TxtStrings>& records,
                                              std::string_view version);

bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view text, std::string_view prefix) noexcept;
std::string to_lower(std::string_view text);
std::string_view trim_wsp(std::string_view text) noexcept;  // spaces and tabs, CR and LF
bool is_wsp(char c) noexcept;

// A quoted excerpt of input for an error message: at most 40 bytes, unprintable bytes as \xNN.
std::string quote(std::string_view text);

// RFC 6376 §3.2: tag=value pairs separated by ';', whitespace around both ignored. A trailing ';'
// is accepted; an empty tag in the middle, a tag without '=', a bad tag name or a repeated tag is
// an error naming it.
struct Tag {
    std::string name;
    std::string value;  // leading and trailing whitespace removed, inner whitespace kept
    bool operator==(const Tag&) const = default;
};
Parsed<std::vector<Tag>> parse_tag_list(std::string_view text);

// Looks a tag up by name in a parsed tag list.
const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) noexcept;

// Strict base64 (RFC 4648 §4) with '=' padding; whitespace between characters is skipped, as a
// DKIM p= value may be folded. Empty input decodes to nothing. nullopt on any other byte, on bad
// padding or non-zero pad bits.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// Hex digits (either case) to bytes; whitespace between digit pairs is skipped. nullopt on an odd
// count or another byte.
std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view text);
std::string hex_encode(const std::vector<std::uint8_t>& bytes);  // upper case, as dig prints

// Splits on `separator`; empty pieces are kept so the caller can refuse them.
std::vector<std::string_view> split(std::string_view text, char separator);

}  // namespace tierwatch

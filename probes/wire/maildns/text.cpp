// Shared helpers of the mail DNS record parsers (see text.hpp).
#include "probes/wire/maildns/text.hpp"

#include <algorithm>
#include <cstdio>

#include "probes/wire/ascii.hpp"

namespace tierwatch {

namespace {

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (is_digit(c)) return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int hex_value(char c) noexcept {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string join_txt(const TxtStrings& strings) {
    std::string joined;
    for (const std::string& piece : strings) joined += piece;
    return joined;
}

std::vector<std::string> records_with_version(const std::vector<TxtStrings>& records,
                                              std::string_view version) {
    std::vector<std::string> found;
    for (const TxtStrings& record : records) {
        std::string text = join_txt(record);
        if (!istarts_with(text, version)) continue;
        const std::string_view rest = std::string_view(text).substr(version.size());
        if (rest.empty() || rest.front() == ' ' || rest.front() == ';' || rest.front() == '\t') {
            found.push_back(std::move(text));
        }
    }
    return found;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = lower(c);
    return out;
}

bool is_wsp(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim_wsp(std::string_view text) noexcept {
    while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_wsp(text.back())) text.remove_suffix(1);
    return text;
}

std::string quote(std::string_view text) {
    constexpr std::size_t limit = 40;
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x20 || byte > 0x7e || byte == '\\') {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += static_cast<char>(byte);
        }
    }
    if (text.size() > limit) out += "...";
    return out + "'";
}

Parsed<std::vector<Tag>> parse_tag_list(std::string_view text) {
    Parsed<std::vector<Tag>> out;
    const std::vector<std::string_view> specs = split(text, ';');
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const std::string_view spec = trim_wsp(specs[i]);
        const std::string where = "tag " + std::to_string(i + 1);
        if (spec.empty()) {
            if (i + 1 == specs.size() && i > 0) break;  // the trailing ';' RFC 6376 allows
            out.error = where + " is empty";
            return out;
        }
        const std::size_t equals = spec.find('=');
        if (equals == std::string_view::npos) {
            out.error = where + " " + quote(spec) + " has no '='";
            return out;
        }
        const std::string_view name = trim_wsp(spec.substr(0, equals));
        const bool good_name = !name.empty() && is_alpha(name.front()) &&
                               std::all_of(name.begin(), name.end(), [](char c) {
                                   return is_alpha(c) || is_digit(c) || c == '_';
                               });
        if (!good_name) {
            out.error = where + ": " + quote(name) + " is not a tag name";
            return out;
        }
        const std::string_view value = trim_wsp(spec.substr(equals + 1));
        for (char c : value) {
            const auto byte = static_cast<unsigned char>(c);
            if (!is_wsp(c) && (byte < 0x21 || byte > 0x7e)) {
                out.error =
                    "tag " + std::string(name) + ": the value holds a byte outside printable ASCII";
                return out;
            }
        }
        if (find_tag(out.value, name) != nullptr) {
            out.error = "tag " + std::string(name) + " appears twice";
            return out;
        }
        out.value.push_back(Tag{std::string(name), std::string(value)});
    }
    return out;
}

const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) noexcept {
    for (const Tag& tag : tags) {
        if (tag.name == name) return &tag;
    }
    return nullptr;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    std::vector<std::uint8_t> out;
    std::uint32_t bits = 0;
    int count = 0;  // sextets in the current quantum
    int padding = 0;
    for (char c : text) {
        if (is_wsp(c)) continue;
        if (c == '=') {
            if (count < 2 || count + padding >= 4) return std::nullopt;
            ++padding;
            continue;
        }
        const int value = base64_value(c);
        if (value < 0 || padding > 0) return std::nullopt;  // data after padding
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        if (++count == 4) {
            out.push_back(static_cast<std::uint8_t>(bits >> 16));
            out.push_back(static_cast<std::uint8_t>(bits >> 8));
            out.push_back(static_cast<std::uint8_t>(bits));
            bits = 0;
            count = 0;
        }
    }
    if (count == 0) return padding == 0 ? std::optional(out) : std::nullopt;
    if (count + padding != 4) return std::nullopt;  // unpadded or short final quantum
    if (count == 2) {
        if ((bits & 0xf) != 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(bits >> 4));
    } else {
        if ((bits & 0x3) != 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(bits >> 10));
        out.push_back(static_cast<std::uint8_t>(bits >> 2));
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> hex_decode(std::string_view text) {
    std::vector<std::uint8_t> out;
    int high = -1;
    for (char c : text) {
        if (is_wsp(c)) {
            if (high >= 0) return std::nullopt;  // whitespace splits a digit pair
            continue;
        }
        const int value = hex_value(c);
        if (value < 0) return std::nullopt;
        if (high < 0) {
            high = value;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | value));
            high = -1;
        }
    }
    if (high >= 0) return std::nullopt;
    return out;
}

std::string hex_encode(const std::vector<std::uint8_t>& bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::uint8_t byte : bytes) {
        out += digits[byte >> 4];
        out += digits[byte & 0xf];
    }
    return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> pieces;
    while (true) {
        const std::size_t at = text.find(separator);
        pieces.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return pieces;
        text.remove_prefix(at + 1);
    }
}

}  // namespace tierwatch

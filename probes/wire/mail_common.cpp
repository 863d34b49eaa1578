// Capability matching and SASL encoding shared by the mail dialogues (see mail_common.hpp).
#include "probes/wire/mail_common.hpp"

#include <algorithm>
#include <cctype>

namespace tierwatch {

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    std::size_t start = text.find_first_not_of(' ');
    while (start != std::string_view::npos) {
        const std::size_t end = std::min(text.find(' ', start), text.size());
        words.push_back(text.substr(start, end - start));
        start = text.find_first_not_of(' ', end);
    }
    return words;
}

bool has_capability(std::span<const std::string> offered, std::string_view expected) {
    const auto wanted = split_words(expected);
    if (wanted.empty()) return false;
    return std::any_of(offered.begin(), offered.end(), [&](const std::string& entry) {
        const auto words = split_words(entry);
        if (words.empty() || !equals_ignoring_case(words.front(), wanted.front())) return false;
        return std::all_of(wanted.begin() + 1, wanted.end(), [&](std::string_view parameter) {
            return std::any_of(words.begin() + 1, words.end(), [&](std::string_view word) {
                return equals_ignoring_case(word, parameter);
            });
        });
    });
}

std::string missing_capabilities(std::span<const std::string> offered,
                                 std::span<const std::string> expected) {
    std::string missing;
    for (const std::string& capability : expected) {
        if (has_capability(offered, capability)) continue;
        missing += missing.empty() ? "" : ", ";
        missing += capability;
    }
    return missing;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += alphabet[n >> 6 & 63];
        out += alphabet[n & 63];
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) {
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += rest == 2 ? alphabet[n >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::string sasl_plain(std::string_view username, std::string_view password) {
    std::string message;
    message.reserve(username.size() + password.size() + 2);
    message += '\0';
    message += username;
    message += '\0';
    message += password;
    return base64_encode(message);
}

}  // namespace tierwatch

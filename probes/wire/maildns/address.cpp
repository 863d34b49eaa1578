// IP addresses as plain bytes (see address.hpp).
#include "probes/wire/maildns/address.hpp"

#include <cstdio>
#include <vector>

namespace tierwatch {

namespace {

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool parse_quad(std::string_view text, std::uint8_t* out) {
    int part = 0;
    std::size_t i = 0;
    while (part < 4) {
        const std::size_t start = i;
        unsigned value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
            value = value * 10 + static_cast<unsigned>(text[i] - '0');
            ++i;
        }
        const std::size_t digits = i - start;
        if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return false;
        out[part++] = static_cast<std::uint8_t>(value);
        if (part < 4) {
            if (i >= text.size() || text[i] != '.') return false;
            ++i;
        }
    }
    return i == text.size();
}

}  // namespace

std::optional<IpAddress> parse_ipv4(std::string_view text) {
    IpAddress address;
    if (!parse_quad(text, address.bytes.data())) return std::nullopt;
    return address;
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
    IpAddress address;
    address.v6 = true;
    std::vector<std::uint16_t> head, tail;
    bool compressed = false;
    std::uint8_t quad[4];
    bool has_quad = false;
    if (text.starts_with("::")) {
        compressed = true;
        text.remove_prefix(2);
    } else if (text.starts_with(':')) {
        return std::nullopt;
    }
    while (!text.empty()) {
        std::vector<std::uint16_t>& groups = compressed ? tail : head;
        const std::size_t colon = text.find(':');
        const std::string_view group = text.substr(0, colon);
        if (colon == std::string_view::npos && group.find('.') != std::string_view::npos) {
            if (!parse_quad(group, quad)) return std::nullopt;
            has_quad = true;
            break;
        }
        if (group.empty() || group.size() > 4) return std::nullopt;
        unsigned value = 0;
        for (char c : group) {
            const int digit = hex_digit(c);
            if (digit < 0) return std::nullopt;
            value = value << 4 | static_cast<unsigned>(digit);
        }
        groups.push_back(static_cast<std::uint16_t>(value));
        if (colon == std::string_view::npos) break;
        text.remove_prefix(colon + 1);
        if (text.starts_with(':')) {
            if (compressed) return std::nullopt;  // a second "::"
            compressed = true;
            text.remove_prefix(1);
        } else if (text.empty()) {
            return std::nullopt;  // a trailing single ':'
        }
    }
    const std::size_t quad_groups = has_quad ? 2 : 0;
    const std::size_t written = head.size() + tail.size() + quad_groups;
    if (compressed ? written > 7 : written != 8) return std::nullopt;
    std::size_t at = 0;
    for (std::uint16_t group : head) {
        address.bytes[at++] = static_cast<std::uint8_t>(group >> 8);
        address.bytes[at++] = static_cast<std::uint8_t>(group);
    }
    at = 16 - 2 * (tail.size() + quad_groups);
    for (std::uint16_t group : tail) {
        address.bytes[at++] = static_cast<std::uint8_t>(group >> 8);
        address.bytes[at++] = static_cast<std::uint8_t>(group);
    }
    if (has_quad) {
        for (std::uint8_t byte : quad) address.bytes[at++] = byte;
    }
    return address;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return parse_ipv6(text);
    return parse_ipv4(text);
}

std::string to_string(const IpAddress& address) {
    char buffer[8];
    std::string out;
    if (!address.v6) {
        for (int i = 0; i < 4; ++i) {
            if (i > 0) out += '.';
            out += std::to_string(address.bytes[static_cast<std::size_t>(i)]);
        }
        return out;
    }
    std::uint16_t groups[8];
    for (std::size_t i = 0; i < 8; ++i) {
        groups[i] =
            static_cast<std::uint16_t>(address.bytes[2 * i] << 8 | address.bytes[2 * i + 1]);
    }
    // RFC 5952 §4.2: the longest run of two or more zero groups, the first of equal runs.
    int best = -1, best_length = 1;
    for (int i = 0; i < 8;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[j] == 0) ++j;
        if (j - i > best_length) {
            best = i;
            best_length = j - i;
        }
        i = j;
    }
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_length - 1;
            continue;
        }
        if (!out.empty() && !out.ends_with(':')) out += ':';
        std::snprintf(buffer, sizeof buffer, "%x", groups[i]);
        out += buffer;
    }
    return out;
}

bool in_network(const IpAddress& address, const IpAddress& network, unsigned prefix) noexcept {
    if (address.v6 != network.v6) return false;
    const unsigned bits = address.v6 ? 128 : 32;
    if (prefix > bits) prefix = bits;
    std::size_t i = 0;
    for (; prefix >= 8; prefix -= 8, ++i) {
        if (address.bytes[i] != network.bytes[i]) return false;
    }
    if (prefix == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - prefix));
    return (address.bytes[i] & mask) == (network.bytes[i] & mask);
}

std::string dotted_labels(const IpAddress& address) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    if (!address.v6) {
        for (int i = 3; i >= 0; --i) {
            out += std::to_string(address.bytes[static_cast<std::size_t>(i)]);
            if (i > 0) out += '.';
        }
        return out;
    }
    for (int i = 15; i >= 0; --i) {
        const std::uint8_t byte = address.bytes[static_cast<std::size_t>(i)];
        out += digits[byte & 0xf];
        out += '.';
        out += digits[byte >> 4];
        if (i > 0) out += '.';
    }
    return out;
}

std::string reverse_name(const IpAddress& address) {
    return dotted_labels(address) + (address.v6 ? ".ip6.arpa" : ".in-addr.arpa");
}

}  // namespace tierwatch

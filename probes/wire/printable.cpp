// printable_excerpt (see printable.hpp).
#include "probes/wire/printable.hpp"

#include <algorithm>

namespace tierwatch {

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

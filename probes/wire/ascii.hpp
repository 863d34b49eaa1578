// ASCII character classes as the RFCs define them (ALPHA, DIGIT): unlike <cctype>, they ignore
// the locale and accept any char, even a negative one from a server's bytes.
#pragma once

namespace tierwatch {

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }

}  // namespace tierwatch

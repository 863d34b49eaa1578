// Where a configuration value was written, the error that names it, and the duration syntax:
// the light half of the TOML toolkit, for headers that carry values read from a file (no toml++).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tierwatch {

using Duration = std::chrono::milliseconds;

struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    std::string to_string() const;  // "file:line:column"
};

// Thrown at load time only; what() is "file:line:column: message".
class ConfigError : public std::runtime_error {
public:
    ConfigError(SourceLocation where, const std::string& message);
    const SourceLocation& where() const noexcept { return where_; }
    const std::string& message() const noexcept { return message_; }

private:
    SourceLocation where_;
    std::string message_;
};

// "500ms", "15s", "5m", "2h", "21d" (and combinations like "1m30s").
// Returns nullopt on a malformed value; the caller reports where.
std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace tierwatch

// RFC 3339 time stamps as the API, the state files and the pagers write and read them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tierwatch {

// RFC 3339 UTC with milliseconds: 2026-11-23T01:02:03.456Z.
std::string format_rfc3339(std::chrono::system_clock::time_point t);
// "2026-12-01T02:00:00Z", "2026-12-01T04:00:00.5+02:00"; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace tierwatch

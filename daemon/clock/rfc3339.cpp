// RFC 3339 formatting and parsing (see rfc3339.hpp).
#include "daemon/clock/rfc3339.hpp"

#include "config/time_range.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>

namespace tierwatch {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

bool digits(std::string_view text, std::size_t at, std::size_t count, int& out) {
    if (at + count > text.size()) return false;
    // from_chars alone takes a sign, so "-5" would pass as a two-character field.
    if (!std::all_of(text.begin() + at, text.begin() + at + count, [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    const auto* first = text.data() + at;
    const auto [end, error] = std::from_chars(first, first + count, out);
    return error == std::errc() && end == first + count;
}

}  // namespace

std::string format_rfc3339(TimePoint t) {
    const auto millis = std::chrono::floor<std::chrono::milliseconds>(t);
    const auto days = std::chrono::floor<std::chrono::days>(millis);
    const std::chrono::year_month_day ymd{days};
    const std::chrono::hh_mm_ss hms{millis - days};
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return text;
}

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (text.size() < 20 || !digits(text, 0, 4, year) || text[4] != '-' ||
        !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2, hour) ||
        text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
        !digits(text, 17, 2, second)) {
        return std::nullopt;
    }
    std::size_t at = 19;
    std::chrono::nanoseconds fraction{0};
    if (at < text.size() && text[at] == '.') {
        ++at;
        std::int64_t scale = 100'000'000;
        const std::size_t first = at;
        for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
            fraction += std::chrono::nanoseconds((text[at] - '0') * scale);
            scale /= 10;
        }
        if (at == first) return std::nullopt;
    }
    std::chrono::minutes offset{0};
    if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
        ++at;
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
        int offset_hours = 0, offset_minutes = 0;
        if (!digits(text, at + 1, 2, offset_hours) || at + 3 >= text.size() || text[at + 3] != ':' ||
            !digits(text, at + 4, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
            return std::nullopt;
        }
        offset = std::chrono::hours(offset_hours) + std::chrono::minutes(offset_minutes);
        if (text[at] == '-') offset = -offset;
        at += 6;
    } else {
        return std::nullopt;
    }
    if (at != text.size()) return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                           std::chrono::day(day)};
    if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    // Years 0000-9999 fit in seconds; the clock's nanoseconds hold only 1678-2261.
    const auto whole = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                       std::chrono::minutes(minute) + std::chrono::seconds(second) - offset;
    const auto in_range = time_point_in_range(whole.time_since_epoch());
    if (!in_range) return std::nullopt;
    return *in_range + fraction;
}

}  // namespace tierwatch

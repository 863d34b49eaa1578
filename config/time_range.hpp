// The instants the daemon's clock can hold. A system_clock::time_point counts signed 64-bit
// nanoseconds, so it spans 1677-09-21 to 2262-04-11; a date outside (a typo'd year 4052, a
// corrupt state file) must be refused before a conversion to nanoseconds silently wraps.
#pragma once

#include <chrono>
#include <optional>

namespace tierwatch {

// Whole seconds either side of the epoch that always convert, with room for a sub-second part.
inline constexpr std::chrono::seconds time_point_limit =
    std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::duration::max()) -
    std::chrono::seconds(1);

// `since_epoch` as a time point; nullopt when the clock cannot represent it.
template <class Rep, class Period>
constexpr std::optional<std::chrono::system_clock::time_point> time_point_in_range(
    std::chrono::duration<Rep, Period> since_epoch) {
    // Compared in the coarser unit, so the check itself cannot overflow.
    if (since_epoch > time_point_limit || since_epoch < -time_point_limit) return std::nullopt;
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

// `t + d`; nullopt when the sum leaves the clock's range.
inline std::optional<std::chrono::system_clock::time_point> plus_in_range(
    std::chrono::system_clock::time_point t, std::chrono::milliseconds d) {
    if (d > 2 * time_point_limit || d < -2 * time_point_limit) return std::nullopt;
    // In milliseconds both terms are far from the 64-bit limit; floor keeps the sum's bound.
    if (!time_point_in_range(std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()) + d)) {
        return std::nullopt;
    }
    return t + std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
}

}  // namespace tierwatch

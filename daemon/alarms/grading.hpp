// The grade of one probe result against its check's thresholds: failures, latency, the
// measurements whose kind names thresholds, and certificate expiry. (Rise/fall, groups and alarms build on this in the alarms work.)
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

enum class Grade : std::uint8_t { ok, warning, critical };
std::string_view to_string(Grade grade) noexcept;

struct Graded {
    Grade grade = Grade::ok;
    std::string why;  // empty when ok
};

Graded grade_result(const ProbeResult& result, const Check& check,
                    std::chrono::system_clock::time_point now);

}  // namespace tierwatch

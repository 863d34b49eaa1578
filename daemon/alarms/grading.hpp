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

// Why a target alarm's grade is what it is; part of the alarm's classes for tier3 routing.
enum class GradeCause : std::uint8_t { none, failure, latency, certificate };
std::string_view to_string(GradeCause cause) noexcept;

struct Graded {
    Grade grade = Grade::ok;
    GradeCause cause = GradeCause::none;  // what set the grade, as a value: routes and pages use it
    std::string why;                      // empty when ok
};

// The grade a state measurement's value stands for: 0 ok, 1 warning, 2 (or more) critical.
Grade grade_of_state(double value) noexcept;

Graded grade_result(const ProbeResult& result, const Check& check,
                    std::chrono::system_clock::time_point now);

}  // namespace tierwatch

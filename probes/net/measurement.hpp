// What a prober measured besides success and timings (an HTTP status, a replication lag per
// peer, a delivery time), and the kind that tells every output how to show and grade it. Each
// protocol declares its kinds next to its prober and lists them on its registry line
// (probes/registry), so /metrics, the JSON API, the status page, grading and the plugin mode
// iterate measurements and know no protocol.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tierwatch {

struct Check;

enum class MeasurementUnit : std::uint8_t {
    count,    // an integer: JSON number without fraction, page text as is
    seconds,  // JSON number, page "%.1f s", graded as a duration
    // A graded state: 0 ok, 1 warning, 2 critical (a mail record's). The JSON API and the page
    // write the word, /metrics the number; grading raises the target's grade to the worst value.
    state,
};

// The word of a state value ("ok", "warning", "critical"); a value outside 0-2 is "critical".
std::string_view state_word(double value) noexcept;

// The warning and critical bounds a graded measurement is compared with (above is bad).
struct MeasurementThresholds {
    std::optional<std::chrono::milliseconds> warning;
    std::optional<std::chrono::milliseconds> critical;
};

struct MeasurementKind {
    std::string_view key;  // the JSON API's field: "http_status", "replication_lag_seconds"
    MeasurementUnit unit = MeasurementUnit::count;
    // Names each value's label ("peer"): the JSON field is then an object label -> value and
    // /metrics adds the label. Empty: at most one value per result.
    std::string_view label;
    std::string_view metric;  // the /metrics family, with its HELP text
    std::string_view help;
    // The status page row ("HTTP status"; a labelled value's row adds its label). Empty: not shown.
    std::string_view page_row;
    // Written with the value in the plugin's status line (" HTTP 200"). Empty: not written.
    std::string_view summary;
    // Grading: the words in the reason ("delivery 6s above 5s") and the check's bounds for the
    // largest value of the kind. Null: not graded (a state is graded by its value, with
    // `graded_as` and its label in the reason).
    std::string_view graded_as;
    MeasurementThresholds (*thresholds)(const Check&) = nullptr;
    // Graded in place of the probe's duration, against `thresholds` or else the check's latency
    // bounds (a round trip's delivery: the time that matters is the message's, not the probe's).
    bool replaces_latency = false;
};

struct Measurement {
    const MeasurementKind* kind = nullptr;  // a protocol's declared kind, compared by address
    double value = 0;
    std::string label;  // the value of kind->label ("ldap2"); empty when the kind has none
};

// The value as outputs write it: a count as an integer, seconds as "1.5 s" (one decimal), a
// state as its word.
std::string format_measurement(const Measurement& measurement);

// A graded value in seconds as the check's Duration (milliseconds, truncated).
inline std::chrono::milliseconds measured_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

}  // namespace tierwatch

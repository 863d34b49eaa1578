// Threshold ranges as the Monitoring Plugins guidelines define them ("10", "10:", "~:10",
// "10:20", "@10:20"), for the plugin mode's -w/-c and the perfdata that echoes them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tierwatch {

// [@]start:end. A value outside [start, end] alerts; with '@' a value inside it does.
// Both ends are inclusive; a missing end is +infinity and "~" as start is -infinity.
struct PluginRange {
    double start = 0;
    double end = 0;
    bool start_unbounded = false;  // "~:"
    bool end_unbounded = false;    // "10:"
    bool inside = false;           // "@": alert inside the range

    bool alerts(double value) const noexcept;
    // The guidelines' own spelling, with numbers in plain decimal ("10", "~:0.5", "@1:2").
    std::string to_string() const;
};

// nullopt with `why` set when `text` is not a range; `why` says what is wrong with it.
std::optional<PluginRange> parse_plugin_range(std::string_view text, std::string& why);

// A number in the perfdata class [-0-9.]: plain decimal, no exponent, shortest round trip.
std::string format_plugin_number(double value);

}  // namespace tierwatch

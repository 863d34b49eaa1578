// state_dir/alarms.json as tierwatchd reads it at start: a file that cannot be used is reported
// and set aside, never half-loaded.
#include <filesystem>
#include <string>

#include "daemon/alarms/alarm_state.hpp"
#include "daemon/clock/rfc3339.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const auto file = fuzz::scratch_file("alarms.json", fuzz::text(data, size));
    const auto alarms = load_alarm_state(file);
    if (!alarms) {
        fuzz::require(!alarms.error().empty(), "a refusal says why");
        fuzz::require(!std::filesystem::exists(file), "a refused file is set aside");
        return 0;
    }
    for (const Alarm& alarm : *alarms) {
        // Every time that loaded is one the clock holds: formatting it must not overflow.
        fuzz::require(!format_rfc3339(alarm.started).empty(), "the start time formats");
        if (alarm.critical_since) fuzz::require(!format_rfc3339(*alarm.critical_since).empty(), "formats");
        for (const auto& sent : alarm.last_sent) {
            if (sent) fuzz::require(!format_rfc3339(*sent).empty(), "a send time formats");
        }
    }
    return 0;
}

// state_dir/silences.json as tierwatchd reads it at start and on reload.
#include <chrono>
#include <filesystem>

#include <boost/json.hpp>

#include "daemon/alarms/silences.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    using namespace std::chrono;
    const auto file = fuzz::scratch_file("silences.json", fuzz::text(data, size));
    const TimePoint now = sys_days(year(2026) / 11 / 23) + hours(3);
    SilenceStore store(file);
    const auto loaded = store.load(now);
    if (!loaded) {
        fuzz::require(!loaded.error().empty(), "a refusal says why");
        fuzz::require(store.silences().empty(), "a refused file loads nothing");
        return 0;
    }
    for (const Silence& silence : store.silences()) {
        fuzz::require(silence.end >= now - hours(24), "silences that ended over a day ago are forgotten");
        const auto json = silence_to_json(silence, now);
        fuzz::require(json.contains("state"), "a loaded silence is shown with its state");
    }
    fuzz::require(store.windows().size() == store.silences().size(), "one window per silence");
    return 0;
}

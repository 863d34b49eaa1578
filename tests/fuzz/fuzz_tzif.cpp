// TZif time-zone files (the system database or $TZDIR), as coverage windows load them.
#include <chrono>
#include <stdexcept>
#include <string>

#include "config/alerting.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    using namespace std::chrono;
    std::shared_ptr<const TimeZone> zone;
    try {
        zone = TimeZone::from_tzif("fuzz", fuzz::text(data, size));
    } catch (const std::runtime_error&) {
        return 0;  // refused: what a corrupt file must get
    }
    // A zone that loads answers for any instant the clock holds, within a day of UTC either way.
    for (const auto t : {TimePoint{}, TimePoint(seconds(1'800'000'000)), TimePoint(seconds(-2'000'000'000)),
                         TimePoint(seconds(4'102'444'800)), TimePoint::min() + days(2), TimePoint::max() - days(2)}) {
        const auto offset = zone->offset_at(t);
        fuzz::require(offset > -days(8) && offset < days(8), "an offset is within a week of UTC");
    }
    return 0;
}

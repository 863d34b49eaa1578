// RFC 3339 time stamps as the API and the state files read them.
#include <chrono>

#include "daemon/clock/rfc3339.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const auto parsed = parse_rfc3339(fuzz::text(data, size));
    if (parsed) {
        // Whatever is accepted is formatted (to the millisecond) and read back unchanged.
        const auto millis = std::chrono::floor<std::chrono::milliseconds>(*parsed);
        const auto again = parse_rfc3339(format_rfc3339(*parsed));
        fuzz::require(again.has_value(), "a formatted time stamp parses");
        fuzz::require(*again == millis, "format then parse keeps the millisecond");
    }
    return 0;
}

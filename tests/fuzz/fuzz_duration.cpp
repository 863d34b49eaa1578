// Durations as the configuration and the API read them ("90m", "2h30m", "250ms").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const auto parsed = parse_duration(fuzz::text(data, size));
    if (parsed && *parsed >= Duration::zero()) {
        // What format_duration writes, parse_duration reads back as the same length.
        const auto again = parse_duration(format_duration(*parsed));
        fuzz::require(again && *again == *parsed, "format_duration reads back as the same duration");
    }
    return 0;
}

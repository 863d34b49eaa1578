// Monitoring Plugins threshold ranges (-w/-c of `tierwatch check`).
#include <cmath>
#include <string>

#include "daemon/cli/plugin_range.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    std::string why;
    const auto range = parse_plugin_range(fuzz::text(data, size), why);
    fuzz::require(range.has_value() == why.empty(), "a refusal says why, an acceptance does not");
    if (!range) return 0;
    // The guidelines' spelling that to_string writes reads back as a range alerting the same.
    std::string again_why;
    const auto again = parse_plugin_range(range->to_string(), again_why);
    fuzz::require(again.has_value(), "to_string() parses");
    for (const double value : {range->start, range->end, 0.0, -1.0, 1e9, range->start - 0.5,
                               range->end + 0.5}) {
        if (std::isnan(value)) continue;
        fuzz::require(again->alerts(value) == range->alerts(value),
                      "to_string() alerts on the same values");
    }
    return 0;
}

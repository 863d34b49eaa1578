// The TOML configuration, checks and alerting sections together, as tierwatchd and
// `tierwatch --check-config` read it. Anything refused must be a ConfigError at file:line:column.
#include <string>

#include "config/alerting.hpp"
#include "config/config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    // Relative paths in the file resolve under a directory that does not exist.
    static const std::string file = "/nonexistent/tierwatch-fuzz/tierwatch.toml";
    try {
        const Config config = parse_config(fuzz::text(data, size), file);
        fuzz::require(config.alerting != nullptr, "a loaded configuration has its alerting half");
        for (const auto& window : config.alerting->maintenance) {
            fuzz::require(window.start < window.end, "a maintenance window ends after it starts");
        }
    } catch (const ConfigError& e) {
        fuzz::require(std::string_view(e.what()).starts_with(file + ":"), "an error names the file");
    }
    return 0;
}

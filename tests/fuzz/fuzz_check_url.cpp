// The URL of `tierwatch check URL` (a Nagios/Icinga plugin's command line, often templated).
#include <string>

#include "daemon/cli/plugin_check.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    try {
        const CheckUrl url = parse_check_url(fuzz::text(data, size));
        fuzz::require(!url.host.empty(), "an accepted URL names a host");
        fuzz::require(url.host.find_first_of("[]/") == std::string::npos, "the host is only the host");
        const bool http = url.protocol == Protocol::http || url.protocol == Protocol::https;
        fuzz::require(http ? url.path.starts_with('/') : url.path.empty(), "only http(s) has a path");
    } catch (const PluginUsageError& e) {
        fuzz::require(*e.what() != '\0', "a refusal says why");
    }
    return 0;
}

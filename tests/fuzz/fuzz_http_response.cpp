// HTTP responses as the http prober and the HTTP pagers read them (probes/http/http_response.hpp),
// through Beast's test stream. The fuzzer chooses the limits, the receive size and the bytes; the
// outcome must not depend on how the bytes were split between receives, and an accepted body
// stays within its limit.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "tests/fuzz/fuzz_support.hpp"
#include "tests/support/http_bytes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    FuzzedDataProvider input(data, size);
    const HttpLimits limits{input.ConsumeIntegralInRange<std::size_t>(16, 2048),
                            input.ConsumeIntegralInRange<std::size_t>(0, 2048)};
    const std::size_t read_size = input.ConsumeIntegralInRange<std::size_t>(1, 64);
    const std::string bytes = input.ConsumeRemainingBytesAsString();
    const std::size_t buffer_size = limits.header + 64 * 1024;  // as the prober bounds its buffer

    const HttpRead split = testing::read_http_bytes(bytes, read_size, limits, buffer_size);
    const HttpRead whole = testing::read_http_bytes(bytes, bytes.size() + 1, limits, buffer_size);
    fuzz::require(split.error == whole.error, "the outcome does not depend on the receive size");
    if (whole.error != HttpReadError::none) return 0;
    fuzz::require(whole.response.body().size() <= limits.body, "an accepted body is within the limit");
    fuzz::require(split.response.result_int() == whole.response.result_int() &&
                      split.response.body() == whole.response.body() &&
                      split.response.reason() == whole.response.reason(),
                  "status, reason and body do not depend on the receive size");
    return 0;
}

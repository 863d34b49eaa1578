// HTTP responses as the http prober and the HTTP pagers read them (probes/http/http_response.hpp),
// through Beast's test stream. The fuzzer chooses the limits, the receive size and the bytes; the
// verdict must not depend on how the bytes were split between receives, and an accepted body
// stays within its limit.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
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

    const HttpRead split = testing::read_http_bytes(bytes, read_size, limits);
    const HttpRead whole = testing::read_http_bytes(bytes, bytes.size() + 1, limits);
    // Which refusal Beast names may depend on the splits: an unfinished header that trickles in
    // past the limit is header_limit, the same bytes at once show a bad start line first. Both
    // are the same failure to the prober (protocol) and the pagers (bad_response); whether the
    // response is accepted, and what it says, may not depend on them.
    const auto accepted = [](const HttpRead& read) { return read.error == HttpReadError::none; };
    if (accepted(split) != accepted(whole))
        std::fprintf(stderr, "split: %d %s, whole: %d %s\n", static_cast<int>(split.error),
                     split.code.message().c_str(), static_cast<int>(whole.error), whole.code.message().c_str());
    fuzz::require(accepted(split) == accepted(whole), "acceptance does not depend on the receive size");
    fuzz::require((split.error == HttpReadError::io) == (whole.error == HttpReadError::io),
                  "a stream failure is never a parse verdict");
    if (whole.error != HttpReadError::none) return 0;
    fuzz::require(whole.response.body().size() <= limits.body, "an accepted body is within the limit");
    fuzz::require(split.response.result_int() == whole.response.result_int() &&
                      split.response.body() == whole.response.body() &&
                      split.response.reason() == whole.response.reason(),
                  "status, reason and body do not depend on the receive size");
    return 0;
}

// MTA-STS policy files and TXT records. A policy that parses has its required fields, a max_age
// within a year, an MX pattern unless its mode is none, re-serialises to the same policy, and each
// pattern matches a host it describes.
#include "probes/wire/maildns/mta_sts.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const std::string_view text = fuzz::text(data, size);
    const Parsed<MtaStsTxt> txt = parse_mta_sts_txt(text);
    fuzz::require(
        txt.ok() ? !txt.value.id.empty() && txt.value.id.size() <= 32 : !txt.error.empty(),
        "an id is 1 to 32 characters, a refusal says why");
    const Parsed<MtaStsPolicy> parsed = parse_mta_sts_policy(text);
    if (!parsed.ok()) {
        fuzz::require(!parsed.error.empty(), "a refusal says why");
        return 0;
    }
    const MtaStsPolicy& policy = parsed.value;
    fuzz::require(policy.max_age <= mta_sts_max_age_limit, "max_age is at most a year");
    fuzz::require(policy.mode == MtaStsMode::none || !policy.mx.empty(),
                  "an active policy names an MX");
    const Parsed<MtaStsPolicy> again = parse_mta_sts_policy(to_string(policy));
    fuzz::require(again.ok() && again.value == policy, "the canonical text is the same policy");
    for (const std::string& pattern : policy.mx) {
        const std::string host = pattern.starts_with("*.") ? "mx" + pattern.substr(1) : pattern;
        fuzz::require(mx_matches(pattern, host), "a pattern matches a host it describes");
        fuzz::require(!mx_matches(pattern, "x." + host), "a pattern does not match one more label");
    }
    return 0;
}

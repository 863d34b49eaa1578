// DMARC records: what parses holds a policy, a percentage within 0-100 and mailto: report URIs.
#include "probes/wire/maildns/dmarc.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const Parsed<DmarcRecord> parsed = parse_dmarc(fuzz::text(data, size));
    if (!parsed.ok()) {
        fuzz::require(parsed.error.starts_with("tag "), "a refusal names the tag");
        return 0;
    }
    fuzz::require(parsed.value.percent <= 100, "pct is a percentage");
    for (const auto* uris : {&parsed.value.rua, &parsed.value.ruf}) {
        for (const std::string& uri : *uris)
            fuzz::require(istarts_with(uri, "mailto:"), "report URIs are mailto:");
    }
    return 0;
}

// TLS-RPT records: what parses sends reports to mailto: or https: URIs only.
#include "probes/wire/maildns/tlsrpt.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const Parsed<TlsRptRecord> parsed = parse_tlsrpt(fuzz::text(data, size));
    if (!parsed.ok()) {
        fuzz::require(parsed.error.starts_with("tag "), "a refusal names the tag");
        return 0;
    }
    fuzz::require(!parsed.value.rua.empty(), "a record says where reports go");
    for (const std::string& uri : parsed.value.rua) {
        fuzz::require(istarts_with(uri, "mailto:") || istarts_with(uri, "https://"),
                      "reports go to mailto: or https:");
    }
    return 0;
}

// TLSA records, the input read both as RDATA and as presentation text: RDATA that parses encodes
// back to the same bytes, and each form converts to the other and back to the same record.
#include <vector>

#include "probes/wire/maildns/tlsa.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const Parsed<TlsaRecord> wire = parse_tlsa_rdata({data, size});
    if (wire.ok()) {
        fuzz::require(to_rdata(wire.value) == std::vector<std::uint8_t>(data, data + size),
                      "RDATA encodes back");
        const Parsed<TlsaRecord> text = parse_tlsa_text(to_string(wire.value));
        fuzz::require(text.ok() && text.value == wire.value,
                      "the presentation form is the same record");
    } else {
        fuzz::require(!wire.error.empty(), "a refusal says why");
    }
    const Parsed<TlsaRecord> text = parse_tlsa_text(fuzz::text(data, size));
    if (text.ok()) {
        const Parsed<TlsaRecord> back = parse_tlsa_rdata(to_rdata(text.value));
        fuzz::require(back.ok() && back.value == text.value, "the RDATA form is the same record");
    }
    return 0;
}

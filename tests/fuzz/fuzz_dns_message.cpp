// DNS responses as the DNS client reads them: any bytes into parse_dns_message. It must end in a
// message or an error naming an offset inside the input, never read outside it, and what it
// decodes must be consistent with the bytes (address lengths, TXT strings within their rdata).
#include <string>

#include "probes/wire/dns_message.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const auto parsed = parse_dns_message({data, size});
    if (!parsed.ok()) {
        fuzz::require(parsed.error.find("offset") != std::string::npos || size < 12, "an error names its offset");
        return 0;
    }
    for (const auto& record : parsed.message.answers) {
        if (record.is(DnsType::a)) fuzz::require(record.address.size() == 4, "A is 4 bytes");
        if (record.is(DnsType::aaaa)) fuzz::require(record.address.size() == 16, "AAAA is 16 bytes");
        if (record.is(DnsType::txt)) {
            std::size_t total = 0;
            for (const auto& part : record.texts) total += part.size() + 1;
            fuzz::require(total == record.rdata.size(), "TXT strings fill their rdata");
        }
        fuzz::require(record.name.size() <= 4 * 255, "a name is bounded");
    }
    // A query for the parsed name must build or be refused, never crash.
    std::string error;
    (void)build_dns_query(1, parsed.message.question_name, DnsType::txt, {}, error);
    return 0;
}

// SPF records and the check_host evaluator. A record that parses re-serialises to text that parses
// to the same record; evaluated against a DNS where every name publishes that same record (so
// include and redirect recurse into it), the evaluator ends within its lookup limit and asks at
// most one TXT query plus eleven per counted lookup (an mx or ptr term: one plus ten addresses).
#include <functional>
#include <string>

#include "probes/wire/maildns/spf.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace tierwatch;

MailDnsAnswer answer(const MailDnsQuery& query, const std::string& record) {
    MailDnsAnswer out;
    const std::size_t hash = std::hash<std::string>{}(query.name);
    switch (hash % 7) {
        case 0:
            out.status = MailDnsAnswer::Status::nxdomain;
            return out;
        case 1:
            out.status = MailDnsAnswer::Status::error;
            return out;
        default:
            break;
    }
    switch (query.type) {
        case MailDnsType::txt:
            out.txt.push_back({record});
            break;
        case MailDnsType::a:
            out.addresses.push_back(IpAddress{false, {192, 0, 2, static_cast<std::uint8_t>(hash)}});
            break;
        case MailDnsType::aaaa:
            out.addresses.push_back(IpAddress{true, {0x20, 0x01, 0x0d, 0xb8}});
            break;
        case MailDnsType::mx:
            for (std::size_t i = 0; i < hash % 12; ++i)
                out.mx.push_back({10, "mx" + std::to_string(i) + "." + query.name});
            break;
        case MailDnsType::ptr:
            out.names = {"a.example.com", "b." + query.name};
            break;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const std::string record(fuzz::text(data, size));
    const Parsed<SpfRecord> parsed = parse_spf(record);
    if (!parsed.ok()) {
        fuzz::require(!parsed.error.empty(), "a refusal says why");
    } else {
        const std::string canonical = to_string(parsed.value);
        const Parsed<SpfRecord> again = parse_spf(canonical);
        fuzz::require(again.ok(), "the canonical text parses");
        fuzz::require(again.value == parsed.value, "the canonical text is the same record");
        fuzz::require(to_string(again.value) == canonical, "the canonical text is a fixed point");
    }
    for (const IpAddress& address :
         {IpAddress{false, {192, 0, 2, 1}}, IpAddress{true, {0x20, 0x01, 0x0d, 0xb8}}}) {
        SpfEvaluator evaluator("example.com", address);
        std::size_t asked = 0;
        while (!evaluator.done()) {
            fuzz::require(++asked <= 1 + 11 * SpfLimits{}.dns_lookups,
                          "the evaluator stays within its query bound");
            evaluator.feed(answer(evaluator.query(), record));
        }
        const SpfResult& result = evaluator.result();
        fuzz::require(result.lookups <= SpfLimits{}.dns_lookups,
                      "never more DNS-querying terms than the limit");
        fuzz::require(result.queries == asked, "the result counts the queries asked");
        fuzz::require(!result.detail.empty(), "every result says why");
        fuzz::require(
            (result.verdict == SpfVerdict::permerror || result.verdict == SpfVerdict::temperror ||
             result.verdict == SpfVerdict::none) == (result.problem != SpfProblem::none),
            "errors and only errors name a problem");
    }
    return 0;
}

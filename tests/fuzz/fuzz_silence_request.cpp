// Admin API silence request bodies (POST /api/v1/silences): whatever is accepted is a bounded,
// future, non-empty silence; whatever is refused says why (the API's 400).
#include <chrono>
#include <string>

#include "daemon/alarms/silences.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    using namespace std::chrono;
    static const Config config = parse_config(R"(
[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "10.0.1.10"
[[nlb]]
name = "mail"
fqdn = "mail.example.test"
[[check]]
name = "smtp"
protocol = "smtp"
port = 25
roles = ["mta"]
nlbs = ["mail"]
)", "tierwatch.toml");
    const TimePoint now = sys_days(year(2026) / 11 / 23) + hours(3);
    const auto result = parse_silence_request(fuzz::text(data, size), config, now);
    if (!result) {
        fuzz::require(!result.error().empty(), "a refusal says why");
        return 0;
    }
    const Silence& silence = *result;
    fuzz::require(!silence.match.empty(), "a silence matches something");
    fuzz::require(silence.start < silence.end, "a silence ends after it starts");
    fuzz::require(silence.end > now, "a silence is not over before it is made");
    fuzz::require(silence.end - silence.start <= days(31), "a silence lasts at most 31 days");
    fuzz::require(!silence.author.empty() && silence.author.size() <= 1024, "the author is bounded");
    fuzz::require(!silence.comment.empty() && silence.comment.size() <= 1024, "the comment is bounded");
    return 0;
}

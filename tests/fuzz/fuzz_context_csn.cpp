// OpenLDAP contextCSN values, as the replication check reads them from a provider and consumers.
#include <chrono>
#include <cstdio>

#include "probes/wire/ldap_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    using namespace std::chrono;
    const auto csn = parse_context_csn(fuzz::text(data, size));
    if (!csn) return 0;
    // The canonical spelling of what was read parses to the same CSN.
    const auto day = floor<days>(csn->time);
    const year_month_day ymd{day};
    const hh_mm_ss hms{csn->time - day};
    char canonical[64];
    std::snprintf(canonical, sizeof canonical, "%04d%02u%02u%02ld%02ld%02ld.%06ldZ#%06x#%03x#%06x",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                  static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
                  static_cast<long>(hms.subseconds().count()), csn->count, csn->sid, csn->mod);
    const auto again = parse_context_csn(canonical);
    fuzz::require(again.has_value(), "the canonical CSN parses");
    fuzz::require(again->time == csn->time && again->count == csn->count && again->sid == csn->sid &&
                      again->mod == csn->mod,
                  "the canonical CSN is the same CSN");
    return 0;
}

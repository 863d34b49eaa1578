// TLSA matching against a certificate from outside (the server's, after STARTTLS). The input is
// the DER chain's only certificate. When OpenSSL reads it, the DANE-EE records made from it in
// every selector and matching type all match it; a record of other data matches nothing. Either
// way a verdict never points outside the records or the chain.
#include <chrono>
#include <vector>

#include "probes/dane/tlsa_match.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const std::vector<DerCertificate> chain{DerCertificate(data, data + size)};
    std::vector<TlsaRecord> records;
    for (std::uint8_t selector : {tlsa::cert, tlsa::spki}) {
        for (std::uint8_t matching : {tlsa::full, tlsa::sha256, tlsa::sha512}) {
            if (auto association = tlsa_association(chain[0], selector, matching)) {
                records.push_back({tlsa::dane_ee, selector, matching, std::move(*association)});
            }
        }
    }
    const auto now = std::chrono::system_clock::time_point{};  // fixed: the input alone decides
    const TlsaRecord other{tlsa::dane_ee, tlsa::spki, tlsa::sha256,
                           std::vector<std::uint8_t>(32, 0xa5)};
    if (!records.empty()) {
        fuzz::require(records.size() == 6, "a certificate that parses yields every association");
        const DaneCheck all = check_dane(records, chain, now);
        fuzz::require(all.matches.size() == records.size(),
                      "each record made from the certificate matches it");
        fuzz::require(all.usable_records == records.size(), "and each is usable");
    }
    records.push_back(other);
    const DaneCheck check = check_dane(records, chain, now);
    for (const TlsaMatch& match : check.matches) {
        fuzz::require(match.record < records.size() && match.certificate < chain.size(),
                      "matches point inside");
        fuzz::require(match.record != records.size() - 1, "a record of other data matches nothing");
    }
    fuzz::require(check.ok() == !check.reason.has_value(),
                  "a verdict has a reason exactly when it is not ok");
    fuzz::require(!check.detail.empty(), "the verdict says why");
    return 0;
}

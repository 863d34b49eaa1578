// DMARC policy records (RFC 7489 §6.3), as published in TXT at _dmarc.<domain>.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

enum class DmarcPolicy : std::uint8_t { none, quarantine, reject };
enum class DmarcAlignment : std::uint8_t { relaxed, strict };
std::string_view to_string(DmarcPolicy policy) noexcept;

struct DmarcRecord {
    DmarcPolicy policy = DmarcPolicy::none;
    std::optional<DmarcPolicy> subdomain_policy;  // sp=; absent: p= applies
    unsigned percent = 100;                       // pct=
    std::vector<std::string> rua;                 // mailto: URIs as written, size limits included
    std::vector<std::string> ruf;
    DmarcAlignment adkim = DmarcAlignment::relaxed;
    DmarcAlignment aspf = DmarcAlignment::relaxed;
    bool operator==(const DmarcRecord&) const = default;
};

// "v=DMARC1" must be the first tag and p= must be present; sp= and p= take none, quarantine or
// reject; pct= 0-100; rua= and ruf= comma-separated mailto: URIs with an optional "!size[kmgt]";
// adkim= and aspf= r or s; ri= a number; fo=, rf= and unknown tags are accepted (RFC 7489 says
// ignore them). Errors name the tag: "tag p: 'block' is not none, quarantine or reject".
Parsed<DmarcRecord> parse_dmarc(std::string_view text);

}  // namespace tierwatch

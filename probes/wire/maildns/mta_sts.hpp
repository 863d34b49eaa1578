// MTA-STS (RFC 8461): the _mta-sts TXT record, the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt, and matching an MX host against its patterns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

struct MtaStsTxt {
    std::string id;  // 1 to 32 letters and digits; a change tells senders to refetch the policy
    bool operator==(const MtaStsTxt&) const = default;
};

// "v=STSv1" first, then id= (required); other tags are extensions and ignored. Errors name the tag.
Parsed<MtaStsTxt> parse_mta_sts_txt(std::string_view text);

enum class MtaStsMode : std::uint8_t { enforce, testing, none };
std::string_view to_string(MtaStsMode mode) noexcept;

struct MtaStsPolicy {
    MtaStsMode mode = MtaStsMode::none;
    std::uint32_t max_age = 0;    // seconds
    std::vector<std::string> mx;  // patterns, lower case: "mx.example.com" or "*.example.com"
    bool operator==(const MtaStsPolicy&) const = default;
};

// RFC 8461 §3.2 says a policy SHOULD stay under 64 KiB; a body over this bound is refused unread.
inline constexpr std::size_t mta_sts_policy_max_bytes = 64 * 1024;
inline constexpr std::uint32_t mta_sts_max_age_limit = 31557600;  // one year

// "key: value" lines ended by CRLF or LF: version: STSv1, mode: enforce|testing|none,
// max_age: 0-31557600, mx: one per line (at least one unless mode is none), a pattern with at most
// one leading "*." label. Unknown keys are ignored and a repeated key other than mx keeps its
// first value (RFC 8461 §3.2). Errors name the line: "line 3: mode: 'strict' is not ...".
Parsed<MtaStsPolicy> parse_mta_sts_policy(std::string_view body);

// Whether an MX host name matches a policy pattern (RFC 8461 §4.1): case-insensitive, a trailing
// dot ignored, "*.example.com" standing for exactly one more label.
bool mx_matches(std::string_view pattern, std::string_view host);

// The canonical policy text (CRLF lines, version first), which parses to the same policy.
std::string to_string(const MtaStsPolicy& policy);

}  // namespace tierwatch

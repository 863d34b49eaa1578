// SMTP TLS reporting records (RFC 8460 §3), as published in TXT at _smtp._tls.<domain>.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "probes/wire/maildns/text.hpp"

namespace tierwatch {

struct TlsRptRecord {
    std::vector<std::string> rua;  // mailto: or https: URIs as written
    bool operator==(const TlsRptRecord&) const = default;
};

// "v=TLSRPTv1" first, then rua= (required): comma-separated mailto: or https: URIs. Unknown tags
// are extensions and ignored. Errors name the tag.
Parsed<TlsRptRecord> parse_tlsrpt(std::string_view text);

}  // namespace tierwatch

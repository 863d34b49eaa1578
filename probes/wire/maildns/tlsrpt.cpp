// SMTP TLS reporting records (see tlsrpt.hpp).
#include "probes/wire/maildns/tlsrpt.hpp"

namespace tierwatch {

Parsed<TlsRptRecord> parse_tlsrpt(std::string_view text) {
    Parsed<TlsRptRecord> out;
    Parsed<std::vector<Tag>> tags = parse_tag_list(text);
    if (!tags.ok()) {
        out.error = tags.error;
        return out;
    }
    if (tags.value.front().name != "v" || tags.value.front().value != "TLSRPTv1") {
        out.error = "tag v: the record must start with v=TLSRPTv1";
        return out;
    }
    const Tag* rua = find_tag(tags.value, "rua");
    if (rua == nullptr) {
        out.error = "tag rua: missing (where reports go is required)";
        return out;
    }
    for (std::string_view uri : split(rua->value, ',')) {
        uri = trim_wsp(uri);
        const bool mailto = istarts_with(uri, "mailto:") &&
                            uri.find('@') != std::string_view::npos && uri.find('@') > 7 &&
                            !uri.ends_with('@');
        const bool https = istarts_with(uri, "https://") && uri.size() > 8;
        if (!mailto && !https) {
            out.error = "tag rua: " + quote(uri) + " is not a mailto:local@domain or https:// URI";
            return out;
        }
        out.value.rua.emplace_back(uri);
    }
    return out;
}

}  // namespace tierwatch

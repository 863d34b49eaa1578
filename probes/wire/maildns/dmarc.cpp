// DMARC policy records (see dmarc.hpp).
#include "probes/wire/maildns/dmarc.hpp"

#include <algorithm>

namespace tierwatch {

namespace {

std::optional<DmarcPolicy> policy_of(std::string_view value) {
    if (iequals(value, "none")) return DmarcPolicy::none;
    if (iequals(value, "quarantine")) return DmarcPolicy::quarantine;
    if (iequals(value, "reject")) return DmarcPolicy::reject;
    return std::nullopt;
}

bool all_digits(std::string_view text) {
    return !text.empty() && text.size() <= 10 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One dmarc-uri: mailto:local@domain, then optionally "!" digits and a unit letter.
std::string check_report_uri(std::string_view uri) {
    std::string_view address = uri;
    if (const std::size_t bang = uri.rfind('!'); bang != std::string_view::npos) {
        std::string_view size = uri.substr(bang + 1);
        if (!size.empty() &&
            std::string_view("kmgtKMGT").find(size.back()) != std::string_view::npos) {
            size.remove_suffix(1);
        }
        if (!all_digits(size)) return quote(uri) + " has a bad size limit after '!'";
        address = uri.substr(0, bang);
    }
    if (!istarts_with(address, "mailto:")) return quote(uri) + " is not a mailto: URI";
    const std::string_view mailbox = address.substr(7);
    const std::size_t at = mailbox.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 == mailbox.size()) {
        return quote(uri) + " has no local@domain address";
    }
    return {};
}

}  // namespace

std::string_view to_string(DmarcPolicy policy) noexcept {
    switch (policy) {
        case DmarcPolicy::none:
            return "none";
        case DmarcPolicy::quarantine:
            return "quarantine";
        case DmarcPolicy::reject:
            return "reject";
    }
    return "?";
}

Parsed<DmarcRecord> parse_dmarc(std::string_view text) {
    Parsed<DmarcRecord> out;
    Parsed<std::vector<Tag>> tags = parse_tag_list(text);
    if (!tags.ok()) {
        out.error = tags.error;
        return out;
    }
    if (tags.value.front().name != "v" || tags.value.front().value != "DMARC1") {
        out.error = "tag v: the record must start with v=DMARC1";
        return out;
    }
    bool has_policy = false;
    for (const Tag& tag : tags.value) {
        const std::string where = "tag " + tag.name + ": ";
        const std::string_view value = tag.value;
        if (tag.name == "p" || tag.name == "sp") {
            const std::optional<DmarcPolicy> policy = policy_of(value);
            if (!policy) {
                out.error = where + quote(value) + " is not none, quarantine or reject";
                return out;
            }
            if (tag.name == "p") {
                out.value.policy = *policy;
                has_policy = true;
            } else {
                out.value.subdomain_policy = policy;
            }
        } else if (tag.name == "pct") {
            if (!all_digits(value) || std::stoul(std::string(value)) > 100) {
                out.error = where + quote(value) + " is not a percentage from 0 to 100";
                return out;
            }
            out.value.percent = static_cast<unsigned>(std::stoul(std::string(value)));
        } else if (tag.name == "rua" || tag.name == "ruf") {
            std::vector<std::string>& uris = tag.name == "rua" ? out.value.rua : out.value.ruf;
            for (std::string_view uri : split(value, ',')) {
                uri = trim_wsp(uri);
                if (std::string why = check_report_uri(uri); !why.empty()) {
                    out.error = where + why;
                    return out;
                }
                uris.emplace_back(uri);
            }
        } else if (tag.name == "adkim" || tag.name == "aspf") {
            DmarcAlignment& alignment = tag.name == "adkim" ? out.value.adkim : out.value.aspf;
            if (iequals(value, "r")) {
                alignment = DmarcAlignment::relaxed;
            } else if (iequals(value, "s")) {
                alignment = DmarcAlignment::strict;
            } else {
                out.error = where + quote(value) + " is not r (relaxed) or s (strict)";
                return out;
            }
        } else if (tag.name == "ri") {
            if (!all_digits(value)) {
                out.error = where + quote(value) + " is not a number of seconds";
                return out;
            }
        }
    }
    if (!has_policy) out.error = "tag p: missing (the policy is required)";
    return out;
}

}  // namespace tierwatch

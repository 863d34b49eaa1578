// MTA-STS records and policies (see mta_sts.hpp).
#include "probes/wire/maildns/mta_sts.hpp"

#include <algorithm>

#include "probes/wire/ascii.hpp"

namespace tierwatch {

namespace {

// A host name of letters, digits and hyphens in dot-separated labels of 1 to 63 bytes.
bool is_host_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    for (std::string_view label : split(name, '.')) {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        if (!std::all_of(label.begin(), label.end(),
                         [](char c) { return is_alnum(c) || c == '-' || c == '_'; })) {
            return false;
        }
    }
    return true;
}

std::string_view strip_dot(std::string_view name) {
    if (name.ends_with('.')) name.remove_suffix(1);
    return name;
}

}  // namespace

Parsed<MtaStsTxt> parse_mta_sts_txt(std::string_view text) {
    Parsed<MtaStsTxt> out;
    Parsed<std::vector<Tag>> tags = parse_tag_list(text);
    if (!tags.ok()) {
        out.error = tags.error;
        return out;
    }
    if (tags.value.front().name != "v" || tags.value.front().value != "STSv1") {
        out.error = "tag v: the record must start with v=STSv1";
        return out;
    }
    const Tag* id = find_tag(tags.value, "id");
    if (id == nullptr) {
        out.error = "tag id: missing (the policy id is required)";
        return out;
    }
    if (id->value.empty() || id->value.size() > 32 ||
        !std::all_of(id->value.begin(), id->value.end(), is_alnum)) {
        out.error = "tag id: " + quote(id->value) + " is not 1 to 32 letters and digits";
        return out;
    }
    out.value.id = id->value;
    return out;
}

std::string_view to_string(MtaStsMode mode) noexcept {
    switch (mode) {
        case MtaStsMode::enforce:
            return "enforce";
        case MtaStsMode::testing:
            return "testing";
        case MtaStsMode::none:
            return "none";
    }
    return "?";
}

Parsed<MtaStsPolicy> parse_mta_sts_policy(std::string_view body) {
    Parsed<MtaStsPolicy> out;
    if (body.size() > mta_sts_policy_max_bytes) {
        out.error = "the policy is " + std::to_string(body.size()) + " bytes, more than " +
                    std::to_string(mta_sts_policy_max_bytes);
        return out;
    }
    bool has_version = false, has_mode = false, has_max_age = false;
    std::vector<std::string_view> lines = split(body, '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final line's terminator
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (line.ends_with('\r')) line.remove_suffix(1);
        const std::string where = "line " + std::to_string(i + 1) + ": ";
        if (line.find('\r') != std::string_view::npos) {
            out.error = where + "a CR inside the line";
            return out;
        }
        if (line.empty()) continue;  // tolerated, as senders' parsers do
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            out.error = where + quote(line) + " is not \"key: value\"";
            return out;
        }
        const std::string_view key = line.substr(0, colon);
        const std::string_view value = trim_wsp(line.substr(colon + 1));
        const std::string field = where + std::string(key) + ": ";
        if (key == "version") {
            if (has_version) continue;
            if (value != "STSv1") {
                out.error = field + quote(value) + " is not STSv1";
                return out;
            }
            has_version = true;
        } else if (key == "mode") {
            if (has_mode) continue;
            if (value == "enforce") {
                out.value.mode = MtaStsMode::enforce;
            } else if (value == "testing") {
                out.value.mode = MtaStsMode::testing;
            } else if (value == "none") {
                out.value.mode = MtaStsMode::none;
            } else {
                out.error = field + quote(value) + " is not enforce, testing or none";
                return out;
            }
            has_mode = true;
        } else if (key == "max_age") {
            if (has_max_age) continue;
            std::uint64_t seconds = 0;
            const bool digits = !value.empty() && value.size() <= 10 &&
                                std::all_of(value.begin(), value.end(),
                                            [](char c) { return c >= '0' && c <= '9'; });
            for (char c : digits ? value : std::string_view())
                seconds = seconds * 10 + static_cast<unsigned>(c - '0');
            if (!digits || seconds > mta_sts_max_age_limit) {
                out.error = field + quote(value) + " is not a number of seconds from 0 to 31557600";
                return out;
            }
            out.value.max_age = static_cast<std::uint32_t>(seconds);
            has_max_age = true;
        } else if (key == "mx") {
            const std::string_view host = value.starts_with("*.") ? value.substr(2) : value;
            if (!is_host_name(strip_dot(host))) {
                out.error = field + quote(value) + " is not a host name or *.domain pattern";
                return out;
            }
            out.value.mx.push_back(to_lower(strip_dot(value)));
        }
    }
    if (!has_version) {
        out.error = "version: missing (the policy must say version: STSv1)";
    } else if (!has_mode) {
        out.error = "mode: missing";
    } else if (!has_max_age) {
        out.error = "max_age: missing";
    } else if (out.value.mx.empty() && out.value.mode != MtaStsMode::none) {
        out.error =
            "mx: missing (mode " + std::string(to_string(out.value.mode)) + " needs at least one)";
    }
    return out;
}

bool mx_matches(std::string_view pattern, std::string_view host) {
    pattern = strip_dot(pattern);
    host = strip_dot(host);
    if (pattern.starts_with("*.")) {
        const std::size_t dot = host.find('.');
        if (dot == std::string_view::npos || dot == 0) return false;
        return iequals(host.substr(dot + 1), pattern.substr(2));
    }
    return !pattern.empty() && iequals(pattern, host);
}

std::string to_string(const MtaStsPolicy& policy) {
    std::string out = "version: STSv1\r\nmode: " + std::string(to_string(policy.mode)) + "\r\n";
    for (const std::string& mx : policy.mx) out += "mx: " + mx + "\r\n";
    out += "max_age: " + std::to_string(policy.max_age) + "\r\n";
    return out;
}

}  // namespace tierwatch

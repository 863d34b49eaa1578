// DKIM public key records (see dkim.hpp).
#include "probes/wire/maildns/dkim.hpp"

#include <algorithm>

namespace tierwatch {

namespace {

// A colon-separated list of names (RFC 6376's "key-h-tag-alg", "key-s-tag-type", "key-t-tag-flag").
std::optional<std::vector<std::string>> name_list(std::string_view value) {
    std::vector<std::string> names;
    for (std::string_view piece : split(value, ':')) {
        piece = trim_wsp(piece);
        const bool good = !piece.empty() && std::all_of(piece.begin(), piece.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '*';
        });
        if (!good) return std::nullopt;
        names.emplace_back(piece);
    }
    return names;
}

}  // namespace

std::string_view to_string(DkimKeyType type) noexcept {
    return type == DkimKeyType::rsa ? "rsa" : "ed25519";
}

bool DkimKeyRecord::testing() const {
    return std::find(flags.begin(), flags.end(), "y") != flags.end();
}

std::string dkim_key_name(std::string_view selector, std::string_view domain) {
    return std::string(selector) + "._domainkey." + std::string(domain);
}

Parsed<DkimKeyRecord> parse_dkim_key(std::string_view text) {
    Parsed<DkimKeyRecord> out;
    Parsed<std::vector<Tag>> tags = parse_tag_list(text);
    if (!tags.ok()) {
        out.error = tags.error;
        return out;
    }
    bool has_key = false;
    for (std::size_t i = 0; i < tags.value.size(); ++i) {
        const Tag& tag = tags.value[i];
        const std::string where = "tag " + tag.name + ": ";
        if (tag.name == "v") {
            if (i != 0 || tag.value != "DKIM1") {
                out.error = where + "v=DKIM1 must be the first tag when present";
                return out;
            }
        } else if (tag.name == "k") {
            if (tag.value == "rsa") {
                out.value.key_type = DkimKeyType::rsa;
            } else if (tag.value == "ed25519") {
                out.value.key_type = DkimKeyType::ed25519;
            } else {
                out.error = where + quote(tag.value) + " is not a key type (rsa or ed25519)";
                return out;
            }
        } else if (tag.name == "p") {
            has_key = true;
            std::optional<std::vector<std::uint8_t>> key = base64_decode(tag.value);
            if (!key) {
                out.error = where + "the key is not valid base64";
                return out;
            }
            out.value.revoked = key->empty();
            out.value.key = std::move(*key);
        } else if (tag.name == "h" || tag.name == "s" || tag.name == "t") {
            std::optional<std::vector<std::string>> names = name_list(tag.value);
            if (!names) {
                out.error = where + quote(tag.value) + " is not a colon-separated list of names";
                return out;
            }
            (tag.name == "h"   ? out.value.hash_algorithms
             : tag.name == "s" ? out.value.service_types
                               : out.value.flags) = std::move(*names);
        }
    }
    if (!has_key) out.error = "tag p: missing (the public key is required)";
    return out;
}

}  // namespace tierwatch

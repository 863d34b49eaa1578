// The mail DNS parsers' shared pieces: IP text that parses prints in a form that parses to the same
// address; base64 and hex that decode re-encode to text that decodes to the same bytes; a tag list
// that parses has unique, non-empty tag names.
#include <set>
#include <string>

#include "probes/wire/mail_common.hpp"
#include "probes/wire/maildns/address.hpp"
#include "probes/wire/maildns/text.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const std::string_view text = fuzz::text(data, size);
    if (const auto address = parse_ip(text)) {
        const auto again = parse_ip(to_string(*address));
        fuzz::require(again && *again == *address, "an address prints in a form that parses back");
        fuzz::require(in_network(*address, *address, address->v6 ? 128 : 32),
                      "an address is in its own /32 or /128");
    }
    if (const auto bytes = base64_decode(text)) {
        const auto again = base64_decode(base64_encode(std::string(bytes->begin(), bytes->end())));
        fuzz::require(again && *again == *bytes, "base64 re-encodes to the same bytes");
    }
    if (const auto bytes = hex_decode(text)) {
        fuzz::require(hex_decode(hex_encode(*bytes)) == bytes, "hex re-encodes to the same bytes");
    }
    const Parsed<std::vector<Tag>> tags = parse_tag_list(text);
    if (tags.ok()) {
        std::set<std::string> names;
        for (const Tag& tag : tags.value) {
            fuzz::require(!tag.name.empty() && names.insert(tag.name).second,
                          "tag names are present and unique");
        }
    }
    return 0;
}

// Outbox segments (state_dir/outbox) as replay reads them after a crash: any bytes, damaged
// anywhere. Every byte is accounted for, once, as a record or as damage; each record re-encodes
// to exactly the bytes it was read from; and the checksum work stays linear in the size.
#include <string>

#include "daemon/paging/outbox.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    namespace codec = outbox_codec;
    const std::string_view bytes = fuzz::text(data, size);
    const std::size_t before = codec::crc32c_bytes();
    const codec::Scan scan = codec::scan(bytes);
    const std::size_t work = codec::crc32c_bytes() - before;
    // One index pass, a few bytes per candidate, each record twice, one failed first decode.
    fuzz::require(work <= 8 * size + 2 * codec::max_payload + 64, "replay work is linear in the size");

    std::size_t at = 0;
    std::size_t damage = 0;
    std::size_t record = 0;
    std::string encoded;
    while (at < size) {
        if (damage < scan.damage.size() && scan.damage[damage].offset == at) {
            fuzz::require(scan.damage[damage].length > 0, "damage has a length");
            at += scan.damage[damage++].length;
            continue;
        }
        fuzz::require(record < scan.records.size(), "bytes between damage are records");
        const codec::Record& r = scan.records[record++];
        encoded.clear();
        if (r.type == codec::RecordType::delivered) {
            codec::encode_delivered(encoded, r.id);
        } else {
            codec::encode_event(encoded, r.id, r.event);
        }
        fuzz::require(bytes.substr(at, encoded.size()) == encoded, "a record re-encodes to its bytes");
        at += encoded.size();
    }
    fuzz::require(at == size, "damage and records cover the bytes exactly");
    fuzz::require(record == scan.records.size() && damage == scan.damage.size(), "nothing is left over");
    fuzz::require(scan.damage.empty() || !scan.damage.back().tail ||
                      scan.damage.back().offset + scan.damage.back().length == size,
                  "a torn tail ends the file");
    return 0;
}

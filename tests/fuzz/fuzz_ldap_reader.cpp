// LDAP responses (BER) as the ldap probes read them: a server's bytes into the bounded, incremental
// LdapReader. The fuzzer chooses the message size limit and where the bytes are split between
// receives; the messages and the error that ends them must not depend on the splits.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "probes/wire/ldap_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace tierwatch;

std::string describe(const LdapMessage& m) {
    std::string out = std::to_string(m.message_id) + "/" + std::to_string(static_cast<int>(m.op)) + "/" +
                      std::to_string(m.tag) + "/" + std::to_string(m.result.code) + "/" + m.result.matched_dn +
                      "/" + m.result.diagnostic_message + "/" + m.response_name + "/" + m.object_name;
    for (const auto& attribute : m.attributes) {
        out += "|" + attribute.type;
        for (const auto& value : attribute.values) out += "," + std::to_string(value.size()) + ":" + value;
    }
    out += is_notice_of_disconnection(m) ? "!" : "";
    out += std::string(ldap_result_code_name(m.result.code));
    return out;
}

// Every message decoded from `bytes`, received in `chunks` (cycled; empty: as much as fits).
std::string transcript(std::string_view bytes, const std::vector<std::size_t>& chunks, std::size_t max_size) {
    LdapReaderLimits limits;
    limits.max_message_size = max_size;
    limits.read_size = 512;
    LdapReader reader(limits);
    LdapMessage message;
    std::string out;
    std::size_t at = 0;
    std::size_t turn = 0;
    while (true) {
        switch (reader.next(message)) {
            case LdapReader::Status::message:
                out += describe(message) + "\n";
                continue;
            case LdapReader::Status::error:
                fuzz::require(reader.error() != LdapDecodeError::none, "an error is named");
                return out + "error " + std::string(to_string(reader.error())) + "\n";
            case LdapReader::Status::need_more:
                break;
        }
        const auto space = reader.prepare();
        std::size_t n = chunks.empty() ? space.size() : chunks[turn++ % chunks.size()];
        n = std::min({n, space.size(), bytes.size() - at});
        if (n == 0) return out + "end, " + std::to_string(reader.pending()) + " pending\n";
        std::memcpy(space.data(), bytes.data() + at, n);
        reader.commit(n);
        at += n;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider input(data, size);
    const std::size_t max_size = input.ConsumeBool() ? 256 : std::size_t{1} << 20;
    std::vector<std::size_t> chunks;
    const std::size_t splits = input.ConsumeIntegralInRange<std::size_t>(1, 8);
    for (std::size_t i = 0; i < splits; ++i) chunks.push_back(input.ConsumeIntegralInRange<std::size_t>(1, 200));
    const std::string bytes = input.ConsumeRemainingBytesAsString();
    fuzz::require(transcript(bytes, chunks, max_size) == transcript(bytes, {}, max_size),
                  "the messages do not depend on where the bytes were split");
    return 0;
}

// TLSA records (see tlsa.hpp).
#include "probes/wire/maildns/tlsa.hpp"

#include <algorithm>

namespace tierwatch {

namespace {

// The length the matching type fixes, or 0 when any non-empty length is allowed.
std::size_t digest_length(std::uint8_t matching_type) noexcept {
    return matching_type == tlsa::sha256 ? 32 : matching_type == tlsa::sha512 ? 64 : 0;
}

std::string check_data(const TlsaRecord& record) {
    if (record.data.empty()) return "no certificate association data";
    const std::size_t expected = digest_length(record.matching_type);
    if (expected != 0 && record.data.size() != expected) {
        return "matching type " + std::to_string(record.matching_type) + " needs " +
               std::to_string(expected) + " bytes of data, not " +
               std::to_string(record.data.size());
    }
    return {};
}

}  // namespace

Parsed<TlsaRecord> parse_tlsa_rdata(std::span<const std::uint8_t> rdata) {
    Parsed<TlsaRecord> out;
    if (rdata.size() < 3) {
        out.error = "the RDATA is " + std::to_string(rdata.size()) +
                    " bytes, shorter than its three fields";
        return out;
    }
    out.value.usage = rdata[0];
    out.value.selector = rdata[1];
    out.value.matching_type = rdata[2];
    out.value.data.assign(rdata.begin() + 3, rdata.end());
    out.error = check_data(out.value);
    return out;
}

Parsed<TlsaRecord> parse_tlsa_text(std::string_view text) {
    Parsed<TlsaRecord> out;
    static constexpr const char* fields[] = {"usage", "selector", "matching type"};
    std::uint8_t* targets[] = {&out.value.usage, &out.value.selector, &out.value.matching_type};
    text = trim_wsp(text);
    for (int i = 0; i < 3; ++i) {
        std::size_t length = 0;
        unsigned value = 0;
        while (length < text.size() && text[length] >= '0' && text[length] <= '9' && length < 4) {
            value = value * 10 + static_cast<unsigned>(text[length] - '0');
            ++length;
        }
        const bool ended = length == text.size() || is_wsp(text[length]);
        if (length == 0 || length > 3 || value > 255 || !ended) {
            out.error = std::string(fields[i]) + ": " + quote(text.substr(0, text.find(' '))) +
                        " is not a number from 0 to 255";
            return out;
        }
        *targets[i] = static_cast<std::uint8_t>(value);
        text = trim_wsp(text.substr(length));
    }
    std::optional<std::vector<std::uint8_t>> data = hex_decode(text);
    if (!data) {
        out.error = "certificate association data: " + quote(text) + " is not hex";
        return out;
    }
    out.value.data = std::move(*data);
    out.error = check_data(out.value);
    return out;
}

std::vector<std::uint8_t> to_rdata(const TlsaRecord& record) {
    std::vector<std::uint8_t> out(3 + record.data.size());
    out[0] = record.usage;
    out[1] = record.selector;
    out[2] = record.matching_type;
    std::copy(record.data.begin(), record.data.end(), out.begin() + 3);
    return out;
}

std::string to_string(const TlsaRecord& record) {
    return std::to_string(record.usage) + ' ' + std::to_string(record.selector) + ' ' +
           std::to_string(record.matching_type) + ' ' + hex_encode(record.data);
}

bool dane_usable(const TlsaRecord& record) noexcept {
    return (record.usage == tlsa::dane_ta || record.usage == tlsa::dane_ee) &&
           record.selector <= tlsa::spki && record.matching_type <= tlsa::sha512;
}

}  // namespace tierwatch

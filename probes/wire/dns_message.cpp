// DNS queries and responses, byte by byte; every read is bounds-checked against the message.
#include "probes/wire/dns_message.hpp"

#include <algorithm>
#include <cstdio>

namespace tierwatch {

namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t max_name_length = 255;  // wire form, RFC 1035 §2.3.4
constexpr std::size_t max_label_length = 63;
// More pointers than a legal 255-byte name can need (one per label): a chain this long loops.
constexpr int max_pointer_hops = 128;

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view without_trailing_dot(std::string_view name) noexcept {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return name;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

std::string at_offset(std::string_view what, std::size_t offset) {
    return std::string(what) + " at offset " + std::to_string(offset);
}

// A cursor over the message that reports where a read ran out.
class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::size_t offset() const noexcept { return at_; }
    std::size_t size() const noexcept { return bytes_.size(); }
    bool has(std::size_t n) const noexcept { return n <= bytes_.size() - at_; }

    bool u8(std::uint8_t& out, std::string_view what, std::string& error) {
        if (!has(1)) return fail(what, error);
        out = bytes_[at_++];
        return true;
    }
    bool u16(std::uint16_t& out, std::string_view what, std::string& error) {
        if (!has(2)) return fail(what, error);
        out = static_cast<std::uint16_t>((bytes_[at_] << 8) | bytes_[at_ + 1]);
        at_ += 2;
        return true;
    }
    bool u32(std::uint32_t& out, std::string_view what, std::string& error) {
        if (!has(4)) return fail(what, error);
        out = (std::uint32_t{bytes_[at_]} << 24) | (std::uint32_t{bytes_[at_ + 1]} << 16) |
              (std::uint32_t{bytes_[at_ + 2]} << 8) | std::uint32_t{bytes_[at_ + 3]};
        at_ += 4;
        return true;
    }
    bool take(std::size_t n, std::vector<std::uint8_t>& out, std::string_view what, std::string& error) {
        if (!has(n)) return fail(what, error);
        out.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(at_),
                   bytes_.begin() + static_cast<std::ptrdiff_t>(at_ + n));
        at_ += n;
        return true;
    }
    void seek(std::size_t offset) noexcept { at_ = offset; }

    // A (possibly compressed) name; the cursor ends after its in-place part.
    bool name(std::string& out, std::string& error) {
        out.clear();
        std::size_t position = at_;
        std::size_t end_of_name = 0;  // where the cursor resumes: after the first pointer
        std::size_t wire_length = 0;
        int hops = 0;
        while (true) {
            if (position >= bytes_.size()) {
                error = at_offset("name runs past the end of the message", position);
                return false;
            }
            const std::uint8_t length = bytes_[position];
            if ((length & 0xc0) == 0xc0) {
                if (position + 1 >= bytes_.size()) {
                    error = at_offset("compression pointer cut short", position);
                    return false;
                }
                const std::size_t target = (std::size_t{length & 0x3fu} << 8) | bytes_[position + 1];
                // Only backwards: a pointer to itself or ahead is how a loop starts.
                if (target >= position) {
                    error = at_offset("compression pointer to offset " + std::to_string(target) +
                                          " does not point backwards",
                                      position);
                    return false;
                }
                if (++hops > max_pointer_hops) {
                    error = at_offset("too many compression pointers", position);
                    return false;
                }
                if (end_of_name == 0) end_of_name = position + 2;
                position = target;
                continue;
            }
            if ((length & 0xc0) != 0) {
                error = at_offset("label type " + std::to_string(length >> 6) + " is not supported", position);
                return false;
            }
            wire_length += length + 1u;
            if (wire_length > max_name_length) {
                error = at_offset("name longer than 255 bytes", position);
                return false;
            }
            if (length == 0) {
                at_ = end_of_name != 0 ? end_of_name : position + 1;
                return true;
            }
            if (position + 1 + length > bytes_.size()) {
                error = at_offset("label runs past the end of the message", position);
                return false;
            }
            if (!out.empty()) out += '.';
            for (std::size_t i = position + 1; i <= position + length; ++i) {
                const auto c = static_cast<char>(bytes_[i]);
                if (bytes_[i] <= 0x20 || bytes_[i] >= 0x7f || c == '.' || c == '\\') {
                    char escaped[5];
                    std::snprintf(escaped, sizeof escaped, "\\%03u", static_cast<unsigned>(bytes_[i]));
                    out += escaped;
                } else {
                    out += c;
                }
            }
            position += 1u + length;
        }
    }

  private:
    bool fail(std::string_view what, std::string& error) const {
        error = at_offset(std::string(what) + " cut short", at_);
        return false;
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t at_ = 0;
};

// The typed fields of a record whose rdata starts at `start` in the message (names in rdata may
// point anywhere before them, so they are read from the message, not from a copy).
bool decode_rdata(std::span<const std::uint8_t> bytes, std::size_t start, DnsRecord& record, std::string& error) {
    const std::size_t length = record.rdata.size();
    const auto wrong_size = [&](std::string_view what) {
        error = at_offset(std::string(to_string(static_cast<DnsType>(record.type))) + " record data of " +
                              std::to_string(length) + " bytes " + std::string(what),
                          start);
        return false;
    };
    Reader in(bytes.first(start + length));
    in.seek(start);
    const auto whole_name = [&](std::string& out) {
        if (!in.name(out, error)) return false;
        if (in.offset() != start + length) {
            error = at_offset("name does not fill its record data", start);
            return false;
        }
        return true;
    };
    switch (static_cast<DnsType>(record.type)) {
        case DnsType::a:
            if (length != 4) return wrong_size("(an A record has 4)");
            record.address = record.rdata;
            return true;
        case DnsType::aaaa:
            if (length != 16) return wrong_size("(an AAAA record has 16)");
            record.address = record.rdata;
            return true;
        case DnsType::cname:
        case DnsType::ptr:
            return whole_name(record.target);
        case DnsType::mx:
            if (!in.u16(record.preference, "MX preference", error)) return false;
            return whole_name(record.target);
        case DnsType::txt: {
            std::size_t at = 0;
            while (at < length) {
                const std::size_t n = record.rdata[at];
                if (at + 1 + n > length) {
                    error = at_offset("TXT character-string runs past its record data", start + at);
                    return false;
                }
                record.texts.emplace_back(record.rdata.begin() + static_cast<std::ptrdiff_t>(at + 1),
                                          record.rdata.begin() + static_cast<std::ptrdiff_t>(at + 1 + n));
                at += 1 + n;
            }
            if (record.texts.empty()) return wrong_size("(a TXT record needs a character-string)");
            return true;
        }
        case DnsType::tlsa:
            if (length < 3) return wrong_size("(a TLSA record has at least 3)");
            record.tlsa_usage = record.rdata[0];
            record.tlsa_selector = record.rdata[1];
            record.tlsa_matching = record.rdata[2];
            record.tlsa_data.assign(record.rdata.begin() + 3, record.rdata.end());
            return true;
        default:
            return true;
    }
}

bool read_record(Reader& in, std::span<const std::uint8_t> bytes, DnsRecord& record, std::string& error) {
    if (!in.name(record.name, error)) return false;
    std::uint16_t rdlength = 0;
    if (!in.u16(record.type, "record type", error) || !in.u16(record.rclass, "record class", error) ||
        !in.u32(record.ttl, "record TTL", error) || !in.u16(rdlength, "record data length", error)) {
        return false;
    }
    const std::size_t rdata_start = in.offset();
    if (!in.has(rdlength)) {
        error = at_offset("record data of " + std::to_string(rdlength) + " bytes runs past the end of the message",
                          rdata_start);
        return false;
    }
    if (!in.take(rdlength, record.rdata, "record data", error)) return false;
    return decode_rdata(bytes, rdata_start, record, error);
}

}  // namespace

std::string_view to_string(DnsType type) noexcept {
    switch (type) {
        case DnsType::a: return "A";
        case DnsType::cname: return "CNAME";
        case DnsType::ptr: return "PTR";
        case DnsType::mx: return "MX";
        case DnsType::txt: return "TXT";
        case DnsType::aaaa: return "AAAA";
        case DnsType::opt: return "OPT";
        case DnsType::tlsa: return "TLSA";
    }
    return "TYPE";
}

std::string dns_rcode_name(std::uint16_t rcode) {
    switch (static_cast<DnsRcode>(rcode)) {
        case DnsRcode::noerror: return "NOERROR";
        case DnsRcode::formerr: return "FORMERR";
        case DnsRcode::servfail: return "SERVFAIL";
        case DnsRcode::nxdomain: return "NXDOMAIN";
        case DnsRcode::notimp: return "NOTIMP";
        case DnsRcode::refused: return "REFUSED";
    }
    return "RCODE" + std::to_string(rcode);
}

std::vector<std::uint8_t> build_dns_query(std::uint16_t id, std::string_view name, DnsType type,
                                          const DnsQueryOptions& options, std::string& error) {
    error.clear();
    std::vector<std::uint8_t> out;
    put16(out, id);
    out.push_back(options.recursion_desired ? 0x01 : 0x00);  // QR=0, opcode 0, AA=0, TC=0, RD
    out.push_back(options.authentic_data ? 0x20 : 0x00);     // RA=0, Z=0, AD, CD=0, rcode 0
    put16(out, 1);                                           // QDCOUNT
    put16(out, 0);
    put16(out, 0);
    put16(out, options.edns ? 1 : 0);  // ARCOUNT

    name = without_trailing_dot(name);
    std::size_t wire_length = 1;
    while (!name.empty()) {
        const auto dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        if (label.empty()) {
            error = "empty label in DNS name";
            return {};
        }
        if (label.size() > max_label_length) {
            error = "DNS label \"" + std::string(label) + "\" longer than 63 bytes";
            return {};
        }
        wire_length += label.size() + 1;
        if (wire_length > max_name_length) {
            error = "DNS name longer than 255 bytes";
            return {};
        }
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
        if (name.empty()) {
            error = "empty label in DNS name";
            return {};
        }
    }
    out.push_back(0);
    put16(out, static_cast<std::uint16_t>(type));
    put16(out, 1);  // class IN
    if (options.edns) {
        out.push_back(0);  // root owner
        put16(out, static_cast<std::uint16_t>(DnsType::opt));
        put16(out, options.udp_payload);
        out.push_back(0);  // extended rcode
        out.push_back(0);  // version 0
        put16(out, options.dnssec_ok ? 0x8000 : 0);
        put16(out, 0);  // no options
    }
    return out;
}

std::string DnsRecord::text() const {
    std::string joined;
    for (const auto& part : texts) joined += part;
    return joined;
}

std::vector<const DnsRecord*> DnsMessage::answers_of(DnsType type) const {
    std::vector<const DnsRecord*> found;
    for (const auto& record : answers) {
        if (record.is(type)) found.push_back(&record);
    }
    return found;
}

DnsParseResult parse_dns_message(std::span<const std::uint8_t> bytes) {
    DnsParseResult result;
    DnsMessage& m = result.message;
    std::string& error = result.error;
    Reader in(bytes);
    if (bytes.size() < header_size) {
        error = "DNS header cut short: " + std::to_string(bytes.size()) + " of 12 bytes";
        return result;
    }
    std::uint8_t flags1 = 0;
    std::uint8_t flags2 = 0;
    std::uint16_t qdcount = 0;
    std::uint16_t ancount = 0;
    std::uint16_t nscount = 0;
    std::uint16_t arcount = 0;
    (void)in.u16(m.id, "id", error);
    (void)in.u8(flags1, "flags", error);
    (void)in.u8(flags2, "flags", error);
    (void)in.u16(qdcount, "QDCOUNT", error);
    (void)in.u16(ancount, "ANCOUNT", error);
    (void)in.u16(nscount, "NSCOUNT", error);
    (void)in.u16(arcount, "ARCOUNT", error);
    m.response = (flags1 & 0x80) != 0;
    m.opcode = static_cast<std::uint8_t>((flags1 >> 3) & 0x0f);
    m.authoritative = (flags1 & 0x04) != 0;
    m.truncated = (flags1 & 0x02) != 0;
    m.recursion_desired = (flags1 & 0x01) != 0;
    m.recursion_available = (flags2 & 0x80) != 0;
    m.authentic_data = (flags2 & 0x20) != 0;
    m.checking_disabled = (flags2 & 0x10) != 0;
    m.rcode = flags2 & 0x0f;

    for (std::uint16_t i = 0; i < qdcount; ++i) {
        std::string name;
        std::uint16_t type = 0;
        std::uint16_t rclass = 0;
        if (!in.name(name, error) || !in.u16(type, "question type", error) ||
            !in.u16(rclass, "question class", error)) {
            return result;
        }
        if (i == 0) {
            m.question_name = std::move(name);
            m.question_type = type;
        }
    }
    // Each record takes at least 11 bytes: a count the message cannot hold is refused before
    // anything is allocated for it.
    const std::size_t records = std::size_t{ancount} + nscount + arcount;
    if (records * 11 > bytes.size() - in.offset()) {
        error = at_offset(std::to_string(records) + " records announced but only " +
                              std::to_string(bytes.size() - in.offset()) + " bytes left",
                          in.offset());
        return result;
    }
    m.answers.reserve(ancount);
    for (std::uint16_t i = 0; i < ancount; ++i) {
        DnsRecord record;
        if (!read_record(in, bytes, record, error)) return result;
        m.answers.push_back(std::move(record));
    }
    for (std::uint16_t i = 0; i < nscount; ++i) {
        DnsRecord record;
        if (!read_record(in, bytes, record, error)) return result;
    }
    for (std::uint16_t i = 0; i < arcount; ++i) {
        DnsRecord record;
        const std::size_t start = in.offset();
        if (!read_record(in, bytes, record, error)) return result;
        if (record.is(DnsType::opt)) {
            if (m.has_edns) {
                error = at_offset("second OPT record", start);
                return result;
            }
            m.has_edns = true;
            // The TTL field holds the extended rcode's upper eight bits (RFC 6891 §6.1.3).
            m.rcode = static_cast<std::uint16_t>(m.rcode | ((record.ttl >> 24) << 4));
        }
    }
    m.authority_count = nscount;
    m.additional_count = arcount;
    if (in.offset() != bytes.size()) {
        error = at_offset(std::to_string(bytes.size() - in.offset()) + " bytes after the last record", in.offset());
    }
    return result;
}

std::string reverse_lookup_name(std::span<const std::uint8_t> address, std::string_view suffix) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string name;
    if (address.size() == 4) {
        for (std::size_t i = 4; i-- > 0;) name += std::to_string(address[i]) + ".";
    } else {
        for (std::size_t i = address.size(); i-- > 0;) {
            name += hex[address[i] & 0x0f];
            name += '.';
            name += hex[address[i] >> 4];
            name += '.';
        }
    }
    return name + std::string(without_trailing_dot(suffix));
}

std::string dns_name_problem(std::string_view name, std::size_t prefix_length) {
    std::string_view rest = without_trailing_dot(name);
    if (rest.empty()) return "not a DNS name";
    // Wire form: each label's length byte and bytes plus the root's zero byte, under the prefix.
    if (prefix_length + rest.size() + 2 > max_name_length) {
        return "too long to look names up under (at most " + std::to_string(max_name_length - 2 - prefix_length) +
               " characters)";
    }
    while (!rest.empty()) {
        const auto dot = rest.find('.');
        const std::string_view label = rest.substr(0, dot);
        const bool valid = !label.empty() && label.size() <= max_label_length &&
                           std::all_of(label.begin(), label.end(), [](char c) {
                               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                      c == '-' || c == '_';
                           });
        if (!valid) {
            return "invalid label \"" + std::string(label) + "\" (1 to 63 letters, digits, '-' or '_')";
        }
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    return {};
}

bool same_dns_name(std::string_view a, std::string_view b) noexcept {
    a = without_trailing_dot(a);
    b = without_trailing_dot(b);
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace tierwatch

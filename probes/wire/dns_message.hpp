// Sans-io DNS messages (RFC 1035, 3596, 4034's AD bit as RFC 6840 §5.7 asks for it, 6698's
// TLSA): the query bytes a client sends and the parse of the response it gets back, with no
// sockets, so both are tested byte by byte. The c-ares channel (probes/net/dns_client) carries them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tierwatch {

// The record types the probes ask for; any other type is parsed with its raw data only.
enum class DnsType : std::uint16_t {
    a = 1,
    cname = 5,
    ptr = 12,
    mx = 15,
    txt = 16,
    aaaa = 28,
    opt = 41,
    tlsa = 52,
};
std::string_view to_string(DnsType type) noexcept;

// RCODE values (RFC 1035 §4.1.1, RFC 6895) the probes name; others print as "RCODE<n>".
enum class DnsRcode : std::uint16_t { noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5 };
std::string dns_rcode_name(std::uint16_t rcode);

struct DnsQueryOptions {
    bool recursion_desired = true;
    // Set so that a validating resolver says whether it validated the answer (RFC 6840 §5.7):
    // with AD in the query, the answer's AD bit is meaningful without asking for the signatures.
    bool authentic_data = true;
    bool edns = true;       // an OPT record advertising udp_payload (TXT and TLSA answers grow)
    bool dnssec_ok = false;  // the OPT's DO bit: ask for RRSIGs too
    std::uint16_t udp_payload = 1232;
};

// The query for `name` (presentation form, trailing dot optional, "\." and "\DDD" escapes not
// supported: the probes build plain host names) and `type`. Returns the bytes, or an empty vector
// and a sentence in `error` for a name DNS cannot carry (an empty label, a label over 63 bytes,
// a name over 255 bytes).
std::vector<std::uint8_t> build_dns_query(std::uint16_t id, std::string_view name, DnsType type,
                                          const DnsQueryOptions& options, std::string& error);

struct DnsRecord {
    std::string name;  // presentation form without the trailing dot; bytes outside 0x21-0x7e as \DDD
    std::uint16_t type = 0;
    std::uint16_t rclass = 0;
    std::uint32_t ttl = 0;
    std::vector<std::uint8_t> rdata;  // as received (names inside it may be compressed)

    // Decoded by type:
    std::vector<std::uint8_t> address;  // A: 4 bytes, AAAA: 16 bytes, network order
    std::string target;                 // CNAME, PTR: the name; MX: the exchange
    std::uint16_t preference = 0;       // MX
    std::vector<std::string> texts;     // TXT: each character-string, in order
    std::uint8_t tlsa_usage = 0;        // TLSA: certificate usage, selector, matching type
    std::uint8_t tlsa_selector = 0;
    std::uint8_t tlsa_matching = 0;
    std::vector<std::uint8_t> tlsa_data;  // TLSA: the certificate association data

    bool is(DnsType t) const noexcept { return type == static_cast<std::uint16_t>(t); }
    // TXT: the character-strings joined without separator (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
    std::string text() const;
};

struct DnsMessage {
    std::uint16_t id = 0;
    bool response = false;
    std::uint8_t opcode = 0;
    bool authoritative = false;
    bool truncated = false;
    bool recursion_desired = false;
    bool recursion_available = false;
    bool authentic_data = false;  // AD: the resolver validated every record (RFC 4035 §3.2.3)
    bool checking_disabled = false;
    std::uint16_t rcode = 0;  // with the OPT record's extended bits when there is one
    std::string question_name;
    std::uint16_t question_type = 0;
    std::vector<DnsRecord> answers;
    std::size_t authority_count = 0;
    std::size_t additional_count = 0;  // OPT included
    bool has_edns = false;

    bool rcode_is(DnsRcode r) const noexcept { return rcode == static_cast<std::uint16_t>(r); }
    // The answers of `type` whose owner is `name` (case-insensitive, trailing dot ignored).
    std::vector<const DnsRecord*> answers_of(DnsType type) const;
};

struct DnsParseResult {
    DnsMessage message;
    std::string error;  // empty on success; else what is wrong and at which byte offset
    bool ok() const noexcept { return error.empty(); }
};

// Parses a whole response. Every malformed input (truncation, a compression pointer that loops
// or points forward, a name over 255 bytes, rdata that overruns its record or does not fit its
// type, bytes after the last section) is an error naming the offset.
DnsParseResult parse_dns_message(std::span<const std::uint8_t> bytes);

// The name under `suffix` that looks an address up in reverse: an IPv4 address's octets reversed
// ("2.0.0.127.<suffix>"), an IPv6 address's 32 nibbles reversed. `address` holds 4 or 16 bytes;
// suffix is "in-addr.arpa", "ip6.arpa" or a DNSBL zone.
std::string reverse_lookup_name(std::span<const std::uint8_t> address, std::string_view suffix);

// Why `name` (a trailing dot allowed) cannot be a host or zone name with `prefix_length` more
// bytes of labels put in front of it (a DNSBL zone under a reversed address); empty when it can.
// Labels are letters, digits, '-' and '_' (as in _dmarc), 1 to 63 of them.
std::string dns_name_problem(std::string_view name, std::size_t prefix_length = 0);

// Case-insensitive DNS name equality, a trailing dot ignored on either side.
bool same_dns_name(std::string_view a, std::string_view b) noexcept;

}  // namespace tierwatch

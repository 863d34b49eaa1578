// LDAPv3 BER writing, bounded incremental reading, result codes and contextCSN (ldap_codec.hpp).
#include "probes/wire/ldap_codec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <iterator>
#include <limits>

namespace tierwatch {

namespace detail {

namespace {

// Big-endian octets of `length`, minimal; the count is returned and the octets fill `octets`.
std::size_t length_octets(std::size_t length, std::array<char, sizeof(std::size_t)>& octets) {
    std::size_t count = 0;
    for (std::size_t rest = length; rest != 0; rest >>= 8) ++count;
    for (std::size_t i = 0; i < count; ++i) {
        octets[i] = static_cast<char>((length >> (8 * (count - 1 - i))) & 0xff);
    }
    return count;
}

}  // namespace

void BerWriter::primitive(std::uint8_t tag, std::string_view content) {
    const auto marker = open(tag);
    out_.append(content);
    close(marker);
}

void BerWriter::integer(std::uint8_t tag, std::int64_t value) {
    // Minimal two's complement: drop a leading octet while the next one still carries the sign.
    std::array<char, 8> octets{};
    for (std::size_t i = 0; i < octets.size(); ++i) {
        octets[i] = static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * (7 - i))) & 0xff);
    }
    std::size_t skip = 0;
    while (skip < octets.size() - 1) {
        const auto lead = static_cast<unsigned char>(octets[skip]);
        const bool next_negative = (static_cast<unsigned char>(octets[skip + 1]) & 0x80) != 0;
        if (!((lead == 0x00 && !next_negative) || (lead == 0xff && next_negative))) break;
        ++skip;
    }
    primitive(tag, std::string_view(octets.data() + skip, octets.size() - skip));
}

void BerWriter::boolean(bool value) {
    // RFC 4511 §5.1: TRUE is encoded as 0xFF.
    primitive(ber::boolean, value ? std::string_view("\xff", 1) : std::string_view("\0", 1));
}

void BerWriter::raw(std::string_view encoded) {
    out_.append(encoded);
}

std::size_t BerWriter::open(std::uint8_t tag) {
    out_.push_back(static_cast<char>(tag));
    out_.push_back('\0');
    return out_.size() - 1;
}

void BerWriter::close(std::size_t marker) {
    const std::size_t length = out_.size() - marker - 1;
    if (length < 0x80) {
        out_[marker] = static_cast<char>(length);
        return;
    }
    std::array<char, sizeof(std::size_t)> octets{};
    const auto count = length_octets(length, octets);
    out_[marker] = static_cast<char>(0x80 | count);
    out_.insert(marker + 1, octets.data(), count);
}

}  // namespace detail

// ---- requests ------------------------------------------------------------------------------

namespace {

using detail::BerWriter;
namespace ber = detail::ber;

constexpr std::uint8_t app_constructed(std::uint8_t number) {
    return ber::application | ber::constructed | number;
}

constexpr std::uint8_t bind_request_tag = app_constructed(0);
constexpr std::uint8_t bind_response_tag = app_constructed(1);
constexpr std::uint8_t unbind_request_tag = ber::application | 2;  // primitive NULL
constexpr std::uint8_t search_request_tag = app_constructed(3);
constexpr std::uint8_t search_entry_tag = app_constructed(4);
constexpr std::uint8_t search_done_tag = app_constructed(5);
constexpr std::uint8_t search_reference_tag = app_constructed(19);
constexpr std::uint8_t extended_request_tag = app_constructed(23);
constexpr std::uint8_t extended_response_tag = app_constructed(24);
constexpr std::uint8_t simple_auth_tag = ber::context | 0;     // [0] OCTET STRING
constexpr std::uint8_t request_name_tag = ber::context | 0;    // [0] LDAPOID
constexpr std::uint8_t response_name_tag = ber::context | 10;  // [10] LDAPOID
constexpr std::uint8_t present_filter_tag = ber::context | 7;  // [7] AttributeDescription

// Wraps what `body` writes in LDAPMessage { messageID, protocolOp }.
template <typename Body>
void append_message(std::string& out, std::int32_t message_id, Body&& body) {
    BerWriter writer(out);
    const auto message = writer.open(ber::sequence);
    writer.integer(ber::integer, message_id);
    body(writer);
    writer.close(message);
}

}  // namespace

void append_bind_request(std::string& out, std::int32_t message_id, std::string_view dn,
                         std::string_view password) {
    append_message(out, message_id, [&](BerWriter& writer) {
        const auto op = writer.open(bind_request_tag);
        writer.integer(ber::integer, 3);
        writer.primitive(ber::octet_string, dn);
        writer.primitive(simple_auth_tag, password);
        writer.close(op);
    });
}

void append_start_tls_request(std::string& out, std::int32_t message_id) {
    append_message(out, message_id, [&](BerWriter& writer) {
        const auto op = writer.open(extended_request_tag);
        writer.primitive(request_name_tag, ldap_start_tls_oid);
        writer.close(op);
    });
}

void append_search_request(std::string& out, std::int32_t message_id, const LdapSearch& search) {
    append_message(out, message_id, [&](BerWriter& writer) {
        const auto op = writer.open(search_request_tag);
        writer.primitive(ber::octet_string, search.base_dn);
        writer.integer(ber::enumerated, static_cast<std::int64_t>(search.scope));
        writer.integer(ber::enumerated, 0);  // neverDerefAliases
        writer.integer(ber::integer, search.size_limit);
        writer.integer(ber::integer, search.time_limit);
        writer.boolean(false);  // typesOnly
        if (search.filter_ber.empty()) {
            writer.primitive(present_filter_tag, "objectClass");
        } else {
            writer.raw(search.filter_ber);
        }
        const auto attributes = writer.open(ber::sequence);
        for (const auto& attribute : search.attributes) {
            writer.primitive(ber::octet_string, attribute);
        }
        writer.close(attributes);
        writer.close(op);
    });
}

void append_unbind_request(std::string& out, std::int32_t message_id) {
    append_message(out, message_id,
                   [](BerWriter& writer) { writer.primitive(unbind_request_tag, {}); });
}

// ---- decoding ------------------------------------------------------------------------------

namespace {

struct Header {
    std::uint8_t tag = 0;
    std::size_t header_size = 0;
    std::size_t length = 0;
};

enum class HeaderStatus { ok, need_more, error };

// Parses one tag and definite length from the front of `bytes`.
HeaderStatus parse_header(std::string_view bytes, Header& header, LdapDecodeError& error) {
    if (bytes.size() < 2) return HeaderStatus::need_more;
    header.tag = static_cast<std::uint8_t>(bytes[0]);
    if ((header.tag & 0x1f) == 0x1f) {
        // LDAP never uses high tag numbers; a multi-octet tag means this is not LDAP.
        error = LdapDecodeError::malformed;
        return HeaderStatus::error;
    }
    const auto first = static_cast<std::uint8_t>(bytes[1]);
    if (first < 0x80) {
        header.header_size = 2;
        header.length = first;
        return HeaderStatus::ok;
    }
    if (first == 0x80) {
        error = LdapDecodeError::indefinite_length;
        return HeaderStatus::error;
    }
    const std::size_t count = first & 0x7f;
    if (count > 4) {
        error = LdapDecodeError::length_too_long;
        return HeaderStatus::error;
    }
    if (bytes.size() < 2 + count) return HeaderStatus::need_more;
    std::size_t length = 0;
    for (std::size_t i = 0; i < count; ++i) {
        length = (length << 8) | static_cast<std::uint8_t>(bytes[2 + i]);
    }
    header.header_size = 2 + count;
    header.length = length;
    return HeaderStatus::ok;
}

struct Tlv {
    std::uint8_t tag = 0;
    std::string_view content;
};

// Walks the elements inside one complete, already bounded element. Cursors for nested elements
// share one error slot so the first failure anywhere is the one reported.
class BerCursor {
public:
    BerCursor(std::string_view bytes, LdapDecodeError& error) noexcept
        : rest_(bytes), error_(error) {}

    bool at_end() const noexcept { return rest_.empty(); }
    BerCursor child(std::string_view content) const noexcept { return {content, error_}; }

    bool read(Tlv& tlv) {
        Header header;
        switch (parse_header(rest_, header, error_)) {
            case HeaderStatus::need_more:
                return fail();
            case HeaderStatus::error:
                return false;
            case HeaderStatus::ok:
                break;
        }
        if (header.length > rest_.size() - header.header_size) return fail();  // overruns parent
        tlv.tag = header.tag;
        tlv.content = rest_.substr(header.header_size, header.length);
        rest_.remove_prefix(header.header_size + header.length);
        return true;
    }

    // Reads the next element and insists on its tag.
    bool expect(std::uint8_t tag, std::string_view& content) {
        Tlv tlv;
        if (!read(tlv)) return false;
        if (tlv.tag != tag) return fail();
        content = tlv.content;
        return true;
    }

    // A non-negative INTEGER or ENUMERATED that fits in an int32 (messageID, resultCode).
    bool expect_int(std::uint8_t tag, std::int32_t& value) {
        std::string_view content;
        if (!expect(tag, content)) return false;
        if (content.empty() || content.size() > 5 || (content[0] & 0x80) != 0) return fail();
        std::int64_t result = 0;
        for (const char c : content) result = (result << 8) | static_cast<std::uint8_t>(c);
        if (result > std::numeric_limits<std::int32_t>::max()) return fail();
        value = static_cast<std::int32_t>(result);
        return true;
    }

    // Only the primitive OCTET STRING form is legal in LDAP (RFC 4511 §5.1).
    bool expect_string(std::string& value) {
        std::string_view content;
        if (!expect(ber::octet_string, content)) return false;
        value.assign(content);
        return true;
    }

private:
    bool fail() noexcept {
        error_ = LdapDecodeError::malformed;
        return false;
    }

    std::string_view rest_;
    LdapDecodeError& error_;
};

// Reuses the element past `used` if the vector already has one, keeping its capacity.
template <typename T>
T& next_slot(std::vector<T>& items, std::size_t& used) {
    if (used == items.size()) items.emplace_back();
    return items[used++];
}

// The leading LDAPResult fields; a referral and later fields are skipped by the caller.
bool decode_result(BerCursor& cursor, LdapResult& result) {
    return cursor.expect_int(ber::enumerated, result.code) &&
           cursor.expect_string(result.matched_dn) &&
           cursor.expect_string(result.diagnostic_message);
}

bool skip_rest(BerCursor& cursor) {
    Tlv tlv;
    while (!cursor.at_end()) {
        if (!cursor.read(tlv)) return false;
    }
    return true;
}

bool decode_extended_tail(BerCursor& cursor, LdapMessage& out) {
    Tlv tlv;
    while (!cursor.at_end()) {
        if (!cursor.read(tlv)) return false;
        if (tlv.tag == response_name_tag) out.response_name.assign(tlv.content);
    }
    return true;
}

bool decode_attribute(BerCursor& cursor, LdapAttribute& attribute) {
    std::string_view values;
    if (!cursor.expect_string(attribute.type) || !cursor.expect(ber::set, values)) return false;
    BerCursor items = cursor.child(values);
    std::size_t used = 0;
    while (!items.at_end()) {
        if (!items.expect_string(next_slot(attribute.values, used))) return false;
    }
    attribute.values.resize(used);
    return true;
}

bool decode_entry(BerCursor& cursor, LdapMessage& out) {
    std::string_view attributes;
    if (!cursor.expect_string(out.object_name) || !cursor.expect(ber::sequence, attributes)) {
        return false;
    }
    BerCursor list = cursor.child(attributes);
    std::size_t used = 0;
    while (!list.at_end()) {
        std::string_view partial;
        if (!list.expect(ber::sequence, partial)) return false;
        BerCursor fields = list.child(partial);
        if (!decode_attribute(fields, next_slot(out.attributes, used))) return false;
    }
    out.attributes.resize(used);
    return true;
}

// Decodes the content of one LDAPMessage SEQUENCE.
bool decode_message(BerCursor& cursor, LdapMessage& out) {
    // Attributes are left in place so an entry following an entry reuses their storage.
    out.result = {};
    out.response_name.clear();
    out.object_name.clear();
    Tlv op;
    if (!cursor.expect_int(ber::integer, out.message_id) || !cursor.read(op)) return false;
    out.tag = op.tag;
    BerCursor body = cursor.child(op.content);
    bool ok = true;
    switch (op.tag) {
        case bind_response_tag:
            out.op = LdapOp::bind_response;
            ok = decode_result(body, out.result) && skip_rest(body);
            break;
        case search_done_tag:
            out.op = LdapOp::search_result_done;
            ok = decode_result(body, out.result) && skip_rest(body);
            break;
        case extended_response_tag:
            out.op = LdapOp::extended_response;
            ok = decode_result(body, out.result) && decode_extended_tail(body, out);
            break;
        case search_entry_tag:
            out.op = LdapOp::search_result_entry;
            ok = decode_entry(body, out);
            break;
        case search_reference_tag:
            out.op = LdapOp::search_result_reference;
            break;
        default:
            out.op = LdapOp::other;
            break;
    }
    if (out.op != LdapOp::search_result_entry) out.attributes.clear();
    // Whatever follows the operation (controls) is skipped, but it must still be framed.
    return ok && skip_rest(cursor);
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
    const auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

const LdapAttribute* find_attribute(const LdapMessage& message, std::string_view type) noexcept {
    for (const auto& attribute : message.attributes) {
        if (equal_ignoring_case(attribute.type, type)) return &attribute;
    }
    return nullptr;
}

bool is_notice_of_disconnection(const LdapMessage& message) noexcept {
    return message.message_id == 0 && message.op == LdapOp::extended_response &&
           message.response_name == ldap_notice_of_disconnection_oid;
}

std::string_view to_string(LdapDecodeError error) noexcept {
    switch (error) {
        case LdapDecodeError::none:
            return "none";
        case LdapDecodeError::not_ldap_message:
            return "not an LDAP message";
        case LdapDecodeError::indefinite_length:
            return "indefinite length";
        case LdapDecodeError::length_too_long:
            return "length of more than 4 octets";
        case LdapDecodeError::message_too_large:
            return "message over the size limit";
        case LdapDecodeError::malformed:
            return "malformed message";
    }
    return "unknown";
}

// ---- reader --------------------------------------------------------------------------------

LdapReader::LdapReader(LdapReaderLimits limits) : limits_(limits) {}

std::span<char> LdapReader::prepare() {
    if (begin_ > 0) {
        // Compact so the buffer only ever holds the message being assembled and what follows.
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (buffer_.size() < end_ + limits_.read_size) buffer_.resize(end_ + limits_.read_size);
    return {buffer_.data() + end_, limits_.read_size};
}

void LdapReader::commit(std::size_t received) {
    end_ = std::min(end_ + received, buffer_.size());
}

void LdapReader::feed(std::string_view bytes) {
    while (!bytes.empty()) {
        const auto space = prepare();
        const auto n = std::min(space.size(), bytes.size());
        std::memcpy(space.data(), bytes.data(), n);
        commit(n);
        bytes.remove_prefix(n);
    }
}

void LdapReader::clear() noexcept {
    begin_ = end_ = 0;
    error_ = LdapDecodeError::none;
}

LdapReader::Status LdapReader::fail(LdapDecodeError error) noexcept {
    error_ = error;
    return Status::error;
}

LdapReader::Status LdapReader::next(LdapMessage& out) {
    if (error_ != LdapDecodeError::none) return Status::error;
    const std::string_view available(buffer_.data() + begin_, end_ - begin_);
    if (available.empty()) return Status::need_more;
    // Judge the first octet at once, so garbage fails without waiting for more of it.
    if (static_cast<std::uint8_t>(available[0]) != ber::sequence) {
        return fail(LdapDecodeError::not_ldap_message);
    }
    Header header;
    LdapDecodeError error = LdapDecodeError::none;
    switch (parse_header(available, header, error)) {
        case HeaderStatus::need_more:
            return Status::need_more;
        case HeaderStatus::error:
            return fail(error);
        case HeaderStatus::ok:
            break;
    }
    if (header.length > limits_.max_message_size ||
        header.header_size + header.length > limits_.max_message_size) {
        return fail(LdapDecodeError::message_too_large);
    }
    const std::size_t total = header.header_size + header.length;
    if (available.size() < total) return Status::need_more;
    BerCursor cursor(available.substr(header.header_size, header.length), error);
    if (!decode_message(cursor, out)) return fail(error);
    begin_ += total;
    if (begin_ == end_) begin_ = end_ = 0;
    return Status::message;
}

// ---- result codes --------------------------------------------------------------------------

namespace {

struct ResultCodeName {
    int code;
    std::string_view name;
};

// Sorted by code for the binary search below.
constexpr ResultCodeName result_code_names[] = {
    {0, "success"},
    {1, "operationsError"},
    {2, "protocolError"},
    {3, "timeLimitExceeded"},
    {4, "sizeLimitExceeded"},
    {5, "compareFalse"},
    {6, "compareTrue"},
    {7, "authMethodNotSupported"},
    {8, "strongerAuthRequired"},
    {10, "referral"},
    {11, "adminLimitExceeded"},
    {12, "unavailableCriticalExtension"},
    {13, "confidentialityRequired"},
    {14, "saslBindInProgress"},
    {16, "noSuchAttribute"},
    {17, "undefinedAttributeType"},
    {18, "inappropriateMatching"},
    {19, "constraintViolation"},
    {20, "attributeOrValueExists"},
    {21, "invalidAttributeSyntax"},
    {32, "noSuchObject"},
    {33, "aliasProblem"},
    {34, "invalidDNSyntax"},
    {36, "aliasDereferencingProblem"},
    {48, "inappropriateAuthentication"},
    {49, "invalidCredentials"},
    {50, "insufficientAccessRights"},
    {51, "busy"},
    {52, "unavailable"},
    {53, "unwillingToPerform"},
    {54, "loopDetect"},
    {64, "namingViolation"},
    {65, "objectClassViolation"},
    {66, "notAllowedOnNonLeaf"},
    {67, "notAllowedOnRDN"},
    {68, "entryAlreadyExists"},
    {69, "objectClassModsProhibited"},
    {71, "affectsMultipleDSAs"},
    {80, "other"},
    // Later RFCs: cancel (3909), assertion (4528), proxied authorization (4370), sync (4533).
    {118, "canceled"},
    {119, "noSuchOperation"},
    {120, "tooLate"},
    {121, "cannotCancel"},
    {122, "assertionFailed"},
    {123, "authorizationDenied"},
    {4096, "e-syncRefreshRequired"},
};
static_assert(std::is_sorted(std::begin(result_code_names), std::end(result_code_names),
                             [](const ResultCodeName& a, const ResultCodeName& b) {
                                 return a.code < b.code;
                             }));

}  // namespace

std::string_view ldap_result_code_name(int code) noexcept {
    const auto* found = std::lower_bound(
        std::begin(result_code_names), std::end(result_code_names), code,
        [](const ResultCodeName& entry, int wanted) { return entry.code < wanted; });
    if (found == std::end(result_code_names) || found->code != code) return "unknown";
    return found->name;
}

LdapFailure classify_ldap_result(int code) noexcept {
    constexpr int success = 0;
    constexpr int invalid_credentials = 49;
    if (code == success) return LdapFailure::none;
    return code == invalid_credentials ? LdapFailure::auth : LdapFailure::protocol;
}

// ---- contextCSN ----------------------------------------------------------------------------

namespace {

// Consumes exactly `count` decimal digits.
bool take_decimal(std::string_view& text, std::size_t count, unsigned& value) noexcept {
    if (text.size() < count) return false;
    value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + static_cast<unsigned>(text[i] - '0');
    }
    text.remove_prefix(count);
    return true;
}

// Consumes '#' and 1..max_digits hex digits.
bool take_hex_field(std::string_view& text, std::size_t max_digits, std::uint32_t& value) noexcept {
    if (text.empty() || text[0] != '#') return false;
    text.remove_prefix(1);
    std::size_t digits = 0;
    value = 0;
    while (digits < text.size() && std::isxdigit(static_cast<unsigned char>(text[digits]))) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[digits])));
        value = value * 16 + static_cast<std::uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        if (++digits > max_digits) return false;
    }
    text.remove_prefix(digits);
    return digits > 0;
}

}  // namespace

std::optional<ContextCsn> parse_context_csn(std::string_view text) noexcept {
    unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!take_decimal(text, 4, year) || !take_decimal(text, 2, month) ||
        !take_decimal(text, 2, day) || !take_decimal(text, 2, hour) ||
        !take_decimal(text, 2, minute) || !take_decimal(text, 2, second)) {
        return std::nullopt;
    }
    // OpenLDAP 2.3+ writes six fraction digits; older servers wrote none.
    unsigned micros = 0;
    if (!text.empty() && text[0] == '.') {
        text.remove_prefix(1);
        if (!take_decimal(text, 6, micros)) return std::nullopt;
    }
    if (text.empty() || text[0] != 'Z') return std::nullopt;
    text.remove_prefix(1);

    ContextCsn csn;
    if (!take_hex_field(text, 6, csn.count) || !take_hex_field(text, 3, csn.sid) ||
        !take_hex_field(text, 6, csn.mod) || !text.empty()) {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year{static_cast<int>(year)},
                                           std::chrono::month{month}, std::chrono::day{day}};
    if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
    csn.time = std::chrono::sys_days{date} + std::chrono::hours{hour} +
               std::chrono::minutes{minute} + std::chrono::seconds{second} +
               std::chrono::microseconds{micros};
    return csn;
}

}  // namespace tierwatch

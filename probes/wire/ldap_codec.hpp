// Sans-io LDAPv3 (RFC 4511) codec: BER request writers, an incremental bounded response reader,
// result-code names and the OpenLDAP contextCSN parser, with no sockets so it is tested bytewise.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tierwatch {

// ---- requests ------------------------------------------------------------------------------

enum class LdapScope : std::uint8_t { base = 0, one = 1, sub = 2 };

inline constexpr std::string_view ldap_start_tls_oid = "1.3.6.1.4.1.1466.20037";
// Unsolicited notification a server sends (messageID 0) just before it drops the connection.
inline constexpr std::string_view ldap_notice_of_disconnection_oid = "1.3.6.1.4.1.1466.20036";

struct LdapSearch {
    std::string_view base_dn;
    LdapScope scope = LdapScope::base;
    std::int32_t size_limit = 0;  // 0: no client-side limit
    std::int32_t time_limit = 0;  // seconds; 0: no client-side limit
    // A compiled Filter (compile_ldap_filter); empty means (objectClass=*).
    std::string_view filter_ber;
    // Attributes to return; empty asks for all user attributes.
    std::span<const std::string> attributes;
};

// Each appends one complete LDAPMessage to `out`, so a per-target buffer can be reused. The bind
// PDU carries the password in clear: clear the buffer once it has been written.
void append_bind_request(std::string& out, std::int32_t message_id, std::string_view dn,
                         std::string_view password);
void append_start_tls_request(std::string& out, std::int32_t message_id);
void append_search_request(std::string& out, std::int32_t message_id, const LdapSearch& search);
void append_unbind_request(std::string& out, std::int32_t message_id);

// ---- responses -----------------------------------------------------------------------------

enum class LdapOp : std::uint8_t {
    bind_response,
    search_result_entry,
    search_result_done,
    search_result_reference,  // continuation reference: content skipped, caller counts them
    extended_response,
    other,  // any other protocolOp: reported by its tag, content skipped
};

struct LdapResult {
    int code = 0;
    std::string matched_dn;
    std::string diagnostic_message;
};

struct LdapAttribute {
    std::string type;
    std::vector<std::string> values;
};

struct LdapMessage {
    std::int32_t message_id = 0;
    LdapOp op = LdapOp::other;
    std::uint8_t tag = 0;  // the raw protocolOp tag, for reporting an unexpected one
    // bind_response, search_result_done, extended_response:
    LdapResult result;
    std::string response_name;  // extended_response only; empty when absent
    // search_result_entry:
    std::string object_name;
    std::vector<LdapAttribute> attributes;
};

// Attribute types compare case-insensitively (RFC 4512 §2.5); nullptr when absent.
const LdapAttribute* find_attribute(const LdapMessage& message, std::string_view type) noexcept;
bool is_notice_of_disconnection(const LdapMessage& message) noexcept;

enum class LdapDecodeError : std::uint8_t {
    none,
    not_ldap_message,   // the stream does not start with a SEQUENCE: garbage or another protocol
    indefinite_length,  // forbidden by RFC 4511 §5.1
    length_too_long,    // more than four length octets
    message_too_large,  // the PDU declares more than LdapReaderLimits::max_message_size
    malformed,          // a required element is missing, mistagged or overruns its parent
};
std::string_view to_string(LdapDecodeError error) noexcept;

struct LdapReaderLimits {
    // Largest whole LDAPMessage (header included) accepted; checked on the header, before the
    // body is buffered, so a hostile length costs nothing.
    std::size_t max_message_size = std::size_t{1} << 20;
    // Size of the span prepare() offers per receive.
    std::size_t read_size = 16 * 1024;
};

// Splits a byte stream into LDAPMessages and decodes them. The decoder follows the fixed RFC 4511
// schema (at most five levels deep) and skips everything else (controls, referrals, unknown
// operations) by its length without descending, so nesting sent by a server cannot make it
// recurse; the size limit bounds memory. Errors are sticky: framing is lost after one.
class LdapReader {
public:
    enum class Status { message, need_more, error };

    explicit LdapReader(LdapReaderLimits limits = {});

    // Zero-copy receive: write into prepare(), then commit() what arrived. Call next() until it
    // stops returning `message` before preparing again, which keeps the buffer within
    // max_message_size + read_size.
    std::span<char> prepare();
    void commit(std::size_t received);
    // Copying alternative for bytes that are already in memory.
    void feed(std::string_view bytes);

    // Decodes the next complete message into `out`, reusing its storage.
    Status next(LdapMessage& out);
    LdapDecodeError error() const noexcept { return error_; }
    // Bytes received but not yet decoded (must be empty before a StartTLS upgrade).
    std::size_t pending() const noexcept { return end_ - begin_; }
    void clear() noexcept;

private:
    Status fail(LdapDecodeError error) noexcept;

    LdapReaderLimits limits_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;  // first byte not yet decoded
    std::size_t end_ = 0;    // one past the last received byte
    LdapDecodeError error_ = LdapDecodeError::none;
};

// ---- result codes --------------------------------------------------------------------------

// RFC 4511 §4.1.9 name ("invalidCredentials"), or "unknown" for codes it does not list.
std::string_view ldap_result_code_name(int code) noexcept;

enum class LdapFailure : std::uint8_t { none, auth, protocol };
// 0 → none, 49 invalidCredentials → auth, anything else → protocol.
LdapFailure classify_ldap_result(int code) noexcept;

// ---- contextCSN ----------------------------------------------------------------------------

// An OpenLDAP change sequence number, "20261122234501.123456Z#000000#001#000000".
struct ContextCsn {
    std::chrono::sys_time<std::chrono::microseconds> time;
    std::uint32_t count = 0;
    std::uint32_t sid = 0;  // server ID: a multi-master node's own CSNs carry its SID
    std::uint32_t mod = 0;
};
// nullopt for anything that is not a well-formed CSN with a valid calendar time.
std::optional<ContextCsn> parse_context_csn(std::string_view text) noexcept;

// ---- BER building blocks shared with the filter compiler -----------------------------------

namespace detail {

namespace ber {
inline constexpr std::uint8_t integer = 0x02;
inline constexpr std::uint8_t octet_string = 0x04;
inline constexpr std::uint8_t enumerated = 0x0a;
inline constexpr std::uint8_t boolean = 0x01;
inline constexpr std::uint8_t sequence = 0x30;
inline constexpr std::uint8_t set = 0x31;
inline constexpr std::uint8_t constructed = 0x20;
inline constexpr std::uint8_t application = 0x40;
inline constexpr std::uint8_t context = 0x80;
}  // namespace ber

// Writes definite-length BER into a string. A constructed element reserves one length octet and
// widens it on close() when the content turns out to be 128 bytes or more.
class BerWriter {
public:
    explicit BerWriter(std::string& out) noexcept : out_(out) {}

    void primitive(std::uint8_t tag, std::string_view content);
    void integer(std::uint8_t tag, std::int64_t value);
    void boolean(bool value);
    // Appends an element that is already encoded (a compiled filter).
    void raw(std::string_view encoded);
    // Returns the marker to pass to close().
    std::size_t open(std::uint8_t tag);
    void close(std::size_t marker);

private:
    std::string& out_;
};

}  // namespace detail

}  // namespace tierwatch

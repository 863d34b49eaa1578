// Recursive-descent RFC 4515 filter compiler writing BER as it parses (see ldap_filter.hpp).
#include "probes/wire/ldap_filter.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "probes/wire/ascii.hpp"
#include "probes/wire/ldap_codec.hpp"

namespace tierwatch {

namespace detail {

namespace {

namespace filter_tag {
inline constexpr std::uint8_t and_ = 0xa0;
inline constexpr std::uint8_t or_ = 0xa1;
inline constexpr std::uint8_t not_ = 0xa2;
inline constexpr std::uint8_t equality = 0xa3;
inline constexpr std::uint8_t substrings = 0xa4;
inline constexpr std::uint8_t greater_or_equal = 0xa5;
inline constexpr std::uint8_t less_or_equal = 0xa6;
inline constexpr std::uint8_t present = 0x87;
inline constexpr std::uint8_t approx = 0xa8;
inline constexpr std::uint8_t extensible = 0xa9;
// Inside SubstringFilter and MatchingRuleAssertion.
inline constexpr std::uint8_t initial = 0x80;
inline constexpr std::uint8_t any = 0x81;
inline constexpr std::uint8_t final_ = 0x82;
inline constexpr std::uint8_t matching_rule = 0x81;
inline constexpr std::uint8_t rule_type = 0x82;
inline constexpr std::uint8_t match_value = 0x83;
inline constexpr std::uint8_t dn_attributes = 0x84;
}  // namespace filter_tag

bool is_keychar(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '-';
}

int hex_value(char c) noexcept {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Offset of the first character that breaks RFC 4512 `oid` (descr or numericoid), or npos.
std::size_t invalid_oid_at(std::string_view oid) noexcept {
    if (oid.empty()) return 0;
    if (is_alpha(oid[0])) {
        for (std::size_t i = 1; i < oid.size(); ++i) {
            if (!is_keychar(oid[i])) return i;
        }
        return std::string_view::npos;
    }
    // numericoid = number 1*( DOT number ), numbers without leading zeros.
    std::size_t components = 0;
    std::size_t i = 0;
    while (true) {
        const std::size_t start = i;
        while (i < oid.size() && is_digit(oid[i])) ++i;
        if (i == start || (oid[start] == '0' && i - start > 1)) return start;
        ++components;
        if (i == oid.size()) return components >= 2 ? std::string_view::npos : i;
        if (oid[i] != '.') return i;
        ++i;
    }
}

// Control and non-ASCII bytes are spelled \xNN so the message stays one readable line.
std::string invalid_character(char c, std::string_view where) {
    std::string message = "invalid character '";
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) {
        static constexpr char digits[] = "0123456789abcdef";
        message += "\\x";
        message += digits[byte >> 4];
        message += digits[byte & 0xf];
    } else {
        message += c;
    }
    message += "' in ";
    message += where;
    return message;
}

// The pieces of an assertion value between unescaped '*', already unescaped.
struct Value {
    std::vector<std::string> pieces;
    std::vector<std::size_t> star_offsets;
};

class FilterCompiler {
public:
    FilterCompiler(std::string_view text, std::size_t max_depth, std::string& out)
        : text_(text), max_depth_(max_depth), writer_(out) {}

    bool compile() {
        if (text_.empty()) return fail(0, "empty filter");
        if (text_[0] != '(') {
            if (!item()) return false;
            return at_end() || fail(pos_, "unexpected ')' in a filter without outer parentheses");
        }
        if (!filter(1)) return false;
        return at_end() || fail(pos_, "unexpected text after the filter");
    }

    LdapFilterError take_error() { return std::move(error_); }

private:
    bool at_end() const noexcept { return pos_ == text_.size(); }
    char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }

    bool fail(std::size_t offset, std::string message) {
        error_ = {offset, std::move(message)};
        return false;
    }

    bool expect_close() {
        if (at_end()) return fail(pos_, "missing ')'");
        if (peek() != ')') return fail(pos_, "expected ')'");
        ++pos_;
        return true;
    }

    // filter = "(" filtercomp ")"; `depth` counts parenthesised levels, the outermost being 1.
    bool filter(std::size_t depth) {
        if (depth > max_depth_) {
            return fail(pos_,
                        "filter nested deeper than " + std::to_string(max_depth_) + " levels");
        }
        if (peek() != '(') return fail(pos_, at_end() ? "missing '('" : "expected '('");
        ++pos_;
        switch (peek()) {
            case '&':
                if (!list(filter_tag::and_, depth)) return false;
                break;
            case '|':
                if (!list(filter_tag::or_, depth)) return false;
                break;
            case '!': {
                ++pos_;
                const auto marker = writer_.open(filter_tag::not_);
                if (peek() != '(')
                    return fail(pos_, "'!' must be followed by a filter in parentheses");
                if (!filter(depth + 1)) return false;
                if (peek() == '(') return fail(pos_, "'!' takes exactly one filter");
                writer_.close(marker);
                break;
            }
            default:
                if (!item()) return false;
                break;
        }
        return expect_close();
    }

    // and / or = ("&" / "|") *filter: empty lists are RFC 4526's absolute true and false, which
    // slapd and OpenLDAP's own filter encoder accept.
    bool list(std::uint8_t tag, std::size_t depth) {
        const char op = peek();
        ++pos_;
        const auto marker = writer_.open(tag);
        if (peek() != '(' && peek() != ')') {
            return fail(pos_, std::string("'") + op + "' must be followed by filters or ')'");
        }
        while (peek() == '(') {
            if (!filter(depth + 1)) return false;
        }
        writer_.close(marker);
        return true;
    }

    // item = simple / present / substring / extensible
    bool item() {
        const std::size_t start = pos_;
        while (!at_end() && (is_keychar(peek()) || peek() == '.' || peek() == ';')) ++pos_;
        const std::string_view attribute = text_.substr(start, pos_ - start);
        if (peek() == ':') return extensible(attribute, start);
        if (attribute.empty()) {
            const bool operator_next = at_end() || peek() == ')' || peek() == '=' ||
                                       peek() == '~' || peek() == '<' || peek() == '>';
            if (operator_next) return fail(pos_, "missing attribute description");
            return fail(pos_, invalid_character(peek(), "attribute description"));
        }
        if (!check_description(attribute, start)) return false;

        std::uint8_t tag = filter_tag::equality;
        switch (peek()) {
            case '=':
                break;
            case '~':
                tag = filter_tag::approx;
                break;
            case '>':
                tag = filter_tag::greater_or_equal;
                break;
            case '<':
                tag = filter_tag::less_or_equal;
                break;
            default:
                if (at_end() || peek() == ')') {
                    return fail(pos_, "expected '=', '~=', '>=' or '<=' after the attribute");
                }
                return fail(pos_, invalid_character(peek(), "attribute description"));
        }
        if (tag != filter_tag::equality) {
            ++pos_;
            if (peek() != '=')
                return fail(pos_, std::string("expected '=' after '") + text_[pos_ - 1] + "'");
        }
        ++pos_;

        Value value;
        if (!assertion_value(value)) return false;
        if (value.pieces.size() == 1) {
            assertion(tag, attribute, value.pieces[0]);
            return true;
        }
        if (tag != filter_tag::equality) {
            return fail(value.star_offsets[0],
                        "'*' is only allowed after '='; write \\2a for a literal asterisk");
        }
        if (value.pieces.size() == 2 && value.pieces[0].empty() && value.pieces[1].empty()) {
            writer_.primitive(filter_tag::present, attribute);
            return true;
        }
        return substrings(attribute, value);
    }

    // attributedescription = attributetype *( ";" option ), option = 1*keychar
    bool check_description(std::string_view description, std::size_t start) {
        const std::size_t semicolon = description.find(';');
        const std::string_view type = description.substr(0, semicolon);
        if (type.empty()) return fail(start, "missing attribute type before ';'");
        if (const auto bad = invalid_oid_at(type); bad != std::string_view::npos) {
            if (bad == type.size()) return fail(start + bad, "incomplete numeric OID");
            return fail(start + bad, invalid_character(type[bad], "attribute type"));
        }
        if (semicolon == std::string_view::npos) return true;
        std::size_t option_start = semicolon + 1;
        while (true) {
            std::size_t end = description.find(';', option_start);
            if (end == std::string_view::npos) end = description.size();
            if (end == option_start) return fail(start + option_start, "empty attribute option");
            for (std::size_t i = option_start; i < end; ++i) {
                if (!is_keychar(description[i])) {
                    return fail(start + i, invalid_character(description[i], "attribute option"));
                }
            }
            if (end == description.size()) return true;
            option_start = end + 1;
        }
    }

    // extensible = attr [":dn"] [":" oid] ":=" value / [":dn"] ":" oid ":=" value
    bool extensible(std::string_view type, std::size_t start) {
        if (!type.empty() && !check_description(type, start)) return false;
        bool dn = false;
        std::string_view rule;
        while (true) {
            ++pos_;  // the ':'
            if (peek() == '=') break;
            const std::size_t token_start = pos_;
            while (!at_end() && (is_keychar(peek()) || peek() == '.')) ++pos_;
            const std::string_view token = text_.substr(token_start, pos_ - token_start);
            const bool is_dn =
                token.size() == 2 && (token[0] | 0x20) == 'd' && (token[1] | 0x20) == 'n';
            if (is_dn && !dn && rule.empty()) {
                dn = true;
            } else if (rule.empty() && !token.empty() &&
                       invalid_oid_at(token) == std::string_view::npos) {
                rule = token;
            } else {
                return fail(token_start, "expected 'dn', a matching rule or '=' after ':'");
            }
            if (peek() != ':') return fail(pos_, "expected ':' in extensible match");
        }
        ++pos_;  // the '='
        if (type.empty() && rule.empty()) {
            return fail(start, "an extensible match without an attribute needs a matching rule");
        }
        Value value;
        if (!assertion_value(value)) return false;
        if (value.pieces.size() > 1) {
            return fail(value.star_offsets[0],
                        "'*' is not allowed in an extensible match; write \\2a");
        }
        const auto marker = writer_.open(filter_tag::extensible);
        if (!rule.empty()) writer_.primitive(filter_tag::matching_rule, rule);
        if (!type.empty()) writer_.primitive(filter_tag::rule_type, type);
        writer_.primitive(filter_tag::match_value, value.pieces[0]);
        if (dn) writer_.primitive(filter_tag::dn_attributes, std::string_view("\xff", 1));
        writer_.close(marker);
        return true;
    }

    // valueencoding = *( normal / "\" HEX HEX ), split at unescaped '*'; stops before ')'.
    bool assertion_value(Value& value) {
        value.pieces.emplace_back();
        while (!at_end() && peek() != ')') {
            const char c = peek();
            if (c == '\\') {
                const int high = pos_ + 1 < text_.size() ? hex_value(text_[pos_ + 1]) : -1;
                const int low = pos_ + 2 < text_.size() ? hex_value(text_[pos_ + 2]) : -1;
                if (high < 0 || low < 0) {
                    return fail(pos_, "'\\' must be followed by two hex digits");
                }
                value.pieces.back().push_back(static_cast<char>(high * 16 + low));
                pos_ += 3;
                continue;
            }
            if (c == '(') return fail(pos_, "unescaped '(' in value; write \\28");
            if (c == '\0') return fail(pos_, "NUL byte in value; write \\00");
            if (c == '*') {
                value.star_offsets.push_back(pos_);
                value.pieces.emplace_back();
            } else {
                value.pieces.back().push_back(c);
            }
            ++pos_;
        }
        return true;
    }

    void assertion(std::uint8_t tag, std::string_view attribute, std::string_view value) {
        const auto marker = writer_.open(tag);
        writer_.primitive(ber::octet_string, attribute);
        writer_.primitive(ber::octet_string, value);
        writer_.close(marker);
    }

    // substring = attr "=" [initial] any [final]; every inner piece must be non-empty.
    bool substrings(std::string_view attribute, const Value& value) {
        const auto& pieces = value.pieces;
        for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
            if (pieces[i].empty())
                return fail(value.star_offsets[i], "empty substring between '*'");
        }
        const auto marker = writer_.open(filter_tag::substrings);
        writer_.primitive(ber::octet_string, attribute);
        const auto list = writer_.open(ber::sequence);
        if (!pieces.front().empty()) writer_.primitive(filter_tag::initial, pieces.front());
        for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
            writer_.primitive(filter_tag::any, pieces[i]);
        }
        if (!pieces.back().empty()) writer_.primitive(filter_tag::final_, pieces.back());
        writer_.close(list);
        writer_.close(marker);
        return true;
    }

    std::string_view text_;
    std::size_t max_depth_;
    BerWriter writer_;
    std::size_t pos_ = 0;
    LdapFilterError error_;
};

}  // namespace

}  // namespace detail

LdapFilterResult compile_ldap_filter(std::string_view text, std::size_t max_depth) {
    LdapFilterResult result;
    detail::FilterCompiler compiler(text, max_depth, result.ber);
    if (!compiler.compile()) {
        result.ber.clear();
        result.error = compiler.take_error();
    }
    return result;
}

}  // namespace tierwatch

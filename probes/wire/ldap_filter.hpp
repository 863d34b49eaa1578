// Compiles RFC 4515 LDAP search filter strings into the BER Filter of RFC 4511 §4.5.1, once at
// configuration load, reporting the byte offset of the first mistake.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tierwatch {

// Deep enough for any hand-written filter; the compiler recurses once per level.
inline constexpr std::size_t default_max_filter_depth = 32;

struct LdapFilterError {
    std::size_t offset = 0;  // byte offset into the filter text (text.size() for "ended early")
    std::string message;
};

struct LdapFilterResult {
    std::string ber;  // the encoded Filter, ready for LdapSearch::filter_ber
    std::optional<LdapFilterError> error;

    bool ok() const noexcept { return !error.has_value(); }
};

// Accepts every RFC 4515 form: (&...), (|...), (!...), (a=v), (a=*), (a=in*any*fin), (a>=v),
// (a<=v), (a~=v), extensible (a:dn:rule:=v), \XX escapes; and, like ldapsearch, RFC 4526's (&)
// and (|) and a bare item without the outer parentheses ("objectClass=*"). Stricter than
// OpenLDAP's encoder where RFC 4515 is: no RFC 2254 "\*" escapes, no blanks around items.
LdapFilterResult compile_ldap_filter(std::string_view text,
                                     std::size_t max_depth = default_max_filter_depth);

}  // namespace tierwatch

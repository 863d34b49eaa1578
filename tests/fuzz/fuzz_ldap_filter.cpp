// RFC 4515 search filters as the configuration compiles them. A filter that compiles is sent in
// a search request; that request must decode again as one whole LDAPMessage with its message ID.
#include <string>

#include "probes/wire/ldap_codec.hpp"
#include "probes/wire/ldap_filter.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tierwatch;
    const std::string_view text = fuzz::text(data, size);
    const LdapFilterResult compiled = compile_ldap_filter(text);
    if (!compiled.ok()) {
        fuzz::require(compiled.error->offset <= text.size(), "the error offset is inside the filter");
        fuzz::require(!compiled.error->message.empty(), "the error says what is wrong");
        return 0;
    }
    fuzz::require(!compiled.ber.empty(), "a compiled filter has bytes");
    fuzz::require(compile_ldap_filter(text).ber == compiled.ber, "compiling is deterministic");

    LdapSearch search;
    search.base_dn = "dc=example,dc=com";
    search.scope = LdapScope::sub;
    search.filter_ber = compiled.ber;
    std::string request;
    append_search_request(request, 42, search);
    LdapReader reader;
    reader.feed(request);
    LdapMessage message;
    fuzz::require(reader.next(message) == LdapReader::Status::message, "the search request decodes");
    fuzz::require(message.message_id == 42, "with its message ID");
    fuzz::require(message.tag == 0x63, "as a SearchRequest");
    fuzz::require(reader.pending() == 0, "and the filter's lengths frame it exactly");
    return 0;
}

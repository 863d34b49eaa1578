// LDAP codec and filter compiler checked byte by byte against PDUs derived by hand from RFC 4511,
// with the reader fed in every split, truncated, oversized, indefinite, deeply nested and garbage.
#include "probes/wire/ldap_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "probes/wire/ldap_filter.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using detail::BerWriter;

// "30 0c 02" → bytes; whitespace is ignored so PDUs can be laid out by element.
std::string unhex(std::string_view text) {
    std::string out;
    int high = -1;
    for (const char c : text) {
        int nibble = -1;
        if (c >= '0' && c <= '9') nibble = c - '0';
        if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') nibble = c - 'A' + 10;
        if (nibble < 0) continue;
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<char>(high * 16 + nibble));
            high = -1;
        }
    }
    return out;
}

// Bytes as hex, so a mismatch shows where two PDUs part.
std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        if (!out.empty()) out.push_back(' ');
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

// ---- writers -------------------------------------------------------------------------------

TEST(LdapWriter, SimpleBindRequestMatchesHandEncoding) {
    std::string out;
    append_bind_request(out, 1, "cn=admin,dc=example,dc=com", "secret");
    const auto expected = unhex("30 2c  02 01 01  60 27  02 01 03  04 1a") +
                          "cn=admin,dc=example,dc=com" + unhex("80 06") + "secret";
    EXPECT_EQ(hex(out), hex(expected));
    EXPECT_EQ(out.size(), 46u);
}

TEST(LdapWriter, AnonymousBindHasEmptyNameAndPassword) {
    std::string out;
    append_bind_request(out, 7, "", "");
    EXPECT_EQ(hex(out), hex(unhex("30 0c 02 01 07 60 07 02 01 03 04 00 80 00")));
}

TEST(LdapWriter, StartTlsExtendedRequest) {
    std::string out;
    append_start_tls_request(out, 1);
    EXPECT_EQ(hex(out), hex(unhex("30 1d 02 01 01 77 18 80 16") + "1.3.6.1.4.1.1466.20037"));
}

TEST(LdapWriter, UnbindRequestIsApplicationNull) {
    std::string out;
    append_unbind_request(out, 3);
    EXPECT_EQ(hex(out), hex(unhex("30 05 02 01 03 42 00")));
}

TEST(LdapWriter, BaseSearchWithDefaultFilterAndOneAttribute) {
    const std::vector<std::string> attributes{"contextCSN"};
    LdapSearch search;
    search.base_dn = "dc=example,dc=com";
    search.attributes = attributes;
    std::string out;
    append_search_request(out, 2, search);
    const auto expected = unhex("30 42  02 01 02  63 3d  04 11") + "dc=example,dc=com" +
                          unhex("0a 01 00  0a 01 00  02 01 00  02 01 00  01 01 00  87 0b") +
                          "objectClass" + unhex("30 0c 04 0a") + "contextCSN";
    EXPECT_EQ(hex(out), hex(expected));
}

TEST(LdapWriter, SubtreeSearchWithLimitsCompiledFilterAndNoAttributes) {
    const auto filter = compile_ldap_filter("(uid=probe)");
    ASSERT_TRUE(filter.ok());
    LdapSearch search;
    search.base_dn = "o=x";
    search.scope = LdapScope::sub;
    search.size_limit = 500;
    search.time_limit = 10;
    search.filter_ber = filter.ber;
    std::string out;
    append_search_request(out, 300, search);
    // messageID 300 = 01 2c; sizeLimit 500 = 01 f4; scope wholeSubtree = 2.
    const auto expected = unhex("30 2b  02 02 01 2c  63 25  04 03") + "o=x" +
                          unhex("0a 01 02  0a 01 00  02 02 01 f4  02 01 0a  01 01 00") +
                          unhex("a3 0c 04 03") + "uid" + unhex("04 05") + "probe" + unhex("30 00");
    EXPECT_EQ(hex(out), hex(expected));
}

TEST(LdapWriter, AppendsToTheBufferWithoutDisturbingIt) {
    std::string out = "x";
    append_unbind_request(out, 1);
    append_unbind_request(out, 2);
    EXPECT_EQ(hex(out), hex(std::string("x") + unhex("30 05 02 01 01 42 00 30 05 02 01 02 42 00")));
}

TEST(LdapWriter, LongFormLengthsWhenContentReaches128Bytes) {
    std::string out;
    append_bind_request(out, 1, std::string(200, 'd'), "pw");
    // dn 200 → 04 81 c8; bind content 3 + 203 + 4 = 210 → 60 81 d2; message 3 + 213 → 30 81 d8.
    EXPECT_EQ(hex(out.substr(0, 11)), hex(unhex("30 81 d8 02 01 01 60 81 d2 02 01")));
    EXPECT_EQ(hex(out.substr(12, 3)), hex(unhex("04 81 c8")));
    EXPECT_EQ(out.size(), 3u + 0xd8u);

    out.clear();
    BerWriter writer(out);
    writer.primitive(0x04, std::string(127, 'a'));
    EXPECT_EQ(hex(out.substr(0, 2)), "04 7f");
    out.clear();
    writer.primitive(0x04, std::string(128, 'a'));
    EXPECT_EQ(hex(out.substr(0, 3)), "04 81 80");
    out.clear();
    writer.primitive(0x04, std::string(300, 'a'));
    EXPECT_EQ(hex(out.substr(0, 4)), "04 82 01 2c");
    EXPECT_EQ(out.size(), 304u);
    out.clear();
    writer.primitive(0x04, std::string(70000, 'a'));
    EXPECT_EQ(hex(out.substr(0, 5)), "04 83 01 11 70");
}

TEST(LdapWriter, IntegersAreMinimalTwosComplement) {
    const std::vector<std::pair<std::int64_t, std::string>> cases{
        {0, "02 01 00"},
        {1, "02 01 01"},
        {127, "02 01 7f"},
        {128, "02 02 00 80"},
        {255, "02 02 00 ff"},
        {256, "02 02 01 00"},
        {2147483647, "02 04 7f ff ff ff"},
        {-1, "02 01 ff"},
        {-128, "02 01 80"},
        {-129, "02 02 ff 7f"},
    };
    for (const auto& [value, expected] : cases) {
        std::string out;
        BerWriter(out).integer(0x02, value);
        EXPECT_EQ(hex(out), expected) << value;
    }
}

// ---- filters -------------------------------------------------------------------------------

std::string compiled(std::string_view text) {
    const auto result = compile_ldap_filter(text);
    EXPECT_TRUE(result.ok()) << text << ": offset " << result.error->offset << ": "
                             << result.error->message;
    return hex(result.ber);
}

TEST(LdapFilter, EqualityPresenceAndOrderingMatches) {
    EXPECT_EQ(compiled("(cn=foo)"), hex(unhex("a3 09 04 02") + "cn" + unhex("04 03") + "foo"));
    EXPECT_EQ(compiled("(objectClass=*)"), hex(unhex("87 0b") + "objectClass"));
    EXPECT_EQ(compiled("(uidNumber>=1000)"),
              hex(unhex("a5 11 04 09") + "uidNumber" + unhex("04 04") + "1000"));
    EXPECT_EQ(compiled("(uidNumber<=1000)"),
              hex(unhex("a6 11 04 09") + "uidNumber" + unhex("04 04") + "1000"));
    EXPECT_EQ(compiled("(cn~=jon)"), hex(unhex("a8 09 04 02") + "cn" + unhex("04 03") + "jon"));
    EXPECT_EQ(compiled("(cn=)"), hex(unhex("a3 06 04 02") + "cn" + unhex("04 00")));
    EXPECT_EQ(compiled("(cn=John Smith)"),
              hex(unhex("a3 10 04 02") + "cn" + unhex("04 0a") + "John Smith"));
}

TEST(LdapFilter, SubstringsSplitIntoInitialAnyFinal) {
    EXPECT_EQ(compiled("(cn=ab*cd*ef)"), hex(unhex("a4 12 04 02") + "cn" +
                                             unhex("30 0c 80 02 61 62 81 02 63 64 82 02 65 66")));
    EXPECT_EQ(compiled("(cn=ab*)"), hex(unhex("a4 0a 04 02") + "cn" + unhex("30 04 80 02 61 62")));
    EXPECT_EQ(compiled("(cn=*ef)"), hex(unhex("a4 0a 04 02") + "cn" + unhex("30 04 82 02 65 66")));
    EXPECT_EQ(compiled("(cn=*cd*)"), hex(unhex("a4 0a 04 02") + "cn" + unhex("30 04 81 02 63 64")));
    EXPECT_EQ(compiled("(cn=*c*d*)"),
              hex(unhex("a4 0c 04 02") + "cn" + unhex("30 06 81 01 63 81 01 64")));
    EXPECT_EQ(compiled("(cn=a*b)"),
              hex(unhex("a4 0c 04 02") + "cn" + unhex("30 06 80 01 61 82 01 62")));
}

TEST(LdapFilter, AndOrNotAndNesting) {
    const auto ab = unhex("a3 06 04 01 61 04 01 62");  // (a=b)
    const auto cd = unhex("a3 06 04 01 63 04 01 64");  // (c=d)
    EXPECT_EQ(compiled("(&(a=b)(c=d))"), hex(unhex("a0 10") + ab + cd));
    EXPECT_EQ(compiled("(|(a=b)(c=d))"), hex(unhex("a1 10") + ab + cd));
    EXPECT_EQ(compiled("(!(a=b))"), hex(unhex("a2 08") + ab));
    EXPECT_EQ(compiled("(&(a=b))"), hex(unhex("a0 08") + ab));
    // RFC 4526 absolute true and false.
    EXPECT_EQ(compiled("(&)"), "a0 00");
    EXPECT_EQ(compiled("(|)"), "a1 00");
    EXPECT_EQ(compiled("(&(objectClass=person)(|(cn=a*)(!(mail=*))))"),
              hex(unhex("a0 2c  a3 15 04 0b") + "objectClass" + unhex("04 06") + "person" +
                  unhex("a1 13  a4 09 04 02") + "cn" + unhex("30 03 80 01 61") +
                  unhex("a2 06 87 04") + "mail"));
}

TEST(LdapFilter, EscapesDecodeToRawOctets) {
    // a * b ) \ NUL, lower- and upper-case hex.
    EXPECT_EQ(compiled("(cn=a\\2Ab\\29\\5c\\00)"),
              hex(unhex("a3 0c 04 02") + "cn" + unhex("04 06 61 2a 62 29 5c 00")));
    // An escaped '*' stays a value byte: equality, not substrings.
    EXPECT_EQ(compiled("(cn=\\2a)"), hex(unhex("a3 07 04 02") + "cn" + unhex("04 01 2a")));
    // UTF-8 passes through unchanged.
    EXPECT_EQ(compiled("(cn=J\xc3\xbcrgen)"),
              hex(unhex("a3 0d 04 02") + "cn" + unhex("04 07") + "J\xc3\xbcrgen"));
}

TEST(LdapFilter, OptionsNumericOidsExtensibleAndBareItem) {
    EXPECT_EQ(compiled("(cn;lang-en=x)"),
              hex(unhex("a3 0f 04 0a") + "cn;lang-en" + unhex("04 01") + "x"));
    EXPECT_EQ(compiled("(2.5.4.3=x)"), hex(unhex("a3 0c 04 07") + "2.5.4.3" + unhex("04 01 78")));
    EXPECT_EQ(compiled("(cn:dn:2.5.13.5:=Fred)"),
              hex(unhex("a9 17 81 08") + "2.5.13.5" + unhex("82 02") + "cn" + unhex("83 04") +
                  "Fred" + unhex("84 01 ff")));
    EXPECT_EQ(compiled("(:caseExactMatch:=x)"),
              hex(unhex("a9 13 81 0e") + "caseExactMatch" + unhex("83 01 78")));
    EXPECT_EQ(compiled("(cn:=x)"), hex(unhex("a9 07 82 02") + "cn" + unhex("83 01 78")));
    EXPECT_EQ(compiled("objectClass=*"), hex(unhex("87 0b") + "objectClass"));
}

// Every example of RFC 4515 §4; the expected bytes were produced by OpenLDAP 2.5's own encoder
// (ldap_pvt_put_filter), an implementation independent of this one.
TEST(LdapFilter, Rfc4515ExamplesMatchOpenLdapEncoding) {
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"(cn=Babs Jensen)", "a3110402636e040b42616273204a656e73656e"},
        {"(!(cn=Tim Howes))", "a211a30f0402636e040954696d20486f776573"},
        {"(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
         "a037a315040b6f626a656374436c6173730406506572736f6ea11ea30c0402736e04064a656e73656e"
         "a40e0402636e3008800642616273204a"},
        {"(o=univ*of*mich*)", "a41504016f30108004756e697681026f6681046d696368"},
        {"(seeAlso=)", "a30b0407736565416c736f0400"},
        {"(cn:caseExactMatch:=Fred Flintstone)",
         "a925810e6361736545786163744d617463688202636e830f4672656420466c696e7473746f6e65"},
        {"(cn:=Betty Rubble)", "a9128202636e830c426574747920527562626c65"},
        {"(sn:dn:2.4.6.8.10:=Barney Rubble)",
         "a922810a322e342e362e382e31308202736e830d4261726e657920527562626c658401ff"},
        {"(o:dn:=Ace Industry)", "a91482016f830c41636520496e6475737472798401ff"},
        {"(:1.2.3:=Wilma Flintstone)", "a9198105312e322e33831057696c6d6120466c696e7473746f6e65"},
        {"(:DN:2.4.6.8.10:=Dino)", "a915810a322e342e362e382e3130830444696e6f8401ff"},
        {"(o=Parens R Us \\28for all your parenthetical needs\\29)",
         "a33304016f042e506172656e7320522055732028666f7220616c6c20796f757220706172656e7468657469"
         "63616c206e6565647329"},
        {"(cn=*\\2A*)", "a4090402636e300381012a"},
        {"(filename=C:\\5cMyFile)", "a315040866696c656e616d650409433a5c4d7946696c65"},
        {"(bin=\\00\\00\\00\\04)", "a30b040362696e040400000004"},
        {"(sn=Lu\\c4\\8di\\c4\\87)", "a30d0402736e04074c75c48d69c487"},
        {"(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)",
         "a31a0412312e332e362e312e342e312e313436362e30040404024869"},
    };
    for (const auto& [text, expected] : cases) {
        EXPECT_EQ(compiled(text), hex(unhex(expected))) << text;
    }
}

TEST(LdapFilter, MalformedFiltersReportTheOffset) {
    struct Case {
        std::string text;
        std::size_t offset;
        std::string_view message_part;
    };
    const std::vector<Case> cases{
        {"", 0, "empty"},
        {"(cn=foo", 7, "missing ')'"},
        {"(cn=foo))", 8, "after the filter"},
        {"(a=b)(c=d)", 5, "after the filter"},
        {"cn=foo)", 6, "unexpected ')'"},
        {"(=foo)", 1, "missing attribute"},
        {"(cn)", 3, "expected '='"},
        {"(c n=x)", 2, "invalid character ' '"},
        {"( cn=x)", 1, "invalid character ' '"},
        {"(cn~x)", 4, "expected '=' after '~'"},
        {"(cn>x)", 4, "expected '=' after '>'"},
        {"(cn=\\4)", 4, "two hex digits"},
        {"(cn=\\zz)", 4, "two hex digits"},
        {"(cn=a\\", 5, "two hex digits"},
        {"(cn>=a*)", 6, "'*' is only allowed"},
        {"(cn~=*)", 5, "'*' is only allowed"},
        {"(cn=a**b)", 6, "empty substring"},
        {"(cn=a(b)", 5, "unescaped '('"},
        {"(&a=b)", 2, "followed by filters"},
        {"(|cn=x)", 2, "followed by filters"},
        {"(cn=a\\*b)", 5, "two hex digits"},  // RFC 2254's escape, which RFC 4515 dropped
        {"(!(a=b)(c=d))", 7, "exactly one filter"},
        {"(!a=b)", 2, "'!' must be followed"},
        {"(&(a=b)c)", 7, "expected ')'"},
        {"(1=x)", 2, "incomplete numeric OID"},
        {"(2.5.=x)", 5, "incomplete numeric OID"},
        {"(01.2=x)", 1, "invalid"},
        {"(-cn=x)", 1, "invalid character '-'"},
        {"(cn;=x)", 4, "empty attribute option"},
        {"(;x=1)", 1, "missing attribute type"},
        {"(cn:foo bar:=x)", 7, "expected ':'"},
        {"(cn:dn:r1:r2:=x)", 10, "matching rule"},
        {"(:=x)", 1, "needs a matching rule"},
        {"(cn:=a*)", 6, "not allowed in an extensible"},
        {"(", 1, "missing attribute"},
        {"(cn=a\0b)"s, 5, "NUL"},
        {"(c\xc3\xa9=x)", 2, "invalid character '\\xc3'"},
    };
    for (const auto& c : cases) {
        const auto result = compile_ldap_filter(c.text);
        ASSERT_FALSE(result.ok()) << hex(c.text);
        EXPECT_EQ(result.error->offset, c.offset) << c.text << ": " << result.error->message;
        EXPECT_NE(result.error->message.find(c.message_part), std::string::npos)
            << c.text << ": " << result.error->message;
        EXPECT_TRUE(result.ber.empty());
    }
}

std::string nested_not(std::size_t levels) {
    std::string text;
    for (std::size_t i = 0; i < levels; ++i) text += "(!";
    text += "(a=b)";
    text += std::string(levels, ')');
    return text;
}

TEST(LdapFilter, NestingDepthIsBounded) {
    // The innermost (a=b) sits at depth levels + 1; the default bound is 32.
    EXPECT_TRUE(compile_ldap_filter(nested_not(31)).ok());
    const auto too_deep = compile_ldap_filter(nested_not(32));
    ASSERT_FALSE(too_deep.ok());
    EXPECT_EQ(too_deep.error->offset, 64u);  // the 33rd '('
    EXPECT_NE(too_deep.error->message.find("deeper than 32"), std::string::npos);

    // A hostile depth fails at the bound instead of exhausting the stack.
    const auto hostile = compile_ldap_filter(nested_not(200000));
    ASSERT_FALSE(hostile.ok());
    EXPECT_EQ(hostile.error->offset, 64u);

    EXPECT_TRUE(compile_ldap_filter("(&(a=b))", 2).ok());
    EXPECT_EQ(compile_ldap_filter("(&(!(a=b)))", 2).error->offset, 4u);
}

// ---- reader --------------------------------------------------------------------------------

const std::string bind_success = unhex("30 0c 02 01 01 61 07 0a 01 00 04 00 04 00");
const std::string bind_invalid = unhex("30 0f 02 01 01 61 0a 0a 01 31 04 00 04 03") + "bad";
// SearchResultEntry "o=x": cn = {a, bc}, sn = {}.
const std::string small_entry = unhex(
    "30 23 02 01 02 64 1e 04 03 6f 3d 78"
    " 30 17  30 0d 04 02 63 6e 31 07 04 01 61 04 02 62 63"
    "        30 06 04 02 73 6e 31 00");
const std::string search_done = unhex("30 0c 02 01 02 65 07 0a 01 00 04 00 04 00");

// Feeds `stream` in the given chunk boundaries and collects messages until need_more or error.
struct Collected {
    std::vector<LdapMessage> messages;
    LdapReader::Status last = LdapReader::Status::need_more;
};

Collected feed_split(LdapReader& reader, std::string_view stream,
                     const std::vector<std::size_t>& cuts) {
    Collected collected;
    std::size_t from = 0;
    auto drain = [&] {
        LdapMessage message;
        while ((collected.last = reader.next(message)) == LdapReader::Status::message) {
            collected.messages.push_back(message);
        }
    };
    for (const auto cut : cuts) {
        reader.feed(stream.substr(from, cut - from));
        from = cut;
        drain();
        if (collected.last == LdapReader::Status::error) return collected;
    }
    reader.feed(stream.substr(from));
    drain();
    return collected;
}

Collected feed_all(std::string_view stream, LdapReaderLimits limits = {}) {
    LdapReader reader(limits);
    return feed_split(reader, stream, {});
}

void expect_entry_then_done(const Collected& collected, const std::string& context) {
    ASSERT_EQ(collected.messages.size(), 2u) << context;
    EXPECT_EQ(collected.last, LdapReader::Status::need_more) << context;
    const auto& entry = collected.messages[0];
    EXPECT_EQ(entry.message_id, 2) << context;
    EXPECT_EQ(entry.op, LdapOp::search_result_entry) << context;
    EXPECT_EQ(entry.object_name, "o=x") << context;
    ASSERT_EQ(entry.attributes.size(), 2u) << context;
    EXPECT_EQ(entry.attributes[0].type, "cn");
    EXPECT_EQ(entry.attributes[0].values, (std::vector<std::string>{"a", "bc"}));
    EXPECT_EQ(entry.attributes[1].type, "sn");
    EXPECT_TRUE(entry.attributes[1].values.empty());
    const auto& done = collected.messages[1];
    EXPECT_EQ(done.op, LdapOp::search_result_done) << context;
    EXPECT_EQ(done.result.code, 0) << context;
}

TEST(LdapReader, DecodesBindResponses) {
    auto ok = feed_all(bind_success);
    ASSERT_EQ(ok.messages.size(), 1u);
    EXPECT_EQ(ok.messages[0].message_id, 1);
    EXPECT_EQ(ok.messages[0].op, LdapOp::bind_response);
    EXPECT_EQ(ok.messages[0].tag, 0x61);
    EXPECT_EQ(ok.messages[0].result.code, 0);

    auto denied = feed_all(bind_invalid);
    ASSERT_EQ(denied.messages.size(), 1u);
    EXPECT_EQ(denied.messages[0].result.code, 49);
    EXPECT_EQ(denied.messages[0].result.diagnostic_message, "bad");
    EXPECT_EQ(classify_ldap_result(denied.messages[0].result.code), LdapFailure::auth);
}

TEST(LdapReader, EntryThenDoneInEverySplit) {
    const std::string stream = small_entry + search_done;
    expect_entry_then_done(feed_all(stream), "one chunk");
    for (std::size_t a = 1; a < stream.size(); ++a) {
        LdapReader reader;
        expect_entry_then_done(feed_split(reader, stream, {a}), "cut " + std::to_string(a));
        for (std::size_t b = a + 1; b < stream.size(); ++b) {
            LdapReader reader3;
            expect_entry_then_done(feed_split(reader3, stream, {a, b}),
                                   "cuts " + std::to_string(a) + "," + std::to_string(b));
        }
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
    LdapReader reader;
    expect_entry_then_done(feed_split(reader, stream, every_byte), "byte by byte");
}

TEST(LdapReader, PrepareCommitPathAndPending) {
    LdapReader reader(LdapReaderLimits{.max_message_size = 1 << 20, .read_size = 5});
    const std::string stream = small_entry + search_done + bind_success.substr(0, 4);
    std::size_t offset = 0;
    std::vector<LdapOp> ops;
    LdapMessage message;
    while (offset < stream.size()) {
        auto space = reader.prepare();
        ASSERT_EQ(space.size(), 5u);
        const auto n = std::min(space.size(), stream.size() - offset);
        std::copy_n(stream.data() + offset, n, space.data());
        reader.commit(n);
        offset += n;
        while (reader.next(message) == LdapReader::Status::message) ops.push_back(message.op);
    }
    EXPECT_EQ(ops, (std::vector<LdapOp>{LdapOp::search_result_entry, LdapOp::search_result_done}));
    EXPECT_EQ(reader.pending(), 4u);
}

TEST(LdapReader, ContextCsnValuesComeOutAsStrings) {
    // Built with the writer: two long values push the lengths into long form.
    const std::string csn1 = "20261122234501.123456Z#000000#001#000000";
    const std::string csn2 = "20261122234459.000001Z#000000#002#000000";
    const std::string padding(300, 'p');
    std::string pdu;
    BerWriter writer(pdu);
    const auto message = writer.open(0x30);
    writer.integer(0x02, 2);
    const auto entry = writer.open(0x64);
    writer.primitive(0x04, "dc=example,dc=com");
    const auto attributes = writer.open(0x30);
    for (const auto& [type, values] :
         {std::pair{"contextCSN", std::vector{csn1, csn2}}, {"description", {padding}}}) {
        const auto attribute = writer.open(0x30);
        writer.primitive(0x04, type);
        const auto set = writer.open(0x31);
        for (const auto& value : values) writer.primitive(0x04, value);
        writer.close(set);
        writer.close(attribute);
    }
    writer.close(attributes);
    writer.close(entry);
    writer.close(message);
    ASSERT_EQ(hex(pdu.substr(0, 2)), "30 82");

    for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, pdu.size()}) {
        std::vector<std::size_t> cuts;
        for (std::size_t i = chunk; i < pdu.size(); i += chunk) cuts.push_back(i);
        LdapReader reader;
        const auto collected = feed_split(reader, pdu, cuts);
        ASSERT_EQ(collected.messages.size(), 1u) << chunk;
        const auto* csn = find_attribute(collected.messages[0], "CONTEXTcsn");
        ASSERT_NE(csn, nullptr);
        EXPECT_EQ(csn->values, (std::vector<std::string>{csn1, csn2}));
        EXPECT_EQ(find_attribute(collected.messages[0], "description")->values[0], padding);
        EXPECT_EQ(find_attribute(collected.messages[0], "mail"), nullptr);
    }
}

TEST(LdapReader, ReusedMessageDropsStaleAttributes) {
    LdapReader reader;
    reader.feed(small_entry + bind_success);
    LdapMessage message;
    ASSERT_EQ(reader.next(message), LdapReader::Status::message);
    ASSERT_EQ(message.attributes.size(), 2u);
    ASSERT_EQ(reader.next(message), LdapReader::Status::message);
    EXPECT_EQ(message.op, LdapOp::bind_response);
    EXPECT_TRUE(message.attributes.empty());
    EXPECT_TRUE(message.object_name.empty());
    // An entry with fewer values than the slot held before keeps only its own.
    reader.feed(small_entry);
    ASSERT_EQ(reader.next(message), LdapReader::Status::message);
    EXPECT_EQ(message.attributes[0].values, (std::vector<std::string>{"a", "bc"}));
}

TEST(LdapReader, ExtendedResponsesReferencesUnknownOpsControlsAndReferrals) {
    const auto start_tls =
        unhex("30 24 02 01 01 78 1f 0a 01 00 04 00 04 00 8a 16") + "1.3.6.1.4.1.1466.20037";
    const auto notice =
        unhex("30 24 02 01 00 78 1f 0a 01 34 04 00 04 00 8a 16") + "1.3.6.1.4.1.1466.20036";
    const auto reference = unhex("30 10 02 01 02 73 0b 04 09") + "ldap://b/";
    const auto modify_response = unhex("30 0c 02 01 05 67 07 0a 01 00 04 00 04 00");
    const auto with_controls =
        unhex("30 15 02 01 01 61 07 0a 01 00 04 00 04 00 a0 07 30 05 04 03") + "1.2";
    const auto with_referral =
        unhex("30 19 02 01 01 61 14 0a 01 0a 04 00 04 00 a3 0b 04 09") + "ldap://b/";

    const auto collected =
        feed_all(start_tls + notice + reference + modify_response + with_controls + with_referral);
    ASSERT_EQ(collected.messages.size(), 6u);
    const auto& m = collected.messages;
    EXPECT_EQ(m[0].op, LdapOp::extended_response);
    EXPECT_EQ(m[0].response_name, ldap_start_tls_oid);
    EXPECT_FALSE(is_notice_of_disconnection(m[0]));
    EXPECT_TRUE(is_notice_of_disconnection(m[1]));
    EXPECT_EQ(m[1].result.code, 52);
    EXPECT_EQ(m[2].op, LdapOp::search_result_reference);
    EXPECT_EQ(m[2].message_id, 2);
    EXPECT_EQ(m[3].op, LdapOp::other);
    EXPECT_EQ(m[3].tag, 0x67);
    EXPECT_EQ(m[3].message_id, 5);
    EXPECT_EQ(m[4].op, LdapOp::bind_response);
    EXPECT_EQ(m[4].result.code, 0);
    EXPECT_EQ(m[5].result.code, 10);
    EXPECT_EQ(ldap_result_code_name(m[5].result.code), "referral");
}

TEST(LdapReader, TruncatedPdusWaitAndNeverYieldAMessage) {
    for (const auto& pdu : {bind_success, small_entry, search_done}) {
        for (std::size_t n = 0; n < pdu.size(); ++n) {
            const auto collected = feed_all(pdu.substr(0, n));
            EXPECT_TRUE(collected.messages.empty()) << n;
            EXPECT_EQ(collected.last, LdapReader::Status::need_more) << n;
        }
    }
}

void expect_error(std::string_view bytes, LdapDecodeError error, LdapReaderLimits limits = {}) {
    LdapReader reader(limits);
    reader.feed(bytes);
    LdapMessage message;
    EXPECT_EQ(reader.next(message), LdapReader::Status::error) << hex(bytes);
    EXPECT_EQ(reader.error(), error) << hex(bytes) << ": " << to_string(reader.error());
}

TEST(LdapReader, InnerElementsThatOverrunOrMismatchAreMalformed) {
    const auto malformed = LdapDecodeError::malformed;
    expect_error(unhex("30 05 02 01 01 61 07"), malformed);                 // op overruns message
    expect_error(unhex("30 07 02 01 01 61 02 0a 01"), malformed);           // code overruns op
    expect_error(unhex("30 0a 02 01 01 61 05 0a 01 00 04 00"), malformed);  // no diagnostic
    expect_error(unhex("30 03 04 01 01"), malformed);                       // messageID not INTEGER
    expect_error(unhex("30 02 02 00"), malformed);                          // empty INTEGER
    expect_error(unhex("30 03 02 01 ff"), malformed);                       // negative messageID
    expect_error(unhex("30 07 02 05 00 80 00 00 00"), malformed);           // messageID 2^31
    expect_error(unhex("30 03 02 01 01"), malformed);                       // no protocolOp
    expect_error(unhex("30 05 02 01 01 1f 00"), malformed);                 // multi-octet tag
    // A value sent as a constructed string instead of a primitive OCTET STRING.
    expect_error(unhex("30 13 02 01 02 64 0e 04 00 30 0a 30 08 04 00 31 04 24 02 04 00"),
                 malformed);
}

TEST(LdapReader, OversizeLengthFailsOnTheHeaderAlone) {
    expect_error(unhex("30 84 7f ff ff ff"), LdapDecodeError::message_too_large);
    expect_error(unhex("30 84 ff ff ff ff"), LdapDecodeError::message_too_large);
    // 1 MiB content plus a 6-byte header is just over the default limit.
    expect_error(unhex("30 84 00 10 00 00"), LdapDecodeError::message_too_large);
    // An inner element may not claim more than its parent holds, however large.
    expect_error(unhex("30 09 02 01 01 64 84 7f ff ff ff"), LdapDecodeError::malformed);

    // Exactly at the limit is accepted; one more byte is not.
    const LdapReaderLimits limits{.max_message_size = bind_success.size()};
    EXPECT_EQ(feed_all(bind_success, limits).messages.size(), 1u);
    expect_error(bind_success, LdapDecodeError::message_too_large,
                 LdapReaderLimits{.max_message_size = bind_success.size() - 1});
    // Non-minimal long form is legal BER.
    EXPECT_EQ(feed_all(unhex("30 81 0c 02 01 01 61 07 0a 01 00 04 00 04 00")).messages.size(), 1u);
}

TEST(LdapReader, LengthsOverFourOctetsAndIndefiniteLengthsAreRejected) {
    expect_error(unhex("30 85 00 00 00 00 0c"), LdapDecodeError::length_too_long);
    expect_error(unhex("30 ff"), LdapDecodeError::length_too_long);
    expect_error(unhex("30 80 02 01 01 61 07 0a 01 00 04 00 04 00 00 00"),
                 LdapDecodeError::indefinite_length);
    expect_error(unhex("30 0a 02 01 01 61 80 0a 01 00 00 00"), LdapDecodeError::indefinite_length);
    expect_error(unhex("30 0a 02 01 01 61 85 00 00 00 00 00"), LdapDecodeError::length_too_long);
}

// `levels` nested SEQUENCEs around an empty one, built from the inside out.
std::string nested_sequences(std::size_t levels) {
    std::string out;
    BerWriter writer(out);
    std::vector<std::size_t> markers;
    for (std::size_t i = 0; i < levels; ++i) markers.push_back(writer.open(0x30));
    while (!markers.empty()) {
        writer.close(markers.back());
        markers.pop_back();
    }
    return out;
}

TEST(LdapReader, DeepNestingIsSkippedWithoutDescending) {
    const auto deep = nested_sequences(5000);
    // As an unknown operation and as controls after a known one: framed, skipped, reported.
    std::string unknown;
    {
        BerWriter writer(unknown);
        const auto message = writer.open(0x30);
        writer.integer(0x02, 9);
        const auto op = writer.open(0x7e);  // [APPLICATION 30], constructed
        writer.raw(deep);
        writer.close(op);
        writer.raw(deep);  // "controls"
        writer.close(message);
    }
    const auto collected = feed_all(unknown + bind_success);
    ASSERT_EQ(collected.messages.size(), 2u);
    EXPECT_EQ(collected.messages[0].op, LdapOp::other);
    EXPECT_EQ(collected.messages[0].tag, 0x7e);
    EXPECT_EQ(collected.messages[1].op, LdapOp::bind_response);

    // Where the schema expects an attribute value, nesting is simply the wrong tag.
    std::string entry;
    {
        BerWriter writer(entry);
        const auto message = writer.open(0x30);
        writer.integer(0x02, 2);
        const auto op = writer.open(0x64);
        writer.primitive(0x04, "o=x");
        const auto attributes = writer.open(0x30);
        const auto attribute = writer.open(0x30);
        writer.primitive(0x04, "cn");
        const auto set = writer.open(0x31);
        writer.raw(deep);
        writer.close(set);
        writer.close(attribute);
        writer.close(attributes);
        writer.close(op);
        writer.close(message);
    }
    expect_error(entry, LdapDecodeError::malformed);
}

TEST(LdapReader, GarbageFailsOnTheFirstByteAndErrorsAreSticky) {
    LdapReader reader;
    reader.feed("H");
    LdapMessage message;
    EXPECT_EQ(reader.next(message), LdapReader::Status::error);
    EXPECT_EQ(reader.error(), LdapDecodeError::not_ldap_message);
    reader.feed(bind_success);
    EXPECT_EQ(reader.next(message), LdapReader::Status::error);
    reader.clear();
    reader.feed(bind_success);
    EXPECT_EQ(reader.next(message), LdapReader::Status::message);

    // A valid message followed by garbage: the message is still delivered first.
    const auto collected = feed_all(bind_success + "HTTP/1.1 400 Bad Request\r\n");
    EXPECT_EQ(collected.messages.size(), 1u);
    EXPECT_EQ(collected.last, LdapReader::Status::error);
}

TEST(LdapReader, RandomAndMutatedInputNeverMisbehaves) {
    // No expected outcome beyond termination within bounds; run under sanitizers to catch more.
    std::mt19937 random(20261122);
    const std::string valid = small_entry + search_done + bind_invalid;
    for (int round = 0; round < 3000; ++round) {
        std::string input = valid;
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int i = 0; i < flips; ++i) {
            input[random() % input.size()] = static_cast<char>(random() & 0xff);
        }
        if (round % 3 == 0) {
            input.resize(random() % 64);
            for (auto& c : input) c = static_cast<char>(random() & 0xff);
            if (!input.empty()) input[0] = 0x30;
        }
        LdapReader reader(LdapReaderLimits{.max_message_size = 4096, .read_size = 16});
        const auto collected = feed_split(reader, input, {input.size() / 2});
        EXPECT_LE(collected.messages.size(), 3u);
        EXPECT_LE(reader.pending(), input.size());
    }
}

// ---- result codes --------------------------------------------------------------------------

TEST(LdapResultCodes, NamesAndClassification) {
    EXPECT_EQ(ldap_result_code_name(0), "success");
    EXPECT_EQ(ldap_result_code_name(32), "noSuchObject");
    EXPECT_EQ(ldap_result_code_name(49), "invalidCredentials");
    EXPECT_EQ(ldap_result_code_name(50), "insufficientAccessRights");
    EXPECT_EQ(ldap_result_code_name(51), "busy");
    EXPECT_EQ(ldap_result_code_name(52), "unavailable");
    EXPECT_EQ(ldap_result_code_name(53), "unwillingToPerform");
    EXPECT_EQ(ldap_result_code_name(4096), "e-syncRefreshRequired");
    EXPECT_EQ(ldap_result_code_name(9), "unknown");
    EXPECT_EQ(ldap_result_code_name(-1), "unknown");

    EXPECT_EQ(classify_ldap_result(0), LdapFailure::none);
    EXPECT_EQ(classify_ldap_result(49), LdapFailure::auth);
    for (const int code : {1, 2, 32, 48, 50, 51, 52, 53, 80, 4096}) {
        EXPECT_EQ(classify_ldap_result(code), LdapFailure::protocol) << code;
    }
}

// ---- contextCSN ----------------------------------------------------------------------------

TEST(ContextCsn, ParsesTimeWithMicrosecondsAndFields) {
    const auto csn = parse_context_csn("20261122234501.123456Z#000000#001#000000");
    ASSERT_TRUE(csn.has_value());
    using std::chrono::sys_days;
    EXPECT_EQ(csn->time, sys_days{std::chrono::year{2026} / 11 / 22} + 23h + 45min + 1s + 123456us);
    EXPECT_EQ(csn->sid, 1u);
    EXPECT_EQ(csn->count, 0u);
    EXPECT_EQ(csn->mod, 0u);

    const auto hex_fields = parse_context_csn("20280229000000.000000Z#00000f#00A#0000ff");
    ASSERT_TRUE(hex_fields.has_value());
    EXPECT_EQ(hex_fields->count, 15u);
    EXPECT_EQ(hex_fields->sid, 10u);
    EXPECT_EQ(hex_fields->mod, 255u);

    // The lag between two masters' CSNs is plain time-point arithmetic.
    const auto behind = parse_context_csn("20261122234459.000001Z#000000#002#000000");
    ASSERT_TRUE(behind.has_value());
    EXPECT_EQ(csn->time - behind->time, 2s + 123455us);

    // OpenLDAP 2.2 wrote no fraction and a two-digit SID.
    const auto old = parse_context_csn("20040101000000Z#000001#00#000000");
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->time, sys_days{std::chrono::year{2004} / 1 / 1});
    EXPECT_EQ(old->count, 1u);
}

TEST(ContextCsn, RejectsMalformedValues) {
    for (const std::string_view text : {
             "",
             "2026112223450.123456Z#000000#001#000000",    // 13 digits
             "20261322234501.123456Z#000000#001#000000",   // month 13
             "20270229234501.123456Z#000000#001#000000",   // not a leap year
             "20261122244501.123456Z#000000#001#000000",   // hour 24
             "20261122236001.123456Z#000000#001#000000",   // minute 60
             "20261122234501.123456#000000#001#000000",    // no Z
             "20261122234501.123Z#000000#001#000000",      // three fraction digits
             "20261122234501.123456Z#000000#001",          // no mod
             "20261122234501.123456Z#000000#0001#000000",  // four-digit SID
             "20261122234501.123456Z#000000##000000",      // empty SID
             "20261122234501.123456Z#000000#00g#000000",   // not hex
             "20261122234501.123456Z#000000#001#000000x",  // trailing text
             "2026-11-22T23:45:01Z",
         }) {
        EXPECT_FALSE(parse_context_csn(text).has_value()) << text;
    }
}

}  // namespace
}  // namespace tierwatch

// Unit tests for the configuration loader: every error class at its exact file:line:column, and a full load.
#include "config/config.hpp"
#include "config/alerting.hpp"

#include "config/toml/secret_path.hpp"
#include "probes/wire/ldap_filter.hpp"
#include "tests/support/scoped_env.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string>

namespace tierwatch {
namespace {

using namespace std::chrono_literals;

// Lines 1-9; text appended to it starts on line 10.
constexpr std::string_view kBase =
    "[[node]]\n"
    "name = \"mta1\"\n"
    "role = \"mta\"\n"
    "address = \"10.0.0.1\"\n"
    "\n"
    "[[nlb]]\n"
    "name = \"mail\"\n"
    "fqdn = \"mail.example.com\"\n"
    "\n";

// Lines 10-14 after kBase: a valid tcp check; text appended to it starts on line 15.
constexpr std::string_view kTcpCheck =
    "[[check]]\n"
    "name = \"smtp\"\n"
    "protocol = \"tcp\"\n"
    "port = 25\n"
    "roles = [\"mta\"]\n";

// Lines 10-14 after kBase: a tls check that verifies; text appended to it starts on line 15.
constexpr std::string_view kTlsCheck =
    "[[check]]\n"
    "name = \"smtps\"\n"
    "protocol = \"tls\"\n"
    "port = 465\n"
    "roles = [\"mta\"]\n";

std::string with_base(std::string_view rest) {
    return std::string(kBase) + std::string(rest);
}

std::string with_tcp_check(std::string_view rest) {
    return std::string(kBase) + std::string(kTcpCheck) + std::string(rest);
}

std::string with_tls_check(std::string_view rest) {
    return std::string(kBase) + std::string(kTlsCheck) + std::string(rest);
}

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("tierwatch-config-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path write(const std::filesystem::path& relative, std::string_view content) const {
        const std::filesystem::path path = dir_ / relative;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    std::string file() const { return (dir_ / "tierwatch.toml").string(); }
    std::string dir() const { return dir_.string(); }

    Config parse(std::string_view text) const { return parse_config(text, dir_ / "tierwatch.toml"); }

    // The ConfigError's what() for `text`, or a test failure when it loads.
    std::string error_of(std::string_view text) const {
        try {
            parse(text);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "loaded without error:\n" << text;
        return {};
    }

    void expect_error(std::string_view text, std::string_view position, std::string_view message) const {
        EXPECT_EQ(error_of(text), file() + ":" + std::string(position) + ": " + std::string(message));
    }

    // For messages whose tail comes from a library (toml++, Boost.Regex).
    void expect_error_prefix(std::string_view text, std::string_view position, std::string_view message) const {
        const std::string error = error_of(text);
        const std::string prefix = file() + ":" + std::string(position) + ": " + std::string(message);
        EXPECT_TRUE(error.starts_with(prefix)) << error << "\ndoes not start with\n" << prefix;
    }

private:
    std::filesystem::path dir_;
};

TEST(SourceLocationTest, FormatsFileLineColumnAndWholeFile) {
    EXPECT_EQ((SourceLocation{"a.toml", 3, 14}.to_string()), "a.toml:3:14");
    EXPECT_EQ((SourceLocation{"a.toml", 0, 0}.to_string()), "a.toml");
    const ConfigError error(SourceLocation{"a.toml", 3, 14}, "bad");
    EXPECT_STREQ(error.what(), "a.toml:3:14: bad");
    EXPECT_EQ(error.message(), "bad");
    EXPECT_EQ(error.where().line, 3u);
}

TEST(ProtocolTest, NamesAndImplicitTls) {
    EXPECT_EQ(to_string(Protocol::tcp), "tcp");
    EXPECT_EQ(to_string(Protocol::tls), "tls");
    EXPECT_EQ(to_string(Protocol::http), "http");
    EXPECT_EQ(to_string(Protocol::https), "https");
    EXPECT_FALSE(uses_implicit_tls(Protocol::tcp));
    EXPECT_TRUE(uses_implicit_tls(Protocol::tls));
    EXPECT_FALSE(uses_implicit_tls(Protocol::http));
    EXPECT_TRUE(uses_implicit_tls(Protocol::https));
    const std::pair<Protocol, std::string_view> mail[] = {
        {Protocol::smtp, "smtp"}, {Protocol::smtps, "smtps"}, {Protocol::submission, "submission"},
        {Protocol::lmtp, "lmtp"}, {Protocol::imap, "imap"},   {Protocol::imaps, "imaps"},
        {Protocol::pop3, "pop3"}, {Protocol::pop3s, "pop3s"},
    };
    for (const auto& [protocol, name] : mail) {
        EXPECT_EQ(to_string(protocol), name);
        const bool implicit = name.ends_with('s') && name != "submission";
        EXPECT_EQ(uses_implicit_tls(protocol), implicit) << name;
        EXPECT_EQ(supports_starttls(protocol), !implicit) << name;
    }
    EXPECT_FALSE(supports_starttls(Protocol::tcp));
    EXPECT_FALSE(supports_starttls(Protocol::http));
}

TEST(DurationTest, ParsesValidForms) {
    const std::pair<std::string_view, Duration> table[] = {
        {"500ms", 500ms},
        {"15s", 15s},
        {"5m", 5min},
        {"2h", 2h},
        {"21d", std::chrono::days(21)},
        {"1m30s", 90s},
        {"1h0m5s", 3605s},
        {"1s500ms", 1500ms},
        {"1d12h", 36h},
        {"0s", 0ms},
        {"9223372036854775807ms", Duration(std::numeric_limits<std::int64_t>::max())},
    };
    for (const auto& [text, expected] : table) {
        const auto parsed = parse_duration(text);
        ASSERT_TRUE(parsed.has_value()) << text;
        EXPECT_EQ(*parsed, expected) << text;
    }
}

TEST(DurationTest, RejectsMalformedForms) {
    const std::string_view table[] = {
        "",      "5",     "5x",     "-5s",   "+5s",  " 5s", "5s ", "1.5s", "5S",
        "30s1m",  // units out of order
        "1s1s",   // a unit twice
        "ms",    "s5",    "5 s",
        "9223372036854775808ms",  // past int64
        "200000000000d",          // overflows when scaled
        "106751991167d8h",        // overflows when summed
    };
    for (std::string_view text : table) {
        EXPECT_FALSE(parse_duration(text).has_value()) << '"' << text << '"';
    }
}

TEST(DurationTest, FormatsAndRoundTrips) {
    EXPECT_EQ(format_duration(0ms), "0s");
    EXPECT_EQ(format_duration(500ms), "500ms");
    EXPECT_EQ(format_duration(90s), "1m30s");
    EXPECT_EQ(format_duration(1500ms), "1s500ms");
    EXPECT_EQ(format_duration(std::chrono::days(21)), "21d");
    EXPECT_EQ(format_duration(-1500ms), "-1s500ms");
    for (const Duration d : std::initializer_list<Duration>{1ms, 999ms, 61s, 3601s, std::chrono::days(400) + 1ms}) {
        EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
    }
}

TEST_F(ConfigTest, TomlSyntaxErrorAtParserPosition) {
    expect_error_prefix("[[node]]\nname = \"mta1\nrole = \"mta\"\n", "2:13", "Error while parsing string");
    expect_error_prefix(with_base("[[check]]\nname = = \"x\"\n"), "11:8", "Error while parsing value");
}

TEST_F(ConfigTest, UnknownKeyWithSuggestion) {
    expect_error(with_tcp_check("intervall = \"15s\"\n"), "15:13",
                 "unknown key \"intervall\" in [[check]] \"smtp\" (did you mean \"interval\"?)");
    expect_error("[[nodes]]\nname = \"x\"\n", "1:1",
                 "unknown key \"nodes\" in the top-level table (did you mean \"node\"?)");
}

TEST_F(ConfigTest, UnknownKeyReportedInDocumentOrder) {
    // toml++ keeps keys sorted; the operator expects the first one in the file.
    expect_error("[daemon]\nzzz_setting = 1\naaa_setting = 2\n", "2:15", "unknown key \"zzz_setting\" in [daemon]");
}

TEST_F(ConfigTest, AlertingSectionsAreReadAndCheckedAgainstTheBase) {
    // The sections are parse_alerting()'s (alerting_config_test covers them); the loader must
    // hand them over, and their errors keep their positions.
    const auto config =
        parse(with_base("[[pager]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\n"));
    ASSERT_TRUE(config.alerting);
    EXPECT_EQ(config.alerting->pagers.size(), 1u);
    EXPECT_TRUE(config.alerting->pager("am"));
    const std::string error = error_of(with_base("[tiers.tier2]\nreceivers = [\"nobody\"]\n"));
    EXPECT_TRUE(error.starts_with(file() + ":11:")) << error;
    EXPECT_NE(error.find("\"nobody\""), std::string::npos) << error;
}

TEST_F(ConfigTest, WrongTypes) {
    expect_error("[[node]]\nname = \"mta1\"\nrole = 5\naddress = \"10.0.0.1\"\n", "3:8",
                 "expected a string for \"role\", got integer");
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 25\nroles = [\"mta\", 7]\n"),
                 "14:17", "expected a string for each entry of \"roles\", got integer");
    expect_error(with_tls_check("tls_verify = \"no\"\n"), "15:14", "expected a boolean for \"tls_verify\", got string");
    expect_error("[[daemon]]\nlisten = \"127.0.0.1:1\"\n", "1:1",
                 "expected a table for \"daemon\" (written [daemon]), got array");
    expect_error("[node]\nname = \"x\"\n", "1:1", "expected an array for \"node\" (written [[node]]), got table");
}

TEST_F(ConfigTest, IntegerIsNotADuration) {
    expect_error("[defaults]\ninterval = 15\n", "2:12",
                 "expected a duration string for \"interval\" (e.g. \"15s\"), got integer");
}

TEST_F(ConfigTest, MalformedDuration) {
    expect_error(with_tcp_check("interval = \"5x\"\n"), "15:12",
                 "invalid duration \"5x\" for \"interval\" (expected e.g. 500ms, 15s, 5m, 2h, 21d)");
    expect_error("[daemon]\ndns_refresh = \"0s\"\n", "2:15", "\"dns_refresh\" must be longer than 0s");
    expect_error("[defaults]\ncert_refresh = \"4000d\"\n", "2:16",
                 "duration \"4000d\" for \"cert_refresh\" is too long (at most 3650d)");
}

TEST_F(ConfigTest, DuplicateNames) {
    expect_error("[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\n\n"
                 "[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.2\"\n",
                 "7:8", "duplicate node name \"mta1\" (first defined at " + file() + ":2:8)");
    expect_error(with_base("[[nlb]]\nname = \"mail\"\nfqdn = \"other.example.com\"\n"), "11:8",
                 "duplicate nlb name \"mail\" (first defined at " + file() + ":7:8)");
    expect_error(with_tcp_check("\n[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 26\nroles = [\"mta\"]\n"),
                 "17:8", "duplicate check name \"smtp\" (first defined at " + file() + ":11:8)");
}

TEST_F(ConfigTest, UnknownRoleOrNlb) {
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 25\nroles = [\"mtaa\"]\n"), "14:10",
                 "role \"mtaa\" is not the role of any [[node]] (did you mean \"mta\"?)");
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 25\nnlbs = [\"mial\"]\n"), "14:9",
                 "nlb \"mial\" is not defined by any [[nlb]] (did you mean \"mail\"?)");
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 25\nroles = [\"mta\", \"mta\"]\n"),
                 "14:17", "role \"mta\" is listed twice");
}

TEST_F(ConfigTest, CheckWithoutTargets) {
    const std::string message = "[[check]] \"smtp\" has neither \"roles\" nor \"nlbs\", so it would probe nothing";
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 25\n"), "10:1", message);
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = 25\nroles = []\n"), "10:1",
                 message);
}

TEST_F(ConfigTest, MissingRequiredKeysAtTheTable) {
    expect_error("[[node]]\nname = \"mta1\"\nrole = \"mta\"\n", "1:1",
                 "missing required key \"address\" in [[node]] \"mta1\"");
    expect_error("[[nlb]]\nfqdn = \"mail.example.com\"\n", "1:1", "missing required key \"name\" in [[nlb]] #1");
    expect_error(with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nroles = [\"mta\"]\n"), "10:1",
                 "missing required key \"port\" in [[check]] \"smtp\" (protocol \"tcp\" has no default port)");
    expect_error("[[node]]\nname = \"\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\n", "2:8",
                 "\"name\" must not be empty");
}

TEST_F(ConfigTest, UnsupportedAndUnknownProtocols) {
    const auto check = [](std::string_view protocol) {
        return with_base("[[check]]\nname = \"c\"\nprotocol = \"" + std::string(protocol) +
                         "\"\nport = 25\nroles = [\"mta\"]\n");
    };
    const std::string supported =
        "tcp, tls, http, https, smtp, smtps, submission, lmtp, imap, imaps, pop3, pop3s, ldap, ldaps, ldap_replication, "
        "roundtrip, dnsbl, fcrdns, dane, mail_domain";
    expect_error(check("foo"), "12:12", "unknown protocol \"foo\" (expected one of: " + supported + ")");
    expect_error(check("htps"), "12:12",
                 "unknown protocol \"htps\" (expected one of: " + supported + ") (did you mean \"https\"?)");
    expect_error(check("imap4"), "12:12",
                 "unknown protocol \"imap4\" (expected one of: " + supported + ") (did you mean \"imap\"?)");
}

TEST_F(ConfigTest, KeysForOtherProtocolsRefused) {
    expect_error(with_tcp_check("method = \"GET\"\n"), "15:10",
                 "\"method\" applies only to protocols http, https, not to protocol \"tcp\"");
    expect_error(with_tcp_check("cert_warning = \"7d\"\n"), "15:16",
                 "\"cert_warning\" applies only to protocols with TLS (tls, https, smtps, imaps, pop3s, ldaps) and checks "
                 "with starttls = true, not to protocol \"tcp\"");
    expect_error(with_base("[[check]]\nname = \"web\"\nprotocol = \"http\"\nroles = [\"mta\"]\nbanner_regex = \"x\"\n"),
                 "14:16", "\"banner_regex\" applies only to protocols tcp, tls, not to protocol \"http\"");
}

// A mail check on the mta role; `protocol` and `rest` are lines 12 and 15 onwards.
std::string mail_check(std::string_view protocol, std::string_view rest = {}) {
    return with_base("[[check]]\nname = \"mail\"\nprotocol = \"" + std::string(protocol) +
                     "\"\nroles = [\"mta\"]\n\n" + std::string(rest));
}

TEST_F(ConfigTest, MailProtocolsDefaultPortsAndSettings) {
    const std::pair<std::string_view, std::uint16_t> ports[] = {
        {"smtp", 25},  {"smtps", 465},  {"submission", 587}, {"lmtp", 24},
        {"imap", 143}, {"imaps", 993},  {"pop3", 110},       {"pop3s", 995},
    };
    write("ca.pem", "not parsed at load\n");
    for (const auto& [protocol, port] : ports) {
        const std::string rest = protocol.ends_with('s') && protocol != "submission" ? "ca_file = \"ca.pem\"\n" : "";
        const Check check = parse(mail_check(protocol, rest)).checks.at(0);
        EXPECT_EQ(check.port, port) << protocol;
        EXPECT_FALSE(check.mail.starttls);
        EXPECT_TRUE(check.mail.expect_capabilities.empty());
        EXPECT_EQ(check.mail.mailbox, "INBOX");
        EXPECT_EQ(check.mail.helo_name, "tierwatch.invalid");
        // SASL PLAIN for SMTP; the protocol's own login command for IMAP and POP3.
        EXPECT_EQ(check.mail.auth, protocol.starts_with("imap") || protocol.starts_with("pop3") ? MailAuth::login
                                                                                                 : MailAuth::plain)
            << protocol;
        EXPECT_EQ(check.uses_tls(), !rest.empty()) << protocol;
    }
}

TEST_F(ConfigTest, MailSettingsRead) {
    write("ca.pem", "x\n");
    write("probe.password", "secret\n");
    const Check smtp = parse(mail_check("submission",
                                        "starttls = true\nca_file = \"ca.pem\"\ntls_server_name = \"mx.example.com\"\n"
                                        "expect_capabilities = [\"PIPELINING\", \"AUTH PLAIN\"]\n"
                                        "helo_name = \"monitor.example.com\"\nauth_mechanism = \"login\"\n"
                                        "username = \"probe@example.com\"\npassword_file = \"probe.password\"\n"))
                           .checks.at(0);
    EXPECT_TRUE(smtp.mail.starttls);
    EXPECT_TRUE(smtp.uses_tls());
    EXPECT_EQ(smtp.tls.server_name, "mx.example.com");
    EXPECT_EQ(smtp.mail.expect_capabilities, (std::vector<std::string>{"PIPELINING", "AUTH PLAIN"}));
    EXPECT_EQ(smtp.mail.helo_name, "monitor.example.com");
    EXPECT_EQ(smtp.mail.auth, MailAuth::login);
    EXPECT_EQ(smtp.password.reveal(), "secret");

    const Check imap = parse(mail_check("imap", "mailbox = \"Probe/Ünïcode\"\nauth_mechanism = \"plain\"\n"
                                                "tls_verify = false\nstarttls = true\n"))
                           .checks.at(0);
    EXPECT_EQ(imap.mail.mailbox, "Probe/Ünïcode");
    EXPECT_EQ(imap.mail.auth, MailAuth::plain);
    EXPECT_FALSE(imap.tls.verify);
}

TEST_F(ConfigTest, MailKeysOnlyWhereTheyApply) {
    expect_error(with_tcp_check("starttls = true\n"), "15:12",
                 "\"starttls\" applies only to protocols smtp, submission, lmtp, imap, pop3, ldap, ldap_replication, "
                 "not to protocol \"tcp\"");
    expect_error(mail_check("imaps", "starttls = true\n"), "15:12",
                 "\"starttls\" applies only to protocols smtp, submission, lmtp, imap, pop3, ldap, ldap_replication, "
                 "not to protocol \"imaps\"");
    expect_error(mail_check("pop3", "mailbox = \"INBOX\"\n"), "15:11",
                 "\"mailbox\" applies only to protocols imap, imaps, not to protocol \"pop3\"");
    expect_error(mail_check("imap", "helo_name = \"a.example\"\n"), "15:13",
                 "\"helo_name\" applies only to protocols smtp, smtps, submission, lmtp, not to protocol \"imap\"");
    expect_error(with_tcp_check("expect_capabilities = [\"STARTTLS\"]\n"), "15:23",
                 "\"expect_capabilities\" applies only to mail protocols (smtp, smtps, submission, lmtp, imap, imaps, "
                 "pop3, pop3s), not to protocol \"tcp\"");
    // TLS settings without TLS would be silently ignored.
    expect_error(mail_check("smtp", "tls_verify = false\n"), "15:14",
                 "\"tls_verify\" applies only to protocols with TLS (tls, https, smtps, imaps, pop3s, ldaps) and "
                 "checks with starttls = true, not to protocol \"smtp\"");
    expect_error(mail_check("smtp", "starttls = false\ncert_warning = \"7d\"\n"), "16:16",
                 "\"cert_warning\" applies only to protocols with TLS (tls, https, smtps, imaps, pop3s, ldaps) and "
                 "checks with starttls = true, not to protocol \"smtp\"");
}

TEST_F(ConfigTest, MailValuesValidated) {
    expect_error(mail_check("smtp", "auth_mechanism = \"cram-md5\"\n"), "15:18",
                 "invalid auth_mechanism \"cram-md5\" (expected one of: plain, login)");
    expect_error(mail_check("smtp", "helo_name = \"my host\"\n"), "15:13",
                 "invalid helo_name \"my host\" (expected a domain or an address literal like [192.0.2.1])");
    expect_error(mail_check("imap", "mailbox = \"INBOX\\r\\nA2 DELETE INBOX\"\n"), "15:11",
                 "\"mailbox\" must not contain control characters");
    expect_error(mail_check("imap", "mailbox = \"\"\n"), "15:11", "\"mailbox\" must not be empty");
    expect_error(mail_check("pop3", "expect_capabilities = [\"USER\", \" TOP\"]\n"), "15:32",
                 "each entry of \"expect_capabilities\" must be a capability name without surrounding spaces, got "
                 "\" TOP\"");
    expect_error(mail_check("smtp", "expect_capabilities = \"STARTTLS\"\n"), "15:23",
                 "expected an array for \"expect_capabilities\", got string");
    expect_error(mail_check("smtp", "starttls = \"yes\"\n"), "15:12", "expected a boolean for \"starttls\", got string");
}

TEST_F(ConfigTest, MailLoginNeedsBothHalves) {
    write("probe.password", "secret\n");
    expect_error(mail_check("imap", "username = \"probe\"\n"), "15:12",
                 "[[check]] \"mail\" needs both \"username\" and \"password_file\" to log in");
    expect_error(mail_check("pop3", "password_file = \"probe.password\"\n"), "15:17",
                 "[[check]] \"mail\" needs both \"username\" and \"password_file\" to log in");
}

TEST_F(ConfigTest, StarttlsNeedsAReadableCaFile) {
    expect_error(mail_check("smtp", "starttls = true\nca_file = \"missing-ca.pem\"\n"), "16:11",
                 "cannot read ca_file \"" + dir() + "/missing-ca.pem\": No such file or directory");
    expect_error(mail_check("pop3s", "\n[defaults]\nca_file = \"missing-ca.pem\"\n"), "17:11",
                 "cannot read ca_file \"" + dir() + "/missing-ca.pem\": No such file or directory");
    // Plain SMTP never reads it.
    EXPECT_NO_THROW(parse(mail_check("smtp", "\n[defaults]\nca_file = \"missing-ca.pem\"\n")));
}

TEST_F(ConfigTest, UnreadablePasswordFile) {
    expect_error(with_tcp_check("password_file = \"missing.password\"\n"), "15:17",
                 "cannot read password_file \"" + dir() + "/missing.password\": No such file or directory");
    write("empty.password", "\n");
    expect_error(with_tcp_check("password_file = \"empty.password\"\n"), "15:17",
                 "password_file \"" + dir() + "/empty.password\" is empty");
}

TEST(SecretPathTest, PathsAndCredentials) {
    const std::filesystem::path base = "/etc/tierwatch";
    const std::filesystem::path credentials = "/run/credentials/tierwatchd.service";
    EXPECT_EQ(resolve_secret_path("probe.password", base, credentials), "/etc/tierwatch/probe.password");
    EXPECT_EQ(resolve_secret_path("../keys/a", base, credentials), "/etc/keys/a");
    EXPECT_EQ(resolve_secret_path("/srv/secret", base, std::nullopt), "/srv/secret");
    EXPECT_EQ(resolve_secret_path("credential:ldap-bind", base, credentials),
              "/run/credentials/tierwatchd.service/ldap-bind");
    // A file really called "credential:x" is still reachable as a path.
    EXPECT_EQ(resolve_secret_path("./credential:x", base, credentials), "/etc/tierwatch/credential:x");
}

TEST(SecretPathTest, RefusesBadNamesAndAMissingDirectory) {
    const auto reason = [](std::string_view written, const std::optional<std::filesystem::path>& directory) {
        try {
            resolve_secret_path(written, "/etc/tierwatch", directory);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("resolved");
    };
    const std::filesystem::path credentials = "/run/credentials/x";
    for (const std::string_view bad : {"credential:", "credential:..", "credential:.", "credential:a/b",
                                       "credential:../etc/shadow"}) {
        EXPECT_EQ(reason(bad, credentials),
                  "\"" + std::string(bad) + "\": a credential name is one file name, as in LoadCredential=NAME:/path");
    }
    const std::string unset = "\"credential:pw\" needs $CREDENTIALS_DIRECTORY, which systemd sets for a unit "
                              "with LoadCredential=pw:/path; it is not set here";
    EXPECT_EQ(reason("credential:pw", std::nullopt), unset);
    EXPECT_EQ(reason("credential:pw", std::filesystem::path()), unset);
}

TEST_F(ConfigTest, PasswordFromSystemdCredential) {
    write("credentials/probe", "from-credential\n");
    const test::ScopedEnv env("CREDENTIALS_DIRECTORY", dir() + "/credentials");
    EXPECT_EQ(parse(with_tcp_check("password_file = \"credential:probe\"\n")).checks.at(0).password.reveal(),
              "from-credential");
    expect_error(with_tcp_check("password_file = \"credential:absent\"\n"), "15:17",
                 "cannot read password_file \"" + dir() + "/credentials/absent\": No such file or directory");
    expect_error(with_tcp_check("password_file = \"credential:a/b\"\n"), "15:17",
                 "password_file \"credential:a/b\": a credential name is one file name, as in "
                 "LoadCredential=NAME:/path");
}

// The listener's token and key pair take credentials too: one resolver for every secret.
TEST_F(ConfigTest, DaemonSecretsFromSystemdCredentials) {
    write("credentials/api-token", "t0ken\n");
    const test::ScopedEnv env("CREDENTIALS_DIRECTORY", dir() + "/credentials");
    const Config config = parse(std::string(kBase) + std::string(kTcpCheck) +
                                "[daemon]\n"
                                "api_token_file = \"credential:api-token\"\n"
                                "tls_cert_file = \"credential:listener.pem\"\n"
                                "tls_key_file = \"credential:listener.key\"\n");
    EXPECT_EQ(config.daemon.api_token.reveal(), "t0ken");
    EXPECT_EQ(config.daemon.tls_cert_file, dir() + "/credentials/listener.pem");
    EXPECT_EQ(config.daemon.tls_key_file, dir() + "/credentials/listener.key");
}

TEST_F(ConfigTest, CredentialOutsideSystemdSaysWhatIsMissing) {
    const test::ScopedEnv env("CREDENTIALS_DIRECTORY", std::nullopt);
    expect_error(with_tcp_check("password_file = \"credential:probe\"\n"), "15:17",
                 "password_file \"credential:probe\" needs $CREDENTIALS_DIRECTORY, which systemd sets for a unit "
                 "with LoadCredential=probe:/path; it is not set here");
}

TEST_F(ConfigTest, UnreadableCaFileOnlyWhenVerifying) {
    expect_error(with_tls_check("ca_file = \"missing-ca.pem\"\n"), "15:11",
                 "cannot read ca_file \"" + dir() + "/missing-ca.pem\": No such file or directory");
    std::filesystem::create_directories(std::filesystem::path(dir()) / "certs");
    expect_error(with_tls_check("ca_file = \"certs\"\n"), "15:11",
                 "cannot read ca_file \"" + dir() + "/certs\": Is a directory");
    // Inherited from [defaults]: reported where [defaults] names it.
    expect_error(with_tls_check("\n[defaults]\nca_file = \"missing-ca.pem\"\n"), "17:11",
                 "cannot read ca_file \"" + dir() + "/missing-ca.pem\": No such file or directory");
    EXPECT_NO_THROW(parse(with_tls_check("ca_file = \"missing-ca.pem\"\ntls_verify = false\n")));
    EXPECT_NO_THROW(parse(with_tcp_check("\n[defaults]\nca_file = \"missing-ca.pem\"\n")));
}

TEST_F(ConfigTest, TimeoutAboveInterval) {
    const std::string message = " (a target must never overlap itself)";
    expect_error(with_tcp_check("interval = \"5s\"\ntimeout = \"10s\"\n"), "16:11",
                 "timeout 10s is above interval 5s" + message);
    // The built-in 5s timeout meets the check's own interval: the interval is what to change.
    expect_error(with_tcp_check("interval = \"2s\"\n"), "15:12", "timeout 5s is above interval 2s" + message);
    expect_error(with_tcp_check("interval = \"10s\"\n\n[defaults]\ninterval = \"30s\"\ntimeout = \"20s\"\n"), "15:12",
                 "timeout 20s is above interval 10s" + message);
    expect_error("[defaults]\ninterval = \"2s\"\n", "2:12", "timeout 5s is above interval 2s" + message);
}

TEST_F(ConfigTest, RiseAndFallAtLeastOne) {
    expect_error(with_tcp_check("rise = 0\n"), "15:8", "\"rise\" must be at least 1, got 0");
    expect_error("[defaults]\nfall = -1\n", "2:8", "\"fall\" must be at least 1, got -1");
}

TEST_F(ConfigTest, PortOutOfRange) {
    const auto check = [](std::string_view port) {
        return with_base("[[check]]\nname = \"smtp\"\nprotocol = \"tcp\"\nport = " + std::string(port) +
                         "\nroles = [\"mta\"]\n");
    };
    expect_error(check("70000"), "13:8", "\"port\" must be between 1 and 65535, got 70000");
    expect_error(check("0"), "13:8", "\"port\" must be between 1 and 65535, got 0");
}

TEST_F(ConfigTest, LatencyWarningAboveCritical) {
    expect_error(with_tcp_check("latency_warning = \"3s\"\nlatency_critical = \"2s\"\n"), "15:19",
                 "latency_warning 3s is above latency_critical 2s");
    expect_error(with_tcp_check("latency_critical = \"2s\"\n\n[defaults]\nlatency_warning = \"3s\"\n"), "15:20",
                 "latency_warning 3s is above latency_critical 2s");
}

TEST_F(ConfigTest, CertCriticalAboveWarning) {
    expect_error(with_tls_check("tls_verify = false\ncert_warning = \"7d\"\ncert_critical = \"14d\"\n"), "17:17",
                 "cert_critical 14d is above cert_warning 7d (critical is the nearer expiry)");
    expect_error("[defaults]\ncert_warning = \"5d\"\n", "2:16",
                 "cert_critical 7d is above cert_warning 5d (critical is the nearer expiry)");
}

TEST_F(ConfigTest, InFlightLimitsAtLeastOne) {
    expect_error("[daemon]\nmax_in_flight = 0\n", "2:17", "\"max_in_flight\" must be at least 1, got 0");
    expect_error("[daemon]\nper_host_max_in_flight = 0\n", "2:26",
                 "\"per_host_max_in_flight\" must be at least 1, got 0");
}

TEST_F(ConfigTest, ListenAndNameserverAddresses) {
    const auto listen = [](std::string_view address) {
        return "[daemon]\nlisten = \"" + std::string(address) + "\"\n";
    };
    for (std::string_view good : {"127.0.0.1:9469", "[::1]:9469", "monitor.example.com:1", "0.0.0.0:65535"}) {
        EXPECT_EQ(parse(listen(good)).daemon.listen, good);
    }
    for (std::string_view bad : {"9469", "::1:9469", "[::1]9469", "host:0", "host:65536", ":9469", "[127.0.0.1]:80",
                                 "host:http", "host:-1"}) {
        expect_error(listen(bad), "2:10",
                     "invalid address \"" + std::string(bad) + "\" for \"listen\" (expected host:port or [v6]:port)");
    }
    expect_error("[daemon]\nnameservers = [\"1.1.1.1:53\", \"8.8.8.8\"]\n", "2:30",
                 "invalid address \"8.8.8.8\" for \"nameservers\" (expected host:port or [v6]:port)");
}

TEST_F(ConfigTest, LogLevelValidated) {
    expect_error("[daemon]\nlog_level = \"verbose\"\n", "2:13",
                 "invalid log_level \"verbose\" (expected one of: trace, debug, info, warn, error, critical, off)");
}

TEST_F(ConfigTest, InvalidRegexes) {
    expect_error_prefix(with_tcp_check("banner_regex = '^220 ('\n"), "15:16", "invalid regex for \"banner_regex\": ");
    expect_error_prefix(with_base("[[check]]\nname = \"web\"\nprotocol = \"http\"\nroles = [\"mta\"]\n"
                                  "body_regex = \"[unclosed\"\n"),
                        "14:14", "invalid regex for \"body_regex\": ");
}

TEST_F(ConfigTest, HttpSettingsValidated) {
    const auto http = [](std::string_view line) {
        return with_base("[[check]]\nname = \"web\"\nprotocol = \"http\"\nroles = [\"mta\"]\n" + std::string(line) +
                         "\n");
    };
    expect_error(http("expected_status = [200, 99]"), "14:25",
                 "invalid HTTP status 99 in \"expected_status\" (expected 100-599)");
    expect_error(http("path = \"health\""), "14:8", "\"path\" must start with \"/\", got \"health\"");
    expect_error(http("method = \"get\""), "14:10", "invalid HTTP method \"get\" (expected e.g. GET)");
    expect_error(http("body_limit = 0"), "14:14", "\"body_limit\" must be between 1 and 1073741824, got 0");
}

TEST_F(ConfigTest, SecretsNeverInErrors) {
    const std::string secret = "hunter2-correct-horse";
    write("probe.password", secret + "\n");
    // The password is read before the timeout is checked, so it is in hand when the error is built.
    const std::string error = error_of(with_tcp_check("password_file = \"probe.password\"\ntimeout = \"20s\"\n"));
    EXPECT_EQ(error, file() + ":16:11: timeout 20s is above interval 15s (a target must never overlap itself)");
    EXPECT_EQ(error.find(secret), std::string::npos);
}

TEST_F(ConfigTest, PasswordLosesOnlyOneTrailingNewline) {
    write("crlf.password", "s3cret\r\n");
    write("two.password", "s3cret\n\n");
    write("none.password", "s3cret");
    const auto password = [&](std::string_view name) {
        return parse(with_tcp_check("password_file = \"" + std::string(name) + "\"\n")).checks.at(0).password.reveal();
    };
    EXPECT_EQ(password("crlf.password"), "s3cret");
    EXPECT_EQ(password("two.password"), "s3cret\n");
    EXPECT_EQ(password("none.password"), "s3cret");
}

TEST_F(ConfigTest, MissingConfigFileNamesThePath) {
    const std::string path = dir() + "/absent.toml";
    try {
        load_config(path);
        FAIL() << "loaded a missing file";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), (path + ": cannot read configuration file \"" + path + "\": No such file or directory")
                                   .c_str());
    }
}

TEST_F(ConfigTest, FullConfigRoundTrip) {
    const std::filesystem::path ca = write("certs/ca.pem", "-----BEGIN CERTIFICATE-----\n");
    const std::filesystem::path other_ca = write("other/ca.pem", "-----BEGIN CERTIFICATE-----\n");
    write("secrets/probe.password", "s3cret\n");
    const std::string text = R"([daemon]
listen = "[::1]:9470"
state_dir = "state"
max_in_flight = 100
per_host_max_in_flight = 2
dns_refresh = "1m"
nameservers = ["10.0.0.2:53", "[fd00::2]:53"]
log_level = "debug"

[defaults]
interval = "30s"
timeout = "4s"
rise = 3
fall = 4
ca_file = "certs/ca.pem"
cert_warning = "30d"
cert_critical = "10d"
tls_resume = true
cert_refresh = "2h"
latency_warning = "800ms"

[[node]]
name = "mta1"
role = "mta"
zone = "us-east-2a"
address = "172.16.0.10"
fqdn = "mail1.example.com"

[[node]]
name = "proxy1"
role = "proxy"
address = "proxy1.internal"

[[nlb]]
name = "mail"
fqdn = "mail.example.com"

[[check]]
name = "imaps"
protocol = "tls"
port = 993
roles = ["proxy"]
nlbs = ["mail"]
timeout = "2s"
latency_critical = "2s"
tls_server_name = "mail.example.com"
username = "probe@example.com"
password_file = "secrets/probe.password"

[[check]]
name = "web"
protocol = "https"
nlbs = ["mail"]
interval = "1m"
ca_file = ")" + other_ca.string() + R"("
tls_verify_hostname = false
tls_resume = false
method = "HEAD"
path = "/health"
host = "mail.example.com"
expected_status = [200, 204]
body_regex = "ok$"
body_limit = 4096
follow_redirects = true
max_redirects = 2

[[check]]
name = "smtp"
protocol = "tcp"
port = 25
roles = ["mta"]
banner_regex = '^220 '

[[check]]
name = "plain"
protocol = "http"
roles = ["proxy"]
)";
    write("tierwatch.toml", text);
    const Config config = load_config(file());

    EXPECT_EQ(config.file, file());
    EXPECT_EQ(config.daemon.listen, "[::1]:9470");
    EXPECT_EQ(config.daemon.state_dir, std::filesystem::path(dir()) / "state");
    EXPECT_EQ(config.daemon.max_in_flight, 100u);
    EXPECT_EQ(config.daemon.per_host_max_in_flight, 2u);
    EXPECT_EQ(config.daemon.dns_refresh, 1min);
    EXPECT_EQ(config.daemon.nameservers, (std::vector<std::string>{"10.0.0.2:53", "[fd00::2]:53"}));
    EXPECT_EQ(config.daemon.log_level, "debug");

    EXPECT_EQ(config.defaults.interval, 30s);
    EXPECT_EQ(config.defaults.timeout, 4s);
    EXPECT_EQ(config.defaults.ca_file, ca);
    EXPECT_EQ(config.defaults.latency_warning, 800ms);
    EXPECT_FALSE(config.defaults.latency_critical.has_value());

    ASSERT_EQ(config.nodes.size(), 2u);
    EXPECT_EQ(config.nodes[0].name, "mta1");
    EXPECT_EQ(config.nodes[0].zone, "us-east-2a");
    EXPECT_EQ(config.nodes[0].fqdn, "mail1.example.com");
    EXPECT_EQ(config.nodes[0].where.line, 22u);
    EXPECT_EQ(config.nodes[1].zone, "default");
    EXPECT_EQ(config.nodes[1].address, "proxy1.internal");
    EXPECT_TRUE(config.nodes[1].fqdn.empty());
    ASSERT_EQ(config.nlbs.size(), 1u);
    EXPECT_EQ(config.nlbs[0].fqdn, "mail.example.com");

    ASSERT_EQ(config.checks.size(), 4u);
    const Check& imaps = config.checks[0];
    EXPECT_EQ(imaps.protocol, Protocol::tls);
    EXPECT_EQ(imaps.port, 993);
    EXPECT_EQ(imaps.roles, std::vector<std::string>{"proxy"});
    EXPECT_EQ(imaps.nlbs, std::vector<std::string>{"mail"});
    EXPECT_EQ(imaps.interval, 30s);  // from [defaults]
    EXPECT_EQ(imaps.timeout, 2s);    // its own
    EXPECT_EQ(imaps.rise, 3u);
    EXPECT_EQ(imaps.fall, 4u);
    EXPECT_EQ(imaps.latency_warning, 800ms);
    EXPECT_EQ(imaps.latency_critical, 2s);
    EXPECT_EQ(imaps.cert_warning, std::chrono::days(30));
    EXPECT_EQ(imaps.cert_critical, std::chrono::days(10));
    EXPECT_EQ(imaps.tls.ca_file, ca);
    EXPECT_TRUE(imaps.tls.verify);
    EXPECT_TRUE(imaps.tls.verify_hostname);
    EXPECT_EQ(imaps.tls.server_name, "mail.example.com");
    EXPECT_TRUE(imaps.tls.resume);
    EXPECT_EQ(imaps.tls.cert_refresh, 2h);
    EXPECT_EQ(imaps.username, "probe@example.com");
    EXPECT_EQ(imaps.password.reveal(), "s3cret");
    EXPECT_EQ(imaps.where.line, 38u);

    const Check& web = config.checks[1];
    EXPECT_EQ(web.protocol, Protocol::https);
    EXPECT_EQ(web.port, 443);
    EXPECT_EQ(web.interval, 1min);
    EXPECT_EQ(web.tls.ca_file, other_ca);
    EXPECT_FALSE(web.tls.verify_hostname);
    EXPECT_FALSE(web.tls.resume);
    EXPECT_TRUE(web.password.empty());
    EXPECT_EQ(web.http.method, "HEAD");
    EXPECT_EQ(web.http.path, "/health");
    EXPECT_EQ(web.http.host, "mail.example.com");
    EXPECT_EQ(web.http.expected_statuses, (std::vector<int>{200, 204}));
    ASSERT_TRUE(web.http.body_regex.has_value());
    EXPECT_TRUE(boost::regex_search("all ok", *web.http.body_regex));
    EXPECT_FALSE(boost::regex_search("ok, not", *web.http.body_regex));
    EXPECT_EQ(web.http.body_regex_text, "ok$");
    EXPECT_EQ(web.http.body_limit, 4096u);
    EXPECT_TRUE(web.http.follow_redirects);
    EXPECT_EQ(web.http.max_redirects, 2u);

    const Check& smtp = config.checks[2];
    EXPECT_EQ(smtp.protocol, Protocol::tcp);
    ASSERT_TRUE(smtp.tcp.banner_regex.has_value());
    EXPECT_TRUE(boost::regex_search("220 mx.example.com ESMTP", *smtp.tcp.banner_regex));
    EXPECT_FALSE(boost::regex_search("421 busy", *smtp.tcp.banner_regex));

    const Check& plain = config.checks[3];
    EXPECT_EQ(plain.port, 80);
    EXPECT_EQ(plain.http.method, "GET");
    EXPECT_TRUE(plain.http.expected_statuses.empty());
    EXPECT_FALSE(plain.http.body_regex.has_value());
}

// Two LDAP nodes; an LDAP check from line 19 on, `rest` from line 24.
std::string ldap_check(std::string_view protocol, std::string_view rest = {}) {
    return with_base("[[node]]\nname = \"ldap1\"\nrole = \"ldap\"\naddress = \"10.0.0.3\"\n"
                     "[[node]]\nname = \"ldap2\"\nrole = \"ldap\"\naddress = \"ldap2.example.com\"\n\n"
                     "[[check]]\nname = \"dir\"\nprotocol = \"" +
                     std::string(protocol) + "\"\nroles = [\"ldap\"]\n\n" + std::string(rest));
}

TEST_F(ConfigTest, LdapDefaultsAndSettings) {
    const Check plain = parse(ldap_check("ldap")).checks.at(0);
    EXPECT_EQ(plain.port, 389);
    EXPECT_FALSE(plain.uses_tls());
    EXPECT_EQ(plain.ldap.search_base, "");
    EXPECT_EQ(plain.ldap.search_scope, LdapScope::base);
    EXPECT_EQ(plain.ldap.search_filter_ber, compile_ldap_filter("(objectClass=*)").ber);
    EXPECT_TRUE(plain.ldap.bind_dn.empty());

    write("ca.pem", "x\n");
    write("ldap.password", "s3cret\n");
    const Check full = parse(ldap_check("ldap", "starttls = true\nca_file = \"ca.pem\"\n"
                                                "bind_dn = \"cn=probe,dc=example,dc=test\"\n"
                                                "password_file = \"ldap.password\"\n"
                                                "search_base = \"ou=people,dc=example,dc=test\"\n"
                                                "search_scope = \"sub\"\nsearch_filter = \"(uid=probe)\"\n"
                                                "search_attributes = [\"mail\"]\nsize_limit = 10\nmin_entries = 1\n"))
                           .checks.at(0);
    EXPECT_TRUE(full.ldap.starttls);
    EXPECT_TRUE(full.uses_tls());
    EXPECT_EQ(full.ldap.bind_dn, "cn=probe,dc=example,dc=test");
    EXPECT_EQ(full.password.reveal(), "s3cret");
    EXPECT_EQ(full.ldap.search_scope, LdapScope::sub);
    EXPECT_EQ(full.ldap.search_filter_ber, compile_ldap_filter("(uid=probe)").ber);
    EXPECT_EQ(full.ldap.search_attributes, std::vector<std::string>{"mail"});
    EXPECT_EQ(full.ldap.size_limit, 10);
    EXPECT_EQ(full.ldap.min_entries, 1u);

    const Check ldaps = parse(ldap_check("ldaps", "ca_file = \"ca.pem\"\n")).checks.at(0);
    EXPECT_EQ(ldaps.port, 636);
    EXPECT_TRUE(ldaps.uses_tls());
}

TEST_F(ConfigTest, LdapErrorsAtTheirKeys) {
    // The filter's own offset is named, at the value's line and column.
    expect_error(ldap_check("ldap", "search_filter = \"(uid=probe\"\n"), "24:17",
                 "invalid search_filter \"(uid=probe\" at offset 10: " +
                     compile_ldap_filter("(uid=probe").error->message);
    expect_error(ldap_check("ldap", "search_scope = \"subtree\"\n"), "24:16",
                 "invalid search_scope \"subtree\" (expected one of: base, one, sub)");
    write("ldap.password", "x\n");
    expect_error(ldap_check("ldap", "password_file = \"ldap.password\"\n"), "24:17",
                 "[[check]] \"dir\" needs both \"bind_dn\" and \"password_file\" to bind");
    expect_error(ldap_check("ldap", "bind_dn = \"cn=x\"\n"), "24:11",
                 "[[check]] \"dir\" needs both \"bind_dn\" and \"password_file\" to bind");
    expect_error(ldap_check("ldap", "username = \"probe\"\n"), "24:12",
                 "\"username\" does not apply to LDAP checks: set \"bind_dn\"");
    expect_error(ldap_check("ldaps", "starttls = true\n"), "24:12",
                 "\"starttls\" applies only to protocols smtp, submission, lmtp, imap, pop3, ldap, ldap_replication, "
                 "not to protocol \"ldaps\"");
    expect_error(ldap_check("ldap_replication", "min_entries = 1\n"), "24:15",
                 "\"min_entries\" applies only to protocols ldap, ldaps, not to protocol \"ldap_replication\"");
    expect_error(ldap_check("ldap", "lag_warning = \"1m\"\n"), "24:15",
                 "\"lag_warning\" applies only to protocol ldap_replication, not to protocol \"ldap\"");
    expect_error(with_tcp_check("bind_dn = \"cn=x\"\n"), "15:11",
                 "\"bind_dn\" applies only to protocols ldap, ldaps, ldap_replication, not to protocol \"tcp\"");
}

TEST_F(ConfigTest, LdapReplicationMembersAndLagGrades) {
    const Check check = parse(ldap_check("ldap_replication", "lag_warning = \"30s\"\nlag_critical = \"2m\"\n"))
                            .checks.at(0);
    EXPECT_EQ(check.port, 389);
    ASSERT_EQ(check.ldap.members.size(), 2u);
    EXPECT_EQ(check.ldap.members[0].name, "ldap1");
    EXPECT_EQ(check.ldap.members[0].address, "10.0.0.3");
    EXPECT_EQ(check.ldap.members[1].address, "ldap2.example.com");
    EXPECT_EQ(check.ldap.lag_warning, Duration(30s));
    EXPECT_EQ(check.ldap.lag_critical, Duration(2min));
    const Check defaults = parse(ldap_check("ldap_replication")).checks.at(0);
    EXPECT_EQ(defaults.ldap.lag_warning, Duration(60s));
    EXPECT_EQ(defaults.ldap.lag_critical, Duration(5min));

    expect_error(ldap_check("ldap_replication", "lag_warning = \"10m\"\n"), "24:15",
                 "lag_warning 10m is above lag_critical 5m");
    expect_error(ldap_check("ldap_replication", "nlbs = [\"mail\"]\n"), "24:8",
                 "\"nlbs\" does not apply to protocol \"ldap_replication\": it compares the nodes of \"roles\"");
    expect_error(with_base("[[check]]\nname = \"repl\"\nprotocol = \"ldap_replication\"\nroles = [\"mta\"]\n"),
                 "13:9",
                 "[[check]] \"repl\" (protocol \"ldap_replication\") needs at least two nodes in its roles to "
                 "compare, found 1");
}

// The configuration the Debian package installs loads as shipped, and so does every example
// commented out in it ("# key = value", "# [section]") once enabled, credentials included.
TEST_F(ConfigTest, PackagedDefaultAndItsCommentedExamplesLoad) {
    const auto source_dir = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
    const std::filesystem::path shipped = source_dir / "config" / "examples" / "default.toml";
    const Config config = load_config(shipped);
    ASSERT_EQ(config.nodes.size(), 1u);
    EXPECT_EQ(config.nodes[0].address, "127.0.0.1");
    ASSERT_EQ(config.checks.size(), 1u);
    EXPECT_EQ(config.checks[0].protocol, Protocol::smtp);
    EXPECT_EQ(config.daemon.state_dir, "/var/lib/tierwatch");

    std::ifstream in(shipped);
    std::string line, enabled;
    std::size_t uncommented = 0;
    while (std::getline(in, line)) {
        const bool setting = line.starts_with("# [") ||
                             (line.starts_with("# ") && line.find(" = ") != std::string::npos &&
                              std::all_of(line.begin() + 2, line.begin() + static_cast<std::ptrdiff_t>(line.find(" = ")),
                                          [](char c) { return std::islower(static_cast<unsigned char>(c)) || c == '_'; }));
        uncommented += setting ? 1 : 0;
        enabled += (setting ? line.substr(2) : line) + "\n";
    }
    EXPECT_GE(uncommented, 15u) << "the commented examples were not found";
    write("credentials/tierwatch_ldap-bind", "s3cret\n");
    write("credentials/tierwatch_pagerduty-key", "key\n");
    write("credentials/tierwatch_api-token", "t0ken\n");
    const test::ScopedEnv env("CREDENTIALS_DIRECTORY", dir() + "/credentials");
    const Config full = parse(enabled);
    EXPECT_EQ(full.nodes.size(), 2u);
    EXPECT_EQ(full.nlbs.size(), 1u);
    ASSERT_EQ(full.checks.size(), 2u);
    EXPECT_EQ(full.checks[1].password.reveal(), "s3cret");
    EXPECT_EQ(full.daemon.api_token.reveal(), "t0ken");
    ASSERT_EQ(full.alerting->pagers.size(), 1u);
    EXPECT_EQ(full.alerting->pagers[0].routing_key_file, dir() + "/credentials/tierwatch_pagerduty-key");
}

TEST_F(ConfigTest, ReferenceExampleLoadsWithItsCredentials) {
    // Its secrets are systemd credentials, as the packaged unit provides them.
    for (const char* name : {"probe.password", "ldap.password", "pagerduty.key", "noc-webhook.secret"}) {
        write(std::string("credentials/tierwatch_") + name, "s3cret\n");
    }
    const test::ScopedEnv env("CREDENTIALS_DIRECTORY", dir() + "/credentials");
    const auto source_dir = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
    const Config config = load_config(source_dir / "config" / "examples" / "reference.toml");
    EXPECT_EQ(config.nodes.size(), 15u);  // three zones of mta, proxy, ldap and two mailbox servers
    ASSERT_EQ(config.nlbs.size(), 1u);
    EXPECT_EQ(config.nlbs[0].fqdn, "mail.example.com");
    EXPECT_EQ(config.checks.size(), 15u);
    EXPECT_EQ(config.alerting->groups.size(), 3u);
    EXPECT_EQ(config.alerting->pagers.size(), 4u);
    for (const Check& check : config.checks) {
        if (!check.username.empty()) {
            EXPECT_EQ(check.password.reveal(), "s3cret") << check.name;
        }
    }
    const auto webmail = std::find_if(config.checks.begin(), config.checks.end(),
                                      [](const Check& c) { return c.name == "webmail-https"; });
    ASSERT_NE(webmail, config.checks.end());
    EXPECT_EQ(webmail->port, 443);
    EXPECT_EQ(webmail->nlbs, std::vector<std::string>{"mail"});
}

// scripts/demo runs fleet.toml with demo-dns.toml appended: the fragment must stay a valid tail
// of it, with its mail DNS checks on both MTAs.
TEST_F(ConfigTest, DemoConfigurationIsTheFleetExampleWithItsDnsChecks) {
    write("pki/root.pem", "");
    write("secrets/probe.password", "s3cret\n");
    write("secrets/ldap.password", "s3cret\n");
    const auto examples =
        std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "config" / "examples";
    auto text_of = [](const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const Config config = parse(text_of(examples / "fleet.toml") + "\n" + text_of(examples / "demo-dns.toml"));
    for (const Protocol protocol : {Protocol::dnsbl, Protocol::fcrdns, Protocol::dane, Protocol::mail_domain}) {
        const auto check = std::find_if(config.checks.begin(), config.checks.end(),
                                        [&](const Check& c) { return c.protocol == protocol; });
        ASSERT_NE(check, config.checks.end()) << to_string(protocol);
        EXPECT_EQ(check->roles, std::vector<std::string>{"mta"}) << to_string(protocol);
    }
}

// ---- roundtrip ----

// Lines 10-18 after kBase: a round trip through the NLB; text appended to it starts on line 19.
constexpr std::string_view kRoundtrip =
    "[[check]]\n"
    "name = \"rt\"\n"
    "protocol = \"roundtrip\"\n"
    "nlbs = [\"mail\"]\n"
    "username = \"probe@example.com\"\n"
    "password_file = \"probe.password\"\n"
    "ca_file = \"ca.pem\"\n"
    "submit = \"smtp://mail.example.com:587?starttls=true\"\n"
    "fetch = \"imaps://mail.example.com\"\n";

class RoundtripConfigTest : public ConfigTest {
protected:
    void SetUp() override {
        ConfigTest::SetUp();
        write("probe.password", "secret\n");
        write("ca.pem", "not parsed at load\n");
    }
    // kRoundtrip with line `line` (11-18) replaced by `replacement` (empty: removed), plus `rest`.
    static std::string roundtrip(int line, std::string_view replacement, std::string_view rest = "") {
        std::string text(kRoundtrip);
        std::size_t start = 0;
        for (int i = 10; i < line; ++i) start = text.find('\n', start) + 1;
        const std::size_t end = text.find('\n', start) + 1;
        text.replace(start, end - start, replacement.empty() ? "" : std::string(replacement) + "\n");
        return with_base(text + std::string(rest));
    }
};

TEST_F(RoundtripConfigTest, LegsThroughTheTargetAndTheirDeadline) {
    const Config config = parse(with_base(std::string(kRoundtrip) + "interval = \"5m\"\nlatency_critical = \"60s\"\n"));
    const Check& check = config.checks.at(0);
    EXPECT_EQ(check.protocol, Protocol::roundtrip);
    EXPECT_EQ(check.roundtrip.submit.protocol, Protocol::submission);
    EXPECT_EQ(check.roundtrip.submit.port, 587);
    EXPECT_TRUE(check.roundtrip.submit.starttls);
    EXPECT_TRUE(check.roundtrip.submit.via_target);
    EXPECT_EQ(check.roundtrip.fetch.protocol, Protocol::imaps);
    EXPECT_EQ(check.roundtrip.fetch.port, 993);  // the scheme's default
    EXPECT_FALSE(check.roundtrip.fetch.starttls);
    EXPECT_TRUE(check.roundtrip.fetch.via_target);
    EXPECT_EQ(check.port, 587);
    EXPECT_TRUE(check.uses_tls());
    EXPECT_EQ(check.timeout, 90s);  // latency_critical + 30s: [defaults]' 5s is not inherited
    EXPECT_EQ(check.password.reveal(), "secret");
}

TEST_F(RoundtripConfigTest, DeadlineNeverBeyondTheInterval) {
    EXPECT_EQ(parse(roundtrip(18, "fetch = \"imaps://mail.example.com\"", "interval = \"1m\"\n")).checks[0].timeout,
              1min);  // two minutes without latency_critical, cut to the interval
    EXPECT_EQ(parse(roundtrip(18, "fetch = \"imaps://mail.example.com\"", "interval = \"10m\"\n")).checks[0].timeout,
              2min);
    expect_error(roundtrip(18, "fetch = \"imaps://mail.example.com\"",
                           "interval = \"1m\"\nlatency_critical = \"20s\"\ntimeout = \"20s\"\n"),
                 "21:11",
                 "timeout 20s is not above latency_critical 20s (a delivery that slow would fail as a timeout "
                 "instead of being graded)");
}

// The SPEC's example, as written there.
TEST_F(RoundtripConfigTest, SpecExampleLoads) {
    const Config config = parse(with_base(
        "[[check]]\n"
        "name = \"mail-roundtrip\"\n"
        "protocol = \"roundtrip\"\n"
        "nlbs = [\"mail\"]\n"
        "submit = \"smtp://mail.example.com:587?starttls=true\"\n"
        "fetch = \"imaps://mail.example.com:993\"\n"
        "username = \"probe@example.com\"\n"
        "password_file = \"probe.password\"\n"
        "ca_file = \"ca.pem\"\n"
        "interval = \"5m\"\n"
        "latency_warning = \"60s\"\n"
        "latency_critical = \"5m\"\n"));
    const Check& check = config.checks.at(0);
    EXPECT_EQ(check.timeout, 5min);  // latency_critical + 30s, cut to the interval
    EXPECT_TRUE(check.roundtrip.submit.via_target);
    EXPECT_TRUE(check.roundtrip.fetch.via_target);
    EXPECT_EQ(check.roundtrip.fetch.port, 993);
}

TEST_F(RoundtripConfigTest, FixedLegsNameANodeOrAnAddress) {
    const Config by_node = parse(roundtrip(18, "fetch = \"imap://mta1:143?starttls=true\""));
    const RoundtripLeg& fetch = by_node.checks[0].roundtrip.fetch;
    EXPECT_FALSE(fetch.via_target);  // mta1 is no node of the check's roles
    EXPECT_EQ(fetch.address, "10.0.0.1");
    EXPECT_EQ(fetch.host, "mta1");
    EXPECT_EQ(fetch.protocol, Protocol::imap);
    EXPECT_TRUE(fetch.starttls);
    const Config by_ip = parse(roundtrip(18, "fetch = \"imaps://[2001:db8::7]:1993/\""));
    EXPECT_FALSE(by_ip.checks[0].roundtrip.fetch.via_target);
    EXPECT_EQ(by_ip.checks[0].roundtrip.fetch.address, "2001:db8::7");
    EXPECT_EQ(by_ip.checks[0].roundtrip.fetch.port, 1993);
    // With roles = ["mta"], mta1 is a target of the check: the leg goes through each target.
    const Config through = parse(
        roundtrip(17, "submit = \"smtps://mta1\"", "roles = [\"mta\"]\n"));
    EXPECT_TRUE(through.checks[0].roundtrip.submit.via_target);
    EXPECT_EQ(through.checks[0].roundtrip.submit.port, 465);
}

TEST_F(RoundtripConfigTest, BadUrlsAreNamedAtTheirValue) {
    const std::string submit_form = " (expected smtp://host[:port][?starttls=true] or smtps://host[:port])";
    const std::string fetch_form = " (expected imap://host[:port][?starttls=true] or imaps://host[:port])";
    expect_error(roundtrip(17, "submit = \"smtpx://h\""), "17:10",
                 "invalid submit URL \"smtpx://h\": unknown scheme \"smtpx\" (did you mean \"smtp\"?)" + submit_form);
    expect_error(roundtrip(17, "submit = \"imaps://h\""), "17:10",
                 "invalid submit URL \"imaps://h\": unknown scheme \"imaps\" (did you mean \"smtps\"?)" + submit_form);
    expect_error(roundtrip(17, "submit = \"mail.example.com:587\""), "17:10",
                 "invalid submit URL \"mail.example.com:587\": no scheme" + submit_form);
    expect_error(roundtrip(17, "submit = \"smtp://h:0\""), "17:10",
                 "invalid submit URL \"smtp://h:0\": invalid port \"0\" (expected 1-65535)" + submit_form);
    expect_error(roundtrip(17, "submit = \"smtp://:25\""), "17:10",
                 "invalid submit URL \"smtp://:25\": no host" + submit_form);
    expect_error(roundtrip(17, "submit = \"smtp://u:pw@h\""), "17:10",
                 "invalid submit URL \"smtp://u:pw@h\": only host and port may follow the scheme (credentials come "
                 "from password_file)" + submit_form);
    expect_error(roundtrip(18, "fetch = \"imaps://h?starttls=true\""), "18:9",
                 "invalid fetch URL \"imaps://h?starttls=true\": imaps is already TLS; starttls applies to imap" +
                     fetch_form);
    expect_error(roundtrip(18, "fetch = \"imap://h?tls=1\""), "18:9",
                 "invalid fetch URL \"imap://h?tls=1\": unknown parameter \"tls\" (only starttls)" + fetch_form);
    expect_error(roundtrip(18, "fetch = \"imap://h?starttls=yes\""), "18:9",
                 "invalid fetch URL \"imap://h?starttls=yes\": starttls must be true or false" + fetch_form);
    expect_error(roundtrip(18, ""), "10:1", "missing required key \"fetch\" in [[check]] \"rt\"");
}

TEST_F(RoundtripConfigTest, KeysThatDoNotApply) {
    expect_error(roundtrip(14, "", "port = 587\n"), "18:8",
                 "\"port\" does not apply to protocol \"roundtrip\": the ports are those of \"submit\" and \"fetch\"");
    expect_error(roundtrip(14, ""), "10:1",
                 "[[check]] \"rt\" (protocol \"roundtrip\") needs \"username\" (the probe mailbox) and "
                 "\"password_file\" to submit and fetch");
    expect_error(roundtrip(14, "username = \"probe\""), "14:12",
                 "\"username\" of a roundtrip check is the probe mailbox's address (like probe@example.com), got "
                 "\"probe\"");
    expect_error(roundtrip(14, "username = \"pro be@example.com\""), "14:12",
                 "\"username\" of a roundtrip check is the probe mailbox's address (like probe@example.com), got "
                 "\"pro be@example.com\"");
    expect_error(with_tcp_check("submit = \"smtp://h\"\n"), "15:10",
                 "\"submit\" applies only to protocol roundtrip, not to protocol \"tcp\"");
    expect_error(roundtrip(18, "fetch = \"imaps://h\"", "starttls = true\n"), "19:12",
                 "\"starttls\" applies only to protocols smtp, submission, lmtp, imap, pop3, ldap, ldap_replication, "
                 "not to protocol \"roundtrip\"");
}

// ---- tcp dialogue ----

TEST_F(ConfigTest, TcpDialogueStepsCompiledAtLoad) {
    const Config config = parse(with_tcp_check(
        "dialogue = [{ expect = \"^220 \" }, { send = \"EHLO tierwatch.invalid\" }, { expect = \"^250 \" }]\n"));
    const auto& steps = config.checks.at(0).tcp.dialogue;
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_EQ(steps[0].kind, DialogueStep::Kind::expect);
    ASSERT_TRUE(steps[0].regex);
    EXPECT_TRUE(boost::regex_search(std::string("220 mx ESMTP"), *steps[0].regex));
    EXPECT_EQ(steps[1].kind, DialogueStep::Kind::send);
    EXPECT_EQ(steps[1].text, "EHLO tierwatch.invalid");
    EXPECT_FALSE(config.checks[0].uses_tls());
    // A starttls step makes the TLS settings apply (and ca_file be read).
    write("ca.pem", "x");
    const Config tls = parse(with_tcp_check("ca_file = \"ca.pem\"\ndialogue = [{ starttls = true }]\n"));
    EXPECT_TRUE(tls.checks[0].uses_tls());
}

TEST_F(ConfigTest, TcpDialogueMistakes) {
    expect_error_prefix(with_tcp_check("dialogue = [{ expect = \"(\" }]\n"), "15:24", "invalid regex for \"expect\": ");
    expect_error(with_tcp_check("dialogue = [{ expct = \"x\" }]\n"), "15:23",
                 "unknown dialogue step \"expct\" (expected one of: expect, send, starttls) (did you mean \"expect\"?)");
    expect_error(with_tcp_check("dialogue = [{ expect = \"x\", send = \"y\" }]\n"), "15:13",
                 "each step of \"dialogue\" has exactly one of \"expect\", \"send\", \"starttls\", got 2 keys");
    expect_error(with_tcp_check("dialogue = [{ send = \"A\\r\\nB\" }]\n"), "15:22",
                 "\"send\" must not contain control characters (each send is one line; CRLF is added)");
    expect_error(with_tcp_check("dialogue = []\n"), "15:12",
                 "\"dialogue\" must not be empty (leave it out for a bare connect)");
    expect_error(with_tcp_check("dialogue = [\"^220\"]\n"), "15:13",
                 "expected a table for each step of \"dialogue\" (e.g. { expect = \"^220 \" }), got string");
    expect_error(with_tcp_check("dialogue = [{ starttls = false }]\n"), "15:26",
                 "\"starttls\" in a dialogue step must be true (leave the step out otherwise)");
    expect_error(with_tls_check("dialogue = [{ starttls = true }]\n"), "15:26",
                 "a starttls step applies only to protocol \"tcp\" (protocol \"tls\" is TLS from the start)");
    expect_error(with_tcp_check("banner_regex = \"^220\"\ndialogue = [{ expect = \"x\" }]\n"), "15:16",
                 "\"banner_regex\" and \"dialogue\" exclude each other: make the banner the dialogue's first expect "
                 "step");
    expect_error(with_base("[[check]]\nname = \"s\"\nprotocol = \"smtp\"\nroles = [\"mta\"]\n"
                           "dialogue = [{ expect = \"x\" }]\n"),
                 "14:12", "\"dialogue\" applies only to protocols tcp, tls, not to protocol \"smtp\"");
    std::string many = "dialogue = [";
    for (int i = 0; i < 65; ++i) many += "{ send = \"x\" },";
    expect_error(with_tcp_check(many + "]\n"), "15:12", "\"dialogue\" has 65 steps, at most 64");
    expect_error(with_tcp_check("dialogue = [{ send = \"" + std::string(4097, 'x') + "\" }]\n"), "15:22",
                 "\"send\" is longer than 4096 bytes");
}

}  // namespace
}  // namespace tierwatch

namespace tierwatch {
namespace {

// Lines 10-13 after kBase: a dnsbl check on the mta role; text appended starts on line 14.
constexpr std::string_view kDnsblCheck =
    "[[check]]\n"
    "name = \"bl\"\n"
    "protocol = \"dnsbl\"\n"
    "roles = [\"mta\"]\n";

TEST_F(ConfigTest, DnsblReadsItsZonesAndDefaultsToMinutes) {
    const Config config = parse(with_base(std::string(kDnsblCheck) + "zones = [\"zen.example.\", \"bl.example\"]\n"));
    const Check& check = config.checks.at(0);
    EXPECT_EQ(check.protocol, Protocol::dnsbl);
    EXPECT_EQ(check.dnsbl.zones, (std::vector<std::string>{"zen.example", "bl.example"}));
    EXPECT_EQ(check.port, 53);
    EXPECT_EQ(check.interval, std::chrono::minutes(5));
    // Its own interval is kept, short as it is.
    const Config fast = parse(with_base(std::string(kDnsblCheck) + "zones = [\"bl.example\"]\ninterval = \"30s\"\n"));
    EXPECT_EQ(fast.checks.at(0).interval, 30s);
}

TEST_F(ConfigTest, DnsblZonesAreRequiredAndValid) {
    expect_error(with_base(kDnsblCheck), "10:1",
                 "a dnsbl check needs \"zones\": the block lists to look its nodes up in, e.g. [\"zen.spamhaus.org\"]");
    expect_error(with_base(std::string(kDnsblCheck) + "zones = [\"bl..example\"]\n"), "14:10",
                 "\"zones\" entry \"bl..example\": invalid label \"\" (1 to 63 letters, digits, '-' or '_')");
    expect_error(with_base(std::string(kDnsblCheck) + "zones = [\"a.b\", \"a.b\"]\n"), "14:9",
                 "\"zones\" lists \"a.b\" twice");
    expect_error(with_tcp_check("zones = [\"bl.example\"]\n"), "15:9",
                 "\"zones\" applies only to protocol dnsbl, not to protocol \"tcp\"");
}

TEST_F(ConfigTest, FcrdnsReadsExpectHostname) {
    const Config config = parse(with_base(
        "[[check]]\nname = \"rdns\"\nprotocol = \"fcrdns\"\nroles = [\"mta\"]\nexpect_hostname = \"mta1.example.\"\n"));
    EXPECT_EQ(config.checks.at(0).fcrdns.expect_hostname, "mta1.example");
    expect_error(with_base("[[check]]\nname = \"rdns\"\nprotocol = \"fcrdns\"\nroles = [\"mta\"]\n"
                           "expect_hostname = \"mta 1\"\n"),
                 "14:19", "\"expect_hostname\": invalid label \"mta 1\" (1 to 63 letters, digits, '-' or '_')");
}

TEST_F(ConfigTest, FcrdnsMatchGreetingReadsItsPort) {
    const std::string rdns = "[[check]]\nname = \"rdns\"\nprotocol = \"fcrdns\"\nroles = [\"mta\"]\n";
    const Config plain = parse(with_base(rdns));
    EXPECT_FALSE(plain.checks.at(0).fcrdns.match_greeting);
    const Config config = parse(with_base(rdns + "match_greeting = true\n"));
    EXPECT_TRUE(config.checks.at(0).fcrdns.match_greeting);
    EXPECT_EQ(config.checks.at(0).fcrdns.greeting_port, 25);
    const Config other = parse(with_base(rdns + "match_greeting = true\ngreeting_port = 2525\n"));
    EXPECT_EQ(other.checks.at(0).fcrdns.greeting_port, 2525);
    expect_error(with_base(rdns + "greeting_port = 2525\n"), "14:17",
                 "\"greeting_port\" is the SMTP port whose greeting match_greeting reads: set \"match_greeting = "
                 "true\" or leave it out");
    expect_error(with_tcp_check("match_greeting = true\n"), "15:18",
                 "\"match_greeting\" applies only to protocol fcrdns, not to protocol \"tcp\"");
}

// Lines 10-13 after kBase: a dane check on the mta role; text appended starts on line 14.
constexpr std::string_view kDaneCheck =
    "[[check]]\n"
    "name = \"dane\"\n"
    "protocol = \"dane\"\n"
    "roles = [\"mta\"]\n";

TEST_F(ConfigTest, DaneUpgradesWithStarttlsAndLetsItsRecordsDecide) {
    const Config config = parse(with_base(kDaneCheck));
    const Check& check = config.checks.at(0);
    EXPECT_EQ(check.protocol, Protocol::dane);
    EXPECT_EQ(check.port, 25);
    EXPECT_TRUE(check.upgrades_to_tls());
    EXPECT_TRUE(check.uses_tls());
    EXPECT_FALSE(check.tls.verify);
    EXPECT_FALSE(check.tls.verify_hostname);
    EXPECT_FALSE(check.tls.resume);
    EXPECT_TRUE(check.dane.require_dnssec);
    EXPECT_EQ(check.dane.renewal_window, std::chrono::days(30));
    EXPECT_EQ(check.interval, std::chrono::minutes(5));
    const Config lax =
        parse(with_base(std::string(kDaneCheck) + "require_dnssec = false\nrenewal_window = \"14d\"\nport = 2525\n"));
    EXPECT_FALSE(lax.checks.at(0).dane.require_dnssec);
    EXPECT_EQ(lax.checks.at(0).dane.renewal_window, std::chrono::days(14));
    EXPECT_EQ(lax.checks.at(0).port, 2525);
}

TEST_F(ConfigTest, DaneRefusesCaTrustAndForeignKeys) {
    expect_error(with_base(std::string(kDaneCheck) + "tls_verify = true\n"), "14:14",
                 "\"tls_verify\" applies only to protocols that trust a CA (a dane check trusts its TLSA records), "
                 "not to protocol \"dane\"");
    expect_error(with_base(std::string(kDaneCheck) + "starttls = true\n"), "14:12",
                 "\"starttls\" applies only to protocols smtp, submission, lmtp, imap, pop3, ldap, ldap_replication, "
                 "not to protocol \"dane\"");
    expect_error(with_base(std::string(kDaneCheck) + "renewal_window = \"12h\"\n"), "14:18",
                 "\"renewal_window\" is counted in days (like \"30d\"): a certificate's next key must be in DNS at "
                 "least a TTL before it is used");
    expect_error(with_tcp_check("require_dnssec = true\n"), "15:18",
                 "\"require_dnssec\" applies only to protocols dane and mail_domain, not to protocol \"tcp\"");
}

// Lines 10-14 after kBase: a mail_domain check on the mta role; text appended starts on line 15.
constexpr std::string_view kMailDomainCheck =
    "[[check]]\n"
    "name = \"domain\"\n"
    "protocol = \"mail_domain\"\n"
    "roles = [\"mta\"]\n"
    "domain = \"Example.COM.\"\n";

TEST_F(ConfigTest, MailDomainReadsItsSettingsAndTheMtasOutboundAddresses) {
    const Config config = parse(
        "[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\npublic_address = \"198.51.100.7\"\n"
        "[[node]]\nname = \"mta2\"\nrole = \"mta\"\naddress = \"2001:db8::2\"\n"
        "[[node]]\nname = \"imap1\"\nrole = \"imap\"\naddress = \"10.0.0.9\"\n" +
        std::string(kMailDomainCheck) +
        "dkim_selectors = [\"s2024\", \"ED\"]\nexpected_mx = [\"mx1.example.com.\"]\ntls_rpt = false\n");
    const Check& check = config.checks.at(0);
    EXPECT_EQ(check.protocol, Protocol::mail_domain);
    EXPECT_EQ(check.mail_domain.domain, "example.com");
    EXPECT_EQ(check.mail_domain.dkim_selectors, (std::vector<std::string>{"s2024", "ed"}));
    EXPECT_EQ(check.mail_domain.expected_mx, (std::vector<std::string>{"mx1.example.com"}));
    EXPECT_TRUE(check.mail_domain.mta_sts);
    EXPECT_FALSE(check.mail_domain.tls_rpt);
    EXPECT_FALSE(check.mail_domain.require_dnssec) << "most mail domains are unsigned";
    // The public address where there is one, else the address; only the nodes of its roles.
    EXPECT_EQ(check.mail_domain.outbound,
              (std::vector<IpAddress>{parse_ip("198.51.100.7").value(), parse_ip("2001:db8::2").value()}));
    EXPECT_EQ(check.port, 443);  // the MTA-STS policy's
    EXPECT_EQ(check.interval, std::chrono::minutes(5));
    EXPECT_TRUE(check.uses_tls()) << "the policy is fetched over verified HTTPS";
    const Config no_sts = parse(with_base(std::string(kMailDomainCheck) + "mta_sts = false\n"));
    EXPECT_FALSE(no_sts.checks.at(0).uses_tls());
    const Config strict = parse(with_base(std::string(kMailDomainCheck) + "require_dnssec = true\n"));
    EXPECT_TRUE(strict.checks.at(0).mail_domain.require_dnssec);
}

TEST_F(ConfigTest, MailDomainRefusesWhatItCannotUse) {
    expect_error(with_base("[[check]]\nname = \"domain\"\nprotocol = \"mail_domain\"\nroles = [\"mta\"]\n"), "10:1",
                 "a mail_domain check needs \"domain\": the mail domain whose records it judges, e.g. \"example.com\"");
    expect_error(with_base(std::string(kMailDomainCheck) + "dkim_selectors = [\"a\", \"A\"]\n"), "15:18",
                 "\"dkim_selectors\" lists \"a\" twice");
    expect_error(with_base(std::string(kMailDomainCheck) + "expected_mx = [\"mx..example\"]\n"), "15:16",
                 "\"expected_mx\" entry \"mx..example\": invalid label \"\" (1 to 63 letters, digits, '-' or '_')");
    expect_error(with_base(std::string(kMailDomainCheck) + "nlbs = [\"mail\"]\n"), "15:8",
                 "\"nlbs\" does not apply to protocol \"mail_domain\": its \"roles\" name the MTAs whose outbound "
                 "addresses SPF must cover");
    expect_error(with_tcp_check("domain = \"example.com\"\n"), "15:10",
                 "\"domain\" applies only to protocol mail_domain, not to protocol \"tcp\"");
    expect_error("[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"mta1.example.com\"\n" +
                     std::string(kMailDomainCheck),
                 "8:9",
                 "[[check]] \"domain\" (protocol \"mail_domain\") needs the outbound address of node \"mta1\", whose "
                 "address \"mta1.example.com\" is a name: set its \"public_address\" to the address its mail leaves from");
}

TEST_F(ConfigTest, NodePublicAddressIsAnIpAddress) {
    const Config config = parse(
        "[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\npublic_address = \"2001:db8::25\"\n");
    EXPECT_EQ(config.nodes.at(0).public_address, "2001:db8::25");
    expect_error("[[node]]\nname = \"mta1\"\nrole = \"mta\"\naddress = \"10.0.0.1\"\npublic_address = \"mx.example\"\n",
                 "5:18",
                 "invalid \"public_address\" \"mx.example\" (expected an IPv4 or IPv6 address, no port, no name)");
}

}  // namespace
}  // namespace tierwatch

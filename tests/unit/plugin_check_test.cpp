// Unit tests for the plugin mode: Monitoring Plugins ranges, URL and option parsing, the
// configuration built from them, perfdata formatting and the state (exit code) of a result.
#include "daemon/cli/plugin_check.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/regex.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/cli/plugin_range.hpp"
#include "tests/support/fault_server.hpp"
#include "tests/support/test_pki.hpp"

namespace tierwatch {
namespace {

using namespace std::chrono_literals;

// The perfdata grammar of the Monitoring Plugins guidelines: space-separated
// 'label'=value[UOM];[warn];[crit];[min];[max], quotes inside a label doubled, trailing fields
// optional. The integration test uses the same expression on real output.
const boost::regex kPerfdata(R"(('([^']|'')+'|[^ '=]+)=-?[0-9.]+(us|ms|s|%|B|KB|MB|GB|TB|c)?)"
                             R"((;(@?(~|-?[0-9.]+)?:?(-?[0-9.]+)?)?){0,2}(;(-?[0-9.]+)?){0,2})"
                             R"(( ('([^']|'')+'|[^ '=]+)=-?[0-9.]+(us|ms|s|%|B|KB|MB|GB|TB|c)?)"
                             R"((;(@?(~|-?[0-9.]+)?:?(-?[0-9.]+)?)?){0,2}(;(-?[0-9.]+)?){0,2})*)");

PluginRange range(std::string_view text) {
    std::string why;
    const auto parsed = parse_plugin_range(text, why);
    EXPECT_TRUE(parsed.has_value()) << text << ": " << why;
    return parsed.value_or(PluginRange{});
}

std::string range_error(std::string_view text) {
    std::string why;
    const auto parsed = parse_plugin_range(text, why);
    EXPECT_FALSE(parsed.has_value()) << text << " parsed";
    return why;
}

TEST(PluginRange, PlainNumberIsZeroToIt) {
    const PluginRange r = range("10");
    EXPECT_TRUE(r.alerts(-0.001));
    EXPECT_FALSE(r.alerts(0));
    EXPECT_FALSE(r.alerts(5));
    EXPECT_FALSE(r.alerts(10));  // ends are inclusive
    EXPECT_TRUE(r.alerts(10.001));
}

TEST(PluginRange, OpenEndAlertsBelowStart) {
    const PluginRange r = range("10:");
    EXPECT_TRUE(r.alerts(9.999));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_FALSE(r.alerts(1e12));
}

TEST(PluginRange, TildeStartAlertsAboveEnd) {
    const PluginRange r = range("~:10");
    EXPECT_FALSE(r.alerts(-1e12));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_TRUE(r.alerts(10.5));
}

TEST(PluginRange, BothEndsAlertOutside) {
    const PluginRange r = range("10:20");
    EXPECT_TRUE(r.alerts(9.9));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_FALSE(r.alerts(20));
    EXPECT_TRUE(r.alerts(20.1));
}

TEST(PluginRange, AtSignAlertsInsideInclusive) {
    const PluginRange r = range("@10:20");
    EXPECT_FALSE(r.alerts(9.9));
    EXPECT_TRUE(r.alerts(10));
    EXPECT_TRUE(r.alerts(15));
    EXPECT_TRUE(r.alerts(20));
    EXPECT_FALSE(r.alerts(20.1));
}

TEST(PluginRange, DecimalsNegativesAndEmptyStart) {
    EXPECT_TRUE(range("0.5").alerts(0.5001));
    EXPECT_FALSE(range("0.5").alerts(0.5));
    const PluginRange negative = range("-5:-1");
    EXPECT_TRUE(negative.alerts(0));
    EXPECT_FALSE(negative.alerts(-3));
    const PluginRange empty_start = range(":10");  // as the C library reads it: 0:10
    EXPECT_TRUE(empty_start.alerts(-1));
    EXPECT_FALSE(empty_start.alerts(10));
    EXPECT_TRUE(range("@~:0").alerts(-7));
    EXPECT_FALSE(range("@~:0").alerts(0.1));
}

TEST(PluginRange, RefusesWhatIsNotARange) {
    for (const std::string_view text : {"", "@", "abc", "1:2:3", "~", "~:", ":", "@:", " 10", "10 ",
                                        "inf", "nan", "+5", "1e", "0x10", "10s", "1,5", "@@1"}) {
        range_error(text);
    }
    EXPECT_EQ(range_error("10:5"), "start 10 is above end 5");
    EXPECT_EQ(range_error("a:5"), "start \"a\" is not a number");
    EXPECT_EQ(range_error("5:b"), "end \"b\" is not a number");
    EXPECT_EQ(range_error("~:"), "a range needs a start or an end");
}

TEST(PluginRange, WrittenBackInTheGuidelinesSpelling) {
    for (const std::string_view text :
         {"10", "10:", "~:10", "10:20", "@10:20", "0:", "0.5", "-1:0", "@~:0.25"}) {
        EXPECT_EQ(range(text).to_string(), text);
    }
    EXPECT_EQ(range(":10").to_string(), "10");
    EXPECT_EQ(range("0:10").to_string(), "10");
    EXPECT_EQ(range("1e2").to_string(), "100");  // perfdata numbers are plain decimals
}

TEST(PluginRange, NumbersArePlainDecimals) {
    EXPECT_EQ(format_plugin_number(0.012346), "0.012346");
    EXPECT_EQ(format_plugin_number(10), "10");
    EXPECT_EQ(format_plugin_number(-0.0), "0");
    EXPECT_EQ(format_plugin_number(-2.5), "-2.5");
    EXPECT_EQ(format_plugin_number(1e20), "100000000000000000000");
}

// ---- URLs ---------------------------------------------------------------------------------------

std::string url_error(std::string_view url) {
    try {
        parse_check_url(url);
    } catch (const PluginUsageError& e) {
        return e.what();
    }
    ADD_FAILURE() << url << " parsed";
    return {};
}

TEST(PluginUrl, SchemeHostAndPort) {
    const CheckUrl plain = parse_check_url("smtp://mx.example.com");
    EXPECT_EQ(plain.protocol, Protocol::smtp);
    EXPECT_EQ(plain.host, "mx.example.com");
    EXPECT_FALSE(plain.port.has_value());
    EXPECT_EQ(plain.path, "");

    const CheckUrl upper = parse_check_url("SUBMISSION://127.0.10.1:10587/");
    EXPECT_EQ(upper.protocol, Protocol::submission);
    EXPECT_EQ(upper.host, "127.0.10.1");
    EXPECT_EQ(upper.port, 10587);

    const CheckUrl v6 = parse_check_url("imaps://[::1]:993");
    EXPECT_EQ(v6.protocol, Protocol::imaps);
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 993);

    EXPECT_EQ(parse_check_url("tcp://h:7").port, 7);
    EXPECT_EQ(parse_check_url("tls://h:65535").port, 65535);
}

TEST(PluginUrl, HttpKeepsPathAndQueryDropsFragment) {
    EXPECT_EQ(parse_check_url("https://www.example.com").path, "/");
    EXPECT_EQ(parse_check_url("https://www.example.com:8443/health?deep=1#top").path,
              "/health?deep=1");
    EXPECT_EQ(parse_check_url("http://h?x=1").path, "/?x=1");
    EXPECT_EQ(parse_check_url("http://h:8080/a/b").port, 8080);
}

TEST(PluginUrl, EverySchemeOfAServer) {
    const std::vector<std::pair<std::string, Protocol>> schemes{
        {"smtp", Protocol::smtp},
        {"smtps", Protocol::smtps},
        {"submission", Protocol::submission},
        {"lmtp", Protocol::lmtp},
        {"imap", Protocol::imap},
        {"imaps", Protocol::imaps},
        {"pop3", Protocol::pop3},
        {"pop3s", Protocol::pop3s},
        {"ldap", Protocol::ldap},
        {"ldaps", Protocol::ldaps},
        {"http", Protocol::http},
        {"https", Protocol::https},
        {"tcp", Protocol::tcp},
        {"tls", Protocol::tls},
    };
    for (const auto& [scheme, protocol] : schemes) {
        EXPECT_EQ(parse_check_url(scheme + "://h:1").protocol, protocol) << scheme;
    }
    EXPECT_NE(url_error("ldap_replication://h").find("unknown URL scheme"), std::string::npos);
}

TEST(PluginUrl, ErrorsNameTheProblem) {
    EXPECT_NE(url_error("mx.example.com").find("has no scheme"), std::string::npos);
    EXPECT_NE(url_error("smtpx://h").find("(did you mean \"smtp\"?)"), std::string::npos);
    EXPECT_NE(url_error("smtp://").find("no host"), std::string::npos);
    EXPECT_NE(url_error("smtp://:25").find("no host"), std::string::npos);
    EXPECT_NE(url_error("smtp://h:0").find("port \"0\" is not a number from 1 to 65535"),
              std::string::npos);
    EXPECT_NE(url_error("smtp://h:65536").find("port \"65536\""), std::string::npos);
    EXPECT_NE(url_error("smtp://h:").find("port \"\""), std::string::npos);
    EXPECT_NE(url_error("smtp://h:2a").find("port \"2a\""), std::string::npos);
    EXPECT_NE(url_error("tcp://h").find("tcp:// has no default port"), std::string::npos);
    EXPECT_NE(url_error("smtp://h/x").find("applies only to http:// and https://"),
              std::string::npos);
    EXPECT_NE(url_error("ldap://h/dc=example").find("--search-base"), std::string::npos);
    EXPECT_NE(url_error("imap://[::1").find("unclosed"), std::string::npos);
    EXPECT_NE(url_error("imap://[example]:143").find("is not an IPv6 address"), std::string::npos);
    EXPECT_NE(url_error("imap://::1").find("IPv6 addresses go in brackets"), std::string::npos);
    EXPECT_NE(url_error("http://h/a b").find("spaces or control characters"), std::string::npos);
    EXPECT_NE(url_error("http://h/\r\nHost: x").find("spaces or control characters"),
              std::string::npos);
}

TEST(PluginUrl, CredentialsAreRefusedWithoutBeingEchoed) {
    const std::string error = url_error("imap://probe:hunter2@h");
    EXPECT_NE(error.find("--password-file"), std::string::npos);
    EXPECT_EQ(error.find("hunter2"), std::string::npos);
}

// ---- options and the configuration built from them ----------------------------------------------

class PluginCheckTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("tierwatch-plugin-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        ca_ = write("ca.pem", "a CA bundle only has to be readable at load\n").string();
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path write(const std::string& name, std::string_view content) const {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    static PluginRequest request(std::vector<std::string> args) {
        return parse_check_arguments(args);
    }

    Config build(std::vector<std::string> args) const {
        return build_check_config(request(std::move(args)), dir_);
    }

    std::string usage_error(std::vector<std::string> args) const {
        try {
            build(std::move(args));
        } catch (const PluginUsageError& e) {
            return e.what();
        }
        ADD_FAILURE() << "no usage error";
        return {};
    }

    std::filesystem::path dir_;
    std::string ca_;
};

TEST_F(PluginCheckTest, OptionsInEveryForm) {
    const PluginRequest r =
        request({"-w", "0.5", "smtp://h", "-c2", "--timeout=3", "--starttls", "-C", "30,10",
                 "--expect-capability", "STARTTLS", "--expect-capability=AUTH PLAIN"});
    EXPECT_EQ(r.url.protocol, Protocol::smtp);
    ASSERT_TRUE(r.time_warning && r.time_critical);
    EXPECT_EQ(r.time_warning->to_string(), "0.5");
    EXPECT_EQ(r.time_critical->to_string(), "2");
    EXPECT_EQ(r.timeout, 3000ms);
    std::map<std::string, std::vector<std::string>> keys;
    for (const auto& setting : r.settings) keys[setting.key] = setting.values;
    EXPECT_EQ(keys["starttls"], std::vector<std::string>{"true"});
    EXPECT_EQ(keys["cert_warning"], std::vector<std::string>{"\"30d\""});
    EXPECT_EQ(keys["cert_critical"], std::vector<std::string>{"\"10d\""});
    EXPECT_EQ(keys["expect_capabilities"],
              (std::vector<std::string>{"\"STARTTLS\"", "\"AUTH PLAIN\""}));
    EXPECT_EQ(request({"-t", "0.25", "tcp://h:1"}).timeout, 250ms);
    EXPECT_EQ(request({"tcp://h:1"}).timeout, 10s);  // the Monitoring Plugins' usual default
}

TEST_F(PluginCheckTest, BuildsTheCheckThroughTheLoader) {
    const Config config =
        build({"smtp://127.0.0.1", "--starttls", "--ca-file", ca_, "-t", "3", "-C", "30,10",
               "--expect-capability", "STARTTLS", "--expect-capability", "AUTH PLAIN"});
    ASSERT_EQ(config.checks.size(), 1u);
    ASSERT_EQ(config.nodes.size(), 1u);
    const Check& check = config.checks.front();
    EXPECT_EQ(check.protocol, Protocol::smtp);
    EXPECT_EQ(check.port, 25);  // the loader's default port
    EXPECT_TRUE(check.mail.starttls);
    EXPECT_EQ(check.timeout, 3s);
    EXPECT_EQ(check.cert_warning, std::chrono::days(30));
    EXPECT_EQ(check.cert_critical, std::chrono::days(10));
    EXPECT_EQ(check.tls.ca_file, ca_);
    EXPECT_EQ(check.mail.expect_capabilities, (std::vector<std::string>{"STARTTLS", "AUTH PLAIN"}));
    EXPECT_EQ(config.nodes.front().address, "127.0.0.1");
    EXPECT_EQ(config.nodes.front().fqdn, "");  // an IP literal is checked against the IP SAN

    EXPECT_EQ(build({"smtp://127.0.0.1", "--starttls", "--ca-file", ca_, "-C", "30"})
                  .checks[0]
                  .cert_critical,
              std::chrono::days(0));  // as check_http: W alone leaves only the expiry critical
}

TEST_F(PluginCheckTest, DefaultPortsComeFromTheLoader) {
    const std::vector<std::pair<std::string, int>> ports{
        {"smtp", 25},  {"smtps", 465}, {"submission", 587}, {"lmtp", 24},
        {"imap", 143}, {"imaps", 993}, {"pop3", 110},       {"pop3s", 995},
        {"ldap", 389}, {"ldaps", 636}, {"http", 80},        {"https", 443},
    };
    for (const auto& [scheme, port] : ports) {
        const std::string url = scheme + "://127.0.0.1";
        const bool tls = scheme.back() == 's';  // smtps, imaps, pop3s, ldaps, https
        std::vector<std::string> args{url};
        if (tls) args.insert(args.end(), {"--ca-file", ca_});
        EXPECT_EQ(build(args).checks[0].port, port) << scheme;
    }
}

TEST_F(PluginCheckTest, ServerNameFromHostOrSni) {
    EXPECT_EQ(build({"imaps://mail.example.com", "--ca-file", ca_}).nodes[0].fqdn,
              "mail.example.com");
    const Config sni =
        build({"imaps://127.0.0.1", "--ca-file", ca_, "--sni", "mailbox1.example.test"});
    EXPECT_EQ(sni.nodes[0].fqdn, "mailbox1.example.test");
    EXPECT_EQ(sni.nodes[0].address, "127.0.0.1");
    EXPECT_EQ(build({"https://127.0.0.1:8443/x?y=1", "--ca-file", ca_}).checks[0].http.path,
              "/x?y=1");
}

TEST_F(PluginCheckTest, PasswordFileIsReadRelativeToTheWorkingDirectory) {
    write("probe.password", "s3cret\n");
    const Config config = build({"imap://127.0.0.1", "--username", "probe@example.test",
                                 "--password-file", "probe.password"});
    EXPECT_EQ(config.checks[0].username, "probe@example.test");
    EXPECT_EQ(config.checks[0].password.reveal(), "s3cret");
}

TEST_F(PluginCheckTest, LdapSettings) {
    write("ldap.password", "pw");
    const Config config =
        build({"ldap://127.0.0.1:10389", "--starttls", "--ca-file", ca_, "--bind-dn",
               "cn=probe,dc=example,dc=test", "--password-file", "ldap.password", "--search-base",
               "dc=example,dc=test", "--search-filter", "(uid=probe)", "--search-scope", "sub",
               "--min-entries", "1"});
    const LdapSettings& ldap = config.checks[0].ldap;
    EXPECT_TRUE(ldap.starttls);
    EXPECT_EQ(ldap.bind_dn, "cn=probe,dc=example,dc=test");
    EXPECT_EQ(ldap.search_scope, LdapScope::sub);
    EXPECT_FALSE(ldap.search_filter_ber.empty());  // compiled by the loader
    EXPECT_EQ(ldap.min_entries, 1u);
}

TEST_F(PluginCheckTest, AwkwardValuesSurviveTheGeneratedToml) {
    const Config config = build({"ldap://127.0.0.1", "--search-base", R"(o="a\b",dc=x)",
                                 "--search-filter", R"((cn=a\2ab))"});
    EXPECT_EQ(config.checks[0].ldap.search_base, R"(o="a\b",dc=x)");
    EXPECT_EQ(config.checks[0].ldap.search_filter, R"((cn=a\2ab))");
    // A line break is escaped, so the loader refuses it at the option rather than as broken TOML.
    EXPECT_EQ(
        usage_error({"smtp://127.0.0.1", "--helo", "a\nb"}).rfind("--helo: invalid helo_name", 0),
        0u);
}

TEST_F(PluginCheckTest, LoaderErrorsNameTheOption) {
    EXPECT_EQ(usage_error({"smtp://127.0.0.1", "--bind-dn", "cn=x"}),
              "--bind-dn: --bind-dn applies only to protocols ldap, ldaps, ldap_replication, not "
              "to protocol "
              "\"smtp\"");
    EXPECT_EQ(usage_error({"smtp://127.0.0.1", "-C", "30"}),
              "--certificate: --certificate applies only to protocols with TLS (tls, https, smtps, "
              "imaps, pop3s, "
              "ldaps) and checks with --starttls, not to protocol \"smtp\"");
    EXPECT_EQ(usage_error({"smtp://127.0.0.1", "--cert-warning", "30"})
                  .rfind("--cert-warning: --cert-warning applies", 0),
              0u);
    EXPECT_EQ(usage_error({"smtps://127.0.0.1", "--ca-file", ca_, "-C", "5,10"}),
              "--certificate: cert_critical 10d is above cert_warning 5d (critical is the nearer "
              "expiry)");
    EXPECT_EQ(usage_error({"imap://127.0.0.1", "--username", "probe"}),
              "--username: the check needs both --username and --password-file to log in");
    EXPECT_EQ(usage_error({"ldap://127.0.0.1", "--search-filter", "(uid=probe"})
                  .rfind("--search-filter: invalid "
                         "search_filter",
                         0),
              0u);
    EXPECT_EQ(usage_error({"https://127.0.0.1", "--ca-file", (dir_ / "missing.pem").string()})
                  .rfind("--ca-file: cannot read ca_file \"" + (dir_ / "missing.pem").string() +
                             "\": No such file",
                         0),
              0u);
    EXPECT_EQ(usage_error({"http://127.0.0.1", "--expect-status", "700"}),
              "--expect-status: invalid HTTP status 700 in --expect-status (expected 100-599)");
}

TEST_F(PluginCheckTest, UnreadablePasswordFileIsAUsageError) {
    const std::string missing = (dir_ / "nope.password").string();
    EXPECT_EQ(usage_error({"imap://127.0.0.1", "--username", "u", "--password-file", missing}),
              "--password-file: cannot read password_file \"" + missing +
                  "\": No such file or directory");
    write("empty.password", "\n");
    EXPECT_NE(
        usage_error({"imap://127.0.0.1", "--username", "u", "--password-file", "empty.password"})
            .find("is "
                  "empty"),
        std::string::npos);
}

std::string argument_error(std::vector<std::string> args) {
    try {
        parse_check_arguments(args);
    } catch (const PluginUsageError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no usage error";
    return {};
}

TEST(PluginArguments, BadUsageIsNamed) {
    EXPECT_EQ(argument_error({}),
              "no URL given (e.g. tierwatch check smtp://mx.example.com --starttls; see --help)");
    EXPECT_EQ(argument_error({"smtp://h", "imap://h"}),
              "unexpected argument \"imap://h\": give one URL (see tierwatch check --help)");
    EXPECT_EQ(
        argument_error({"smtp://h", "--warnin", "1"}),
        "unknown option \"--warnin\" (did you mean \"--warning\"?) (see tierwatch check --help)");
    EXPECT_EQ(argument_error({"smtp://h", "-x"}),
              "unknown option \"-x\" (see tierwatch check --help)");
    EXPECT_EQ(argument_error({"smtp://h", "-w"}), "--warning: needs a value");
    EXPECT_EQ(argument_error({"smtp://h", "--starttls=yes"}), "--starttls: takes no value");
    EXPECT_EQ(argument_error({"smtp://h", "-w", "abc"}),
              "--warning: invalid range \"abc\": end \"abc\" is not a number (expected e.g. 10, "
              "10:, ~:10, 10:20 or "
              "@10:20, in seconds)");
    EXPECT_EQ(argument_error({"smtp://h", "-c", "5:1"})
                  .rfind("--critical: invalid range \"5:1\": start 5 is above "
                         "end 1",
                         0),
              0u);
    EXPECT_EQ(argument_error({"smtp://h", "-t", "0"}),
              "--timeout: \"0\" is not a positive number of seconds");
    EXPECT_EQ(argument_error({"smtp://h", "-t", "soon"}),
              "--timeout: \"soon\" is not a positive number of seconds");
    EXPECT_EQ(argument_error({"smtp://h", "-t", "7200"}),
              "--timeout: \"7200\" seconds is too long (at most 1h)");
    EXPECT_EQ(argument_error({"smtp://h", "-C", "x"}),
              "--certificate: \"x\" is not a number of days between 0 and 3650");
    EXPECT_EQ(argument_error({"smtp://h", "-C", "30,-1"}),
              "--certificate: \"-1\" is not a number of days between 0 and 3650");
    EXPECT_EQ(argument_error({"smtp://h", "--min-entries", "x"}),
              "--min-entries: \"x\" is not a whole number");
    EXPECT_EQ(argument_error({"smtp://h", "--sni", "a b"}), "--sni: \"a b\" is not a host name");
}

TEST(PluginArguments, PasswordsOnTheCommandLineAreRefusedUnechoed) {
    const std::string direct =
        argument_error({"imap://h", "--username", "u", "--password", "hunter2"});
    EXPECT_NE(direct.find("--password-file"), std::string::npos);
    EXPECT_EQ(direct.find("hunter2"), std::string::npos);
    const std::string inline_value = argument_error({"imap://h", "--password=hunter2"});
    EXPECT_EQ(inline_value.find("hunter2"), std::string::npos);
    const std::string misspelt = argument_error({"imap://h", "--pasword=hunter2"});
    EXPECT_NE(misspelt.find("unknown option \"--pasword\""), std::string::npos);
    EXPECT_EQ(misspelt.find("hunter2"), std::string::npos);
}

// ---- perfdata -----------------------------------------------------------------------------------

TEST(PluginPerfdata, GuidelineFormat) {
    const std::vector<PerfDatum> data{
        {"time", 0.012345, "s", "0.5", "2", 0.0, 10.0},
        {"time_connect", 0.001, "s", "", "", 0.0, std::nullopt},
        {"cert_days", 364, "", "21:", "7:", std::nullopt, std::nullopt},
        {"it's up", 1, "", "", "", std::nullopt, std::nullopt},
        {"only max", 2, "B", "", "", std::nullopt, 4.0},
    };
    const std::string text = format_perfdata(data);
    EXPECT_EQ(
        text,
        "'time'=0.012345s;0.5;2;0;10 'time_connect'=0.001s;;;0 'cert_days'=364;21:;7: 'it''s up'=1 "
        "'only max'=2B;;;;4");
    EXPECT_TRUE(boost::regex_match(text, kPerfdata)) << text;
    EXPECT_FALSE(
        boost::regex_match(std::string("time=1s;;;;;;"), kPerfdata));  // the regex can fail
    EXPECT_FALSE(boost::regex_match(std::string("'time'=1e3s"), kPerfdata));
}

// ---- the report and its state -------------------------------------------------------------------

class PluginReportTest : public PluginCheckTest {
protected:
    // A fixed "now": every certificate age below is relative to it.
    const std::chrono::system_clock::time_point now_ =
        std::chrono::sys_days(std::chrono::year(2026) / 11 / 23);

    ProbeResult tls_success(std::chrono::hours cert_left) const {
        ProbeResult result;
        result.total = 12345678ns;
        result.add_phase(Phase::connect, 1000us);
        result.add_phase(Phase::greeting, 5000us);
        result.add_phase(Phase::tls, 4000us);
        CertificateFacts certificate;
        certificate.tls_version = "TLS 1.3";
        certificate.earliest_not_after =
            std::chrono::duration_cast<std::chrono::seconds>((now_ + cert_left).time_since_epoch())
                .count();
        result.certificate = std::make_shared<const CertificateFacts>(std::move(certificate));
        return result;
    }

    PluginReport report(std::vector<std::string> args, const ProbeResult& result) const {
        const PluginRequest r = request(args);
        const Config config = build_check_config(r, dir_);
        return report_probe(r, config.checks[0], "127.0.10.1:10025", result, now_);
    }

    std::vector<std::string> smtp(std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"smtp://127.0.10.1:10025", "--starttls", "--ca-file", ca_};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    static std::string perfdata_of(const std::string& line) {
        return line.substr(line.find(" | ") + 3);
    }
};

TEST_F(PluginReportTest, OkLineAndPerfdata) {
    const PluginReport r = report(smtp(), tls_success(std::chrono::days(100) + 1h));
    EXPECT_EQ(r.state, PluginState::ok);
    EXPECT_EQ(static_cast<int>(r.state), 0);
    EXPECT_EQ(r.line,
              "SMTP OK - 127.0.10.1:10025 STARTTLS TLS 1.3 in 0.012s | 'time'=0.012346s;;;0;10 "
              "'time_connect'=0.001s;;;0 'time_tls'=0.004s;;;0 'time_greeting'=0.005s;;;0 "
              "'cert_days'=100;21:;7:");
    EXPECT_TRUE(boost::regex_match(perfdata_of(r.line), kPerfdata));
}

TEST_F(PluginReportTest, LatencyThresholds) {
    const ProbeResult result = tls_success(std::chrono::days(100));
    const PluginReport warning = report(smtp({"-w", "0.01", "-c", "0.5"}), result);
    EXPECT_EQ(warning.state, PluginState::warning);
    EXPECT_EQ(static_cast<int>(warning.state), 1);
    EXPECT_NE(
        warning.line.find(
            "SMTP WARNING - 127.0.10.1:10025 STARTTLS TLS 1.3 in 0.012s: time 0.012346s outside "
            "warning range 0.01 | 'time'=0.012346s;0.01;0.5;0;10 "),
        std::string::npos)
        << warning.line;

    const PluginReport critical = report(smtp({"-w", "0.005", "-c", "0.01"}), result);
    EXPECT_EQ(critical.state, PluginState::critical);
    EXPECT_EQ(static_cast<int>(critical.state), 2);
    EXPECT_NE(critical.line.find("time 0.012346s outside critical range 0.01"), std::string::npos);

    EXPECT_EQ(report(smtp({"-w", "0.5"}), result).state, PluginState::ok);
    EXPECT_EQ(report(smtp({"-w", "@0:1"}), result).state, PluginState::warning);  // inside alerts
    EXPECT_EQ(report(smtp({"-c", "0.02:"}), result).state,
              PluginState::critical);  // too fast to be true
}

TEST_F(PluginReportTest, CertificateDays) {
    const PluginReport warning = report(smtp(), tls_success(std::chrono::days(10) + 1h));
    EXPECT_EQ(warning.state, PluginState::warning);
    EXPECT_NE(warning.line.find(": certificate days left 10 outside warning range 21:"),
              std::string::npos)
        << warning.line;
    EXPECT_EQ(report(smtp(), tls_success(std::chrono::days(3))).state, PluginState::critical);
    EXPECT_EQ(report(smtp({"-C", "400,30"}), tls_success(std::chrono::days(364))).state,
              PluginState::warning);
    EXPECT_EQ(report(smtp({"-C", "0"}), tls_success(std::chrono::days(3))).state, PluginState::ok);
    // 20 days and 23 hours is 20 whole days: below 21.
    EXPECT_EQ(report(smtp(), tls_success(std::chrono::days(20) + 23h)).state, PluginState::warning);
    EXPECT_EQ(report(smtp(), tls_success(std::chrono::days(21))).state, PluginState::ok);
    const PluginReport both = report(smtp({"-w", "0.001"}), tls_success(std::chrono::days(3)));
    EXPECT_EQ(both.state, PluginState::critical);  // the worst wins, both are said
    EXPECT_NE(both.line.find("outside warning range 0.001; certificate days left 3"),
              std::string::npos)
        << both.line;
}

TEST_F(PluginReportTest, FailureIsCriticalWhateverTheThresholds) {
    ProbeResult result;
    result.reason = FailureReason::auth;
    result.detail = "AUTH PLAIN answered 535 5.7.8 Error: authentication failed | or not";
    result.total = 20ms;
    result.add_phase(Phase::connect, 1ms);
    const PluginReport r = report(smtp({"-w", "100", "-c", "200"}), result);
    EXPECT_EQ(r.state, PluginState::critical);
    EXPECT_EQ(
        r.line,
        "SMTP CRITICAL - 127.0.10.1:10025 STARTTLS in 0.020s: auth: AUTH PLAIN answered 535 5.7.8 "
        "Error: "
        "authentication failed / or not | 'time'=0.02s;100;200;0;10 'time_connect'=0.001s;;;0");

    ProbeResult expired = tls_success(-std::chrono::days(2));
    expired.reason = FailureReason::cert_expired;
    expired.detail = "certificate has expired";
    const PluginReport cert = report(smtp(), expired);
    EXPECT_EQ(cert.state, PluginState::critical);
    EXPECT_NE(cert.line.find("cert_expired: certificate has expired"), std::string::npos);
    EXPECT_NE(cert.line.find("'cert_days'=-2;21:;7:"), std::string::npos) << cert.line;
}

TEST_F(PluginReportTest, NothingInTheStatusCanStartThePerfdata) {
    const PluginRequest r = request({"https://127.0.0.1/a|b", "--ca-file", ca_});
    const Config config = build_check_config(r, dir_);
    ProbeResult result;
    result.reason = FailureReason::bad_greeting;
    result.detail = "x | y\nz";
    const PluginReport report =
        report_probe(r, config.checks[0], "127.0.0.1:443/a|b", result, now_);
    EXPECT_EQ(
        report.line,
        "HTTPS CRITICAL - 127.0.0.1:443/a/b in 0.000s: bad_greeting: x / y z | 'time'=0s;;;0;10");
}

TEST(PluginReportUnknown, UnknownIsThree) {
    const PluginReport r = report_unknown("IMAP", "--password-file: cannot | read\nit");
    EXPECT_EQ(r.state, PluginState::unknown);
    EXPECT_EQ(static_cast<int>(r.state), 3);
    EXPECT_EQ(r.line, "IMAP UNKNOWN - --password-file: cannot / read it");
}

// ---- the whole command on bad usage (no probe runs) ---------------------------------------------

TEST_F(PluginCheckTest, CommandExitsUnknownOnBadUsageAndNeverPrintsThePassword) {
    const std::string password = "correct-horse-battery";
    const auto file = write("pw", password);
    const auto run = [](std::vector<std::string> args) {
        std::ostringstream out;
        const int code = run_plugin_check(args, out);
        return std::pair(code, out.str());
    };
    const auto [bogus_code, bogus] = run({"--bogus"});
    EXPECT_EQ(bogus_code, 3);
    EXPECT_EQ(bogus,
              "TIERWATCH UNKNOWN - unknown option \"--bogus\" (see tierwatch check --help)\n");

    const auto [half_code, half] = run({"imap://127.0.0.1", "--password-file", file.string()});
    EXPECT_EQ(half_code, 3);
    EXPECT_EQ(half.rfind("IMAP UNKNOWN - --password-file: the check needs both", 0), 0u) << half;
    EXPECT_EQ(half.find(password), std::string::npos);

    const auto [help_code, help] = run({"--help"});
    EXPECT_EQ(help_code, 3);  // as the Monitoring Plugins do
    EXPECT_NE(help.find("usage: tierwatch check URL [options]"), std::string::npos);
}

// ---- the whole command against an in-process server ------------------------------------------

class PluginCommandTest : public PluginCheckTest {
protected:
    static constexpr std::string_view kAddress = "127.0.75.10";

    void SetUp() override {
        PluginCheckTest::SetUp();
        pki_ = test::make_pki(dir_ / "pki", {.extra_names = {std::string(kAddress)}});
    }

    test::FaultOptions serving(test::Behaviour behaviour) const {
        test::FaultOptions options;
        options.behaviour = behaviour;
        options.address = boost::asio::ip::make_address(kAddress);
        return options;
    }

    test::FaultOptions https(test::CertVariant variant) const {
        test::FaultOptions options = serving(test::Behaviour::https);
        options.certificate = pki_.leaf(variant);
        options.http.body = "healthy";
        return options;
    }

    std::string url(std::string_view scheme, const test::FaultServer& server,
                    std::string_view path = "") const {
        return std::string(scheme) + "://" + std::string(kAddress) + ":" +
               std::to_string(server.port()) + std::string(path);
    }

    static std::pair<int, std::string> run(std::vector<std::string> args) {
        std::ostringstream out;
        const int code = run_plugin_check(args, out);
        return {code, out.str()};
    }

    test::Pki pki_;
};

TEST_F(PluginCommandTest, ExitCodeIsTheStateOfTheProbe) {
    test::FaultOptions banner = serving(test::Behaviour::banner);
    banner.text = "220 mta.test ESMTP\r\n";
    const test::FaultServer server(banner);

    const auto [ok_code, ok] = run({url("tcp", server), "--banner-regex", "^220 ", "-c", "100"});
    EXPECT_EQ(ok_code, 0) << ok;
    EXPECT_EQ(
        ok.rfind("TCP OK - " + std::string(kAddress) + ":" + std::to_string(server.port()) + " in ",
                 0),
        0u)
        << ok;
    ASSERT_TRUE(ok.ends_with("\n") && ok.find('\n') == ok.size() - 1) << "one line: " << ok;
    const std::string perfdata = ok.substr(ok.find(" | ") + 3, ok.size() - ok.find(" | ") - 4);
    EXPECT_TRUE(boost::regex_match(perfdata, kPerfdata)) << perfdata;
    EXPECT_NE(perfdata.find("'time_greeting'="), std::string::npos);

    const auto [bad_code, bad] = run({url("tcp", server), "--banner-regex", "^554"});
    EXPECT_EQ(bad_code, 2) << bad;
    EXPECT_NE(bad.find("TCP CRITICAL - "), std::string::npos);
    EXPECT_NE(bad.find(": bad_greeting: "), std::string::npos) << bad;
}

TEST_F(PluginCommandTest, HttpsPathCertificateDaysAndThresholds) {
    const std::string root = pki_.root_ca.string();
    const test::FaultServer good(https(test::CertVariant::good));
    const auto [ok_code, ok] =
        run({url("https", good, "/health?deep=1"), "--ca-file", root, "--body-regex", "^healthy$"});
    EXPECT_EQ(ok_code, 0) << ok;
    EXPECT_NE(ok.find(" TLS 1.3 HTTP 200 in "), std::string::npos) << ok;
    EXPECT_NE(ok.find("'cert_days'="), std::string::npos) << ok;
    ASSERT_EQ(good.request_lines().size(), 1u);
    EXPECT_EQ(good.request_lines()[0], "GET /health?deep=1 HTTP/1.1");

    const test::FaultServer soon(https(test::CertVariant::expiring_soon));  // 3 days left
    EXPECT_EQ(run({url("https", soon), "--ca-file", root}).first, 2);       // default -C 21,7
    EXPECT_EQ(run({url("https", soon), "--ca-file", root, "-C", "5,1"}).first, 1);
    EXPECT_EQ(run({url("https", soon), "--ca-file", root, "-C", "2,1"}).first, 0);

    const test::FaultServer expired(https(test::CertVariant::expired));
    const auto [expired_code, expired_line] = run({url("https", expired), "--ca-file", root});
    EXPECT_EQ(expired_code, 2);
    EXPECT_NE(expired_line.find("cert_expired"), std::string::npos) << expired_line;

    const auto [untrusted_code, untrusted] = run({url("https", good), "--ca-file", ca_});
    EXPECT_EQ(untrusted_code, 3) << untrusted;  // a CA file with no certificate: bad usage
    EXPECT_NE(untrusted.find("HTTPS UNKNOWN - "), std::string::npos) << untrusted;
}

}  // namespace
}  // namespace tierwatch

// The Nagios/Icinga plugin mode (see plugin_check.hpp).
#include "daemon/cli/plugin_check.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <ostream>

#include "config/toml/text.hpp"
#include "daemon/scheduling/dns_resolver.hpp"
#include "daemon/scheduling/probe_target.hpp"
#include "daemon/scheduling/targets.hpp"
#include "probes/net/probe.hpp"
#include "probes/net/tls_context.hpp"
#include "probes/wire/url.hpp"

namespace tierwatch {

namespace asio = boost::asio;
using detail::in_quotes;

namespace {

// Longer than any monitoring system waits for a plugin; a typo such as "-t 5000" is refused.
constexpr auto max_timeout = std::chrono::hours(1);
constexpr std::int64_t max_certificate_days = 3650;

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    });
    return out;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return out;
}

// A TOML basic string on one line (control characters escaped), so every generated key stays on
// the line that names the option it came from.
std::string toml_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (is_control(c)) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04X",
                          static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

template <class Integer>
std::optional<Integer> parse_integer(std::string_view text) {
    Integer value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

bool is_host_name(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == '_';
    });
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code error;
    asio::ip::make_address(host, error);
    return !error;
}

bool is_http(Protocol protocol) {
    return protocol == Protocol::http || protocol == Protocol::https;
}

// ---- options ------------------------------------------------------------------------------------

struct OptionSpec;
using Apply = void (*)(PluginRequest&, const OptionSpec&, std::string_view value);

struct OptionSpec {
    std::string_view name;  // "--warning"
    char short_name = 0;    // 'w'; 0: none
    bool takes_value = true;
    std::string_view key;  // the [[check]] key it sets, if any
    Apply apply = nullptr;
};

[[noreturn]] void fail(const OptionSpec& option, const std::string& message) {
    throw PluginUsageError(std::string(option.name) + ": " + message);
}

void set_setting(PluginRequest& request, std::string_view key, std::string value, bool list,
                 std::string_view option) {
    const auto existing =
        std::find_if(request.settings.begin(), request.settings.end(),
                     [&](const CheckSetting& setting) { return setting.key == key; });
    if (existing == request.settings.end()) {
        request.settings.push_back(
            {std::string(key), {std::move(value)}, list, std::string(option)});
    } else if (list) {
        existing->values.push_back(std::move(value));
    } else {  // the last one wins, as with any command line
        existing->values = {std::move(value)};
        existing->option = option;
    }
}

void apply_text(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    set_setting(request, option.key, toml_string(value), false, option.name);
}

void apply_true(PluginRequest& request, const OptionSpec& option, std::string_view) {
    set_setting(request, option.key, "true", false, option.name);
}

void apply_false(PluginRequest& request, const OptionSpec& option, std::string_view) {
    set_setting(request, option.key, "false", false, option.name);
}

void apply_list_text(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    set_setting(request, option.key, toml_string(value), true, option.name);
}

std::string integer_text(const OptionSpec& option, std::string_view value) {
    const auto number = parse_integer<std::int64_t>(value);
    if (!number) fail(option, in_quotes(value) + " is not a whole number");
    return std::to_string(*number);  // the loader checks its range
}

void apply_integer(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    set_setting(request, option.key, integer_text(option, value), false, option.name);
}

void apply_list_integer(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    set_setting(request, option.key, integer_text(option, value), true, option.name);
}

PluginRange range_or_fail(const OptionSpec& option, std::string_view value) {
    std::string why;
    const auto range = parse_plugin_range(value, why);
    if (!range) {
        fail(option, "invalid range " + in_quotes(value) + ": " + why +
                         " (expected e.g. 10, 10:, ~:10, 10:20 or @10:20, in seconds)");
    }
    return *range;
}

void apply_warning(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    request.time_warning = range_or_fail(option, value);
}

void apply_critical(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    request.time_critical = range_or_fail(option, value);
}

void apply_timeout(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    double seconds = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (value.empty() || error != std::errc{} || end != value.data() + value.size() ||
        !std::isfinite(seconds) || seconds <= 0) {
        fail(option, in_quotes(value) + " is not a positive number of seconds");
    }
    if (seconds > std::chrono::duration<double>(max_timeout).count()) {
        fail(option, in_quotes(value) + " seconds is too long (at most " +
                         format_duration(max_timeout) + ")");
    }
    request.timeout =
        std::max(Duration(1), Duration(static_cast<std::int64_t>(std::llround(seconds * 1000))));
}

std::string days_text(const OptionSpec& option, std::string_view value) {
    const auto days = parse_integer<std::int64_t>(value);
    if (!days || *days < 0 || *days > max_certificate_days) {
        fail(option, in_quotes(value) + " is not a number of days between 0 and " +
                         std::to_string(max_certificate_days));
    }
    return toml_string(std::to_string(*days) + "d");
}

// check_http's -C WARN[,CRIT]: days the certificate must still be valid. WARN alone makes only
// the expiry itself critical, as there.
void apply_certificate(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    const std::size_t comma = value.find(',');
    const std::string_view warning = value.substr(0, comma);
    const std::string_view critical =
        comma == std::string_view::npos ? "0" : value.substr(comma + 1);
    set_setting(request, "cert_warning", days_text(option, warning), false, option.name);
    set_setting(request, "cert_critical", days_text(option, critical), false, option.name);
}

void apply_days(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    set_setting(request, option.key, days_text(option, value), false, option.name);
}

void apply_server_name(PluginRequest& request, const OptionSpec& option, std::string_view value) {
    if (!is_host_name(value)) fail(option, in_quotes(value) + " is not a host name");
    request.server_name = value;
}

void apply_help(PluginRequest& request, const OptionSpec&, std::string_view) {
    request.help = true;
}
void apply_version(PluginRequest& request, const OptionSpec&, std::string_view) {
    request.version = true;
}

constexpr std::array<OptionSpec, 30> options{{
    {"--warning", 'w', true, "", &apply_warning},
    {"--critical", 'c', true, "", &apply_critical},
    {"--timeout", 't', true, "", &apply_timeout},
    {"--certificate", 'C', true, "", &apply_certificate},
    {"--cert-warning", 0, true, "cert_warning", &apply_days},
    {"--cert-critical", 0, true, "cert_critical", &apply_days},
    {"--starttls", 0, false, "starttls", &apply_true},
    {"--username", 0, true, "username", &apply_text},
    {"--password-file", 0, true, "password_file", &apply_text},
    {"--auth-mechanism", 0, true, "auth_mechanism", &apply_text},
    {"--expect-capability", 0, true, "expect_capabilities", &apply_list_text},
    {"--mailbox", 0, true, "mailbox", &apply_text},
    {"--helo", 0, true, "helo_name", &apply_text},
    {"--bind-dn", 0, true, "bind_dn", &apply_text},
    {"--search-base", 0, true, "search_base", &apply_text},
    {"--search-filter", 0, true, "search_filter", &apply_text},
    {"--search-scope", 0, true, "search_scope", &apply_text},
    {"--min-entries", 0, true, "min_entries", &apply_integer},
    {"--method", 0, true, "method", &apply_text},
    {"--expect-status", 0, true, "expected_status", &apply_list_integer},
    {"--body-regex", 0, true, "body_regex", &apply_text},
    {"--follow-redirects", 0, false, "follow_redirects", &apply_true},
    {"--banner-regex", 0, true, "banner_regex", &apply_text},
    {"--ca-file", 0, true, "ca_file", &apply_text},
    {"--insecure", 0, false, "tls_verify", &apply_false},
    {"--sni", 0, true, "", &apply_server_name},
    {"--fqdn", 0, true, "", &apply_server_name},
    {"--help", 'h', false, "", &apply_help},
    {"--version", 'V', false, "", &apply_version},
    // Known only to be refused with its reason (parse_check_arguments), never as a typo.
    {"--password", 0, true, "", nullptr},
}};

const OptionSpec* find_long(std::string_view name) {
    for (const auto& option : options) {
        if (option.name == name) return &option;
    }
    return nullptr;
}

const OptionSpec* find_short(char name) {
    for (const auto& option : options) {
        if (option.short_name != 0 && option.short_name == name) return &option;
    }
    return nullptr;
}

[[noreturn]] void unknown_option(std::string_view name) {
    std::vector<std::string_view> names;
    for (const auto& option : options) {
        if (option.apply != nullptr) names.push_back(option.name);
    }
    throw PluginUsageError("unknown option " + in_quotes(name) + detail::did_you_mean(name, names) +
                           " (see tierwatch check --help)");
}

// ---- the configuration --------------------------------------------------------------------------

// The generated TOML, and for each line the argument it came from, to name in errors.
class GeneratedConfig {
public:
    void add(const std::string& line, std::string_view origin) {
        text_ += line + "\n";
        origins_.emplace_back(origin);
    }
    const std::string& text() const noexcept { return text_; }
    std::string origin(std::uint32_t line) const {
        return line >= 1 && line <= origins_.size() ? origins_[line - 1] : std::string("the check");
    }

private:
    std::string text_;
    std::vector<std::string> origins_;
};

constexpr std::string_view check_name = "check";

// The loader speaks of keys; the operator wrote options (the one given, where two set a key).
std::string in_option_terms(std::string message, const std::vector<CheckSetting>& given) {
    const auto replace_all = [&](const std::string& from, const std::string& to) {
        for (std::size_t at = message.find(from); at != std::string::npos;
             at = message.find(from, at + to.size())) {
            message.replace(at, from.size(), to);
        }
    };
    replace_all("[[check]] " + in_quotes(check_name), "the check");
    replace_all("starttls = true", "--starttls");
    for (const auto& setting : given) replace_all(in_quotes(setting.key), setting.option);
    for (const auto& option : options) {
        if (!option.key.empty()) replace_all(in_quotes(option.key), std::string(option.name));
    }
    return message;
}

std::string endpoint_text(const CheckUrl& url, std::uint16_t port) {
    const bool v6 = url.host.find(':') != std::string::npos;
    return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(port) + url.path;
}

// ---- the report ---------------------------------------------------------------------------------

// Text for the status part: '|' would start the perfdata and a line break end the first line, so
// no server's words (nor a file name) can do either.
std::string status_text(std::string_view text) {
    std::string out(text);
    std::replace(out.begin(), out.end(), '|', '/');
    std::replace_if(out.begin(), out.end(), is_control, ' ');
    return out;
}

double seconds_of(ProbeResult::Duration duration) {
    return std::chrono::duration<double>(duration).count();
}

// Microseconds are the most a probe's timing can tell.
double rounded_seconds(ProbeResult::Duration duration) {
    return std::round(seconds_of(duration) * 1e6) / 1e6;
}

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

PluginRange at_least(double days) {
    PluginRange range;
    range.start = days;
    range.end_unbounded = true;
    return range;
}

double days_of(Duration duration) {
    return std::chrono::duration<double, std::ratio<86400>>(duration).count();
}

std::string range_problem(std::string_view what, const std::string& value, std::string_view level,
                          const PluginRange& range) {
    return std::string(what) + " " + value + (range.inside ? " inside " : " outside ") +
           std::string(level) + " range " + range.to_string();
}

}  // namespace

std::string_view to_string(PluginState state) noexcept {
    switch (state) {
        case PluginState::ok:
            return "OK";
        case PluginState::warning:
            return "WARNING";
        case PluginState::critical:
            return "CRITICAL";
        case PluginState::unknown:
            return "UNKNOWN";
    }
    return "UNKNOWN";
}

CheckUrl parse_check_url(std::string_view url) {
    if (std::any_of(url.begin(), url.end(), [](char c) { return is_control(c) || c == ' '; })) {
        throw PluginUsageError("the URL must not contain spaces or control characters");
    }
    const UrlSplit split = split_url(url);
    const UrlParts& parts = split.parts;
    if (split.error == UrlError::no_scheme) {
        throw PluginUsageError("URL " + in_quotes(url) +
                               " has no scheme (expected e.g. smtp://host:25)");
    }
    CheckUrl parsed;
    const std::string scheme = lower(parts.scheme);
    const ProtocolTraits* protocol = find_protocol(scheme);
    if (protocol == nullptr || !protocol->single_server) {
        std::vector<std::string_view> schemes;
        for (const auto& known : all_protocols()) {
            if (known.single_server) schemes.push_back(known.name);
        }
        throw PluginUsageError("unknown URL scheme " + in_quotes(scheme) +
                               " (expected one of: " + detail::joined(schemes) + ")" +
                               detail::did_you_mean(scheme, schemes));
    }
    parsed.protocol = protocol->protocol;

    // The path and query as written (the fragment is never sent to a server).
    std::string path(parts.path);
    if (parts.query) path += "?" + std::string(*parts.query);
    // The URL is not echoed here: what precedes '@' may be a password.
    if (parts.has_userinfo) {
        throw PluginUsageError(
            "credentials in the URL are not supported: use --username (or --bind-dn) and "
            "--password-file");
    }

    parsed.host = parts.host;
    if (split.error == UrlError::unclosed_bracket)
        throw PluginUsageError("URL " + in_quotes(url) + ": unclosed '['");
    if (split.error == UrlError::after_bracket) {
        const std::string_view after = url.substr(url.find(']') + 1);
        throw PluginUsageError("URL " + in_quotes(url) + ": unexpected " +
                               in_quotes(after.substr(0, after.find_first_of("/?#"))) + " after ']'");
    }
    if (parts.bracketed) {
        boost::system::error_code error;
        asio::ip::make_address_v6(parsed.host, error);
        if (error) {
            throw PluginUsageError("URL " + in_quotes(url) + ": " + in_quotes(parsed.host) +
                                   " in brackets is not an IPv6 address");
        }
    } else if (!is_host_name(parsed.host)) {
        throw PluginUsageError(
            "URL " + in_quotes(url) + ": " +
            (parsed.host.empty() ? std::string("no host")
                                 : in_quotes(parsed.host) + " is not a host name or address") +
            " (IPv6 addresses go in brackets: [::1])");
    }
    if (split.error == UrlError::bad_port) {
        throw PluginUsageError("URL " + in_quotes(url) + ": port " + in_quotes(*parts.port_text) +
                               " is not a number from 1 to 65535");
    }
    parsed.port = parts.port;
    if (!parsed.port && !protocol->default_port) {
        throw PluginUsageError("URL " + in_quotes(url) + ": " + scheme +
                               ":// has no default port, give one (" + scheme + "://host:PORT)");
    }

    if (is_http(parsed.protocol)) {
        parsed.path = path.starts_with('/') ? std::string(path) : "/" + std::string(path);
    } else if (!path.empty() && path != "/") {
        throw PluginUsageError(
            "URL " + in_quotes(url) + ": a path or query applies only to http:// and https://" +
            (is_ldap_family(parsed.protocol) ? " (for LDAP use --search-base and --search-filter)"
                                             : std::string()));
    }
    return parsed;
}

PluginRequest parse_check_arguments(std::span<const std::string> args) {
    PluginRequest request;
    bool have_url = false;
    const auto take_url = [&](const std::string& text) {
        if (have_url) {
            throw PluginUsageError("unexpected argument " + in_quotes(text) +
                                   ": give one URL (see tierwatch check --help)");
        }
        request.url = parse_check_url(text);
        have_url = true;
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            for (++i; i < args.size(); ++i) take_url(args[i]);
            break;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            take_url(arg);
            continue;
        }
        const OptionSpec* option = nullptr;
        std::optional<std::string_view> inline_value;
        if (arg.starts_with("--")) {
            const std::size_t equals = arg.find('=');
            const std::string_view name = std::string_view(arg).substr(0, equals);
            option = find_long(name);
            if (!option) unknown_option(name);  // never echoes a value after '='
            if (equals != std::string::npos)
                inline_value = std::string_view(arg).substr(equals + 1);
        } else {
            option = find_short(arg[1]);
            if (!option) unknown_option(arg.substr(0, 2));
            if (arg.size() > 2) inline_value = std::string_view(arg).substr(2);
        }
        if (option->name == "--password") {
            throw PluginUsageError(
                "--password is not supported: a password on the command line is visible to "
                "every local user; put it in a file and give --password-file");
        }
        std::string_view value;
        if (option->takes_value) {
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                fail(*option, "needs a value");
            }
        } else if (inline_value) {
            fail(*option, "takes no value");
        }
        option->apply(request, *option, value);
    }
    if (!have_url && !request.help && !request.version) {
        throw PluginUsageError(
            "no URL given (e.g. tierwatch check smtp://mx.example.com --starttls; see --help)");
    }
    return request;
}

Config build_check_config(const PluginRequest& request, const std::filesystem::path& base_dir) {
    const CheckUrl& url = request.url;
    std::string fqdn = request.server_name;
    if (fqdn.empty() && !is_ip_literal(url.host))
        fqdn = url.host;  // as a browser would: SNI and Host
    const std::string timeout = toml_string(format_duration(request.timeout));

    GeneratedConfig generated;
    generated.add("[[node]]", "the URL");
    generated.add("name = \"target\"", "the URL");
    generated.add("role = \"target\"", "the URL");
    generated.add("address = " + toml_string(url.host), "the URL");
    if (!fqdn.empty())
        generated.add("fqdn = " + toml_string(fqdn),
                      request.server_name.empty() ? "the URL" : "--sni");
    generated.add("[[check]]", "the URL");
    generated.add("name = " + toml_string(check_name), "the URL");
    generated.add("protocol = " + toml_string(to_string(url.protocol)), "the URL");
    generated.add("roles = [\"target\"]", "the URL");
    if (url.port) generated.add("port = " + std::to_string(*url.port), "the URL");
    if (is_http(url.protocol)) generated.add("path = " + toml_string(url.path), "the URL");
    // One probe: the interval only has to admit the timeout.
    generated.add("timeout = " + timeout, "--timeout");
    generated.add("interval = " + timeout, "--timeout");
    for (const CheckSetting& setting : request.settings) {
        std::string value = setting.list ? "[" : "";
        for (std::size_t i = 0; i < setting.values.size(); ++i) {
            value += (i > 0 ? ", " : "") + setting.values[i];
        }
        if (setting.list) value += "]";
        generated.add(setting.key + " = " + value, setting.option);
    }
    try {
        return parse_config(generated.text(), base_dir / "tierwatch-check");
    } catch (const ConfigError& error) {
        throw PluginUsageError(generated.origin(error.where().line) + ": " +
                               in_option_terms(error.message(), request.settings));
    }
}

std::string format_perfdata(std::span<const PerfDatum> data) {
    std::string out;
    for (const PerfDatum& datum : data) {
        if (!out.empty()) out += ' ';
        out += '\'';
        for (const char c : datum.label) {
            out += c;
            if (c == '\'') out += '\'';  // a quote inside a label is written twice
        }
        out += "'=" + format_plugin_number(datum.value) + datum.uom;
        const std::array<std::string, 4> fields{
            datum.warning, datum.critical,
            datum.min ? format_plugin_number(*datum.min) : std::string(),
            datum.max ? format_plugin_number(*datum.max) : std::string()};
        std::size_t used = fields.size();
        while (used > 0 && fields[used - 1].empty())
            --used;  // trailing empty fields may be dropped
        for (std::size_t i = 0; i < used; ++i) out += ";" + fields[i];
    }
    return out;
}

PluginReport report_probe(const PluginRequest& request, const Check& check,
                          std::string_view endpoint, const ProbeResult& result,
                          std::chrono::system_clock::time_point now) {
    PluginReport report{PluginState::ok, {}};
    std::vector<std::string> problems;
    const auto raise = [&](PluginState state, std::string why) {
        report.state = std::max(report.state, state);
        problems.push_back(std::move(why));
    };

    const double total = rounded_seconds(result.total);
    std::string summary(endpoint);
    if (check.upgrades_to_tls()) summary += " STARTTLS";
    if (result.certificate && !result.certificate->tls_version.empty())
        summary += " " + result.certificate->tls_version;
    for (const auto& m : result.measurements) {
        if (!m.kind->summary.empty()) summary += " " + std::string(m.kind->summary) + " " + format_measurement(m);
    }
    if (!result.ok()) {
        raise(PluginState::critical, std::string(to_string(result.reason)) +
                                         (result.detail.empty() ? "" : ": " + result.detail));
    }
    summary += " in " + fixed(total, 3) + "s";

    if (result.ok()) {
        if (request.time_critical && request.time_critical->alerts(total)) {
            raise(PluginState::critical,
                  range_problem("time", fixed(total, 6) + "s", "critical", *request.time_critical));
        } else if (request.time_warning && request.time_warning->alerts(total)) {
            raise(PluginState::warning,
                  range_problem("time", fixed(total, 6) + "s", "warning", *request.time_warning));
        }
    }

    std::vector<PerfDatum> perfdata;
    perfdata.push_back({"time", total, "s",
                        request.time_warning ? request.time_warning->to_string() : "",
                        request.time_critical ? request.time_critical->to_string() : "", 0.0,
                        seconds_of(check.timeout)});
    for (std::size_t p = 0; p < phase_count; ++p) {
        const auto phase = static_cast<Phase>(p);
        if (result.phase(phase).count() > 0) {
            perfdata.push_back({"time_" + std::string(to_string(phase)),
                                rounded_seconds(result.phase(phase)), "s", "", "", 0.0,
                                std::nullopt});
        }
    }
    if (result.certificate && result.certificate->earliest_not_after > 0) {
        const auto left =
            std::chrono::sys_seconds(std::chrono::seconds(result.certificate->earliest_not_after)) -
            now;
        const double days = std::floor(days_of(std::chrono::duration_cast<Duration>(left)));
        const PluginRange warning = at_least(days_of(check.cert_warning));
        const PluginRange critical = at_least(days_of(check.cert_critical));
        // Graded only on success: a failed probe is critical already (cert_expired names itself).
        if (result.ok() && critical.alerts(days)) {
            raise(PluginState::critical,
                  range_problem("certificate days left", format_plugin_number(days), "critical",
                                critical));
        } else if (result.ok() && warning.alerts(days)) {
            raise(PluginState::warning,
                  range_problem("certificate days left", format_plugin_number(days), "warning",
                                warning));
        }
        perfdata.push_back({"cert_days", days, "", warning.to_string(), critical.to_string(),
                            std::nullopt, std::nullopt});
    }

    std::string problems_text;
    for (const auto& problem : problems)
        problems_text += (problems_text.empty() ? ": " : "; ") + problem;
    report.line = upper(to_string(check.protocol)) + " " + std::string(to_string(report.state)) +
                  " - " + status_text(summary + problems_text) + " | " + format_perfdata(perfdata);
    return report;
}

PluginReport report_unknown(std::string_view service, std::string_view message) {
    return {PluginState::unknown, std::string(service) + " UNKNOWN - " + status_text(message)};
}

std::string plugin_check_help() {
    return R"(usage: tierwatch check URL [options]

Runs one probe and reports it as a Nagios/Icinga plugin: one status line with perfdata in the
Monitoring Plugins format, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad usage, a bad URL or
option, an unreadable file; also after --help and --version, as the Monitoring Plugins do).

URL:  SCHEME://HOST[:PORT][/PATH]     IPv6 addresses in brackets: smtp://[2001:db8::1]:25
  smtp (25)  smtps (465)  submission (587)  lmtp (24)  imap (143)  imaps (993)  pop3 (110)
  pop3s (995)  ldap (389)  ldaps (636)  http (80)  https (443)  tcp and tls (port required)
  A PATH (and query) applies to http and https only.

Thresholds (Monitoring Plugins range syntax: 10 = outside 0..10, 10: = below 10,
~:10 = above 10, 10:20 = outside 10..20, @10:20 = inside 10..20, all inclusive):
  -w, --warning RANGE        total probe time in seconds that is a WARNING (e.g. -w 0.5)
  -c, --critical RANGE       total probe time in seconds that is CRITICAL  (e.g. -c 2)
  -C, --certificate W[,C]    days the certificate must still be valid, as check_http's -C:
                             WARNING below W days, CRITICAL below C (default 21,7; W alone: C = 0)
      --cert-warning DAYS    the same, one at a time
      --cert-critical DAYS
  -t, --timeout SECONDS      deadline of the probe (default 10); a timeout is CRITICAL
  An expired or untrusted certificate, a refused connection, a failed login or a bad answer
  is CRITICAL whatever the thresholds.

Mail (smtp, smtps, submission, lmtp, imap, imaps, pop3, pop3s):
      --starttls             upgrade with STARTTLS/STLS (also ldap)
      --username NAME        log in as NAME (needs --password-file)
      --password-file FILE   the password, read from FILE (final newline ignored). There is no
                             --password: command lines are visible to every local user.
      --auth-mechanism plain|login
      --expect-capability CAP  a capability the server must offer (repeatable), e.g. "AUTH PLAIN"
      --mailbox NAME         IMAP: mailbox examined after login (default INBOX)
      --helo NAME            SMTP: EHLO/LHLO name
LDAP (ldap, ldaps):
      --bind-dn DN           simple bind as DN (needs --password-file); default anonymous
      --search-base DN  --search-filter FILTER  --search-scope base|one|sub  --min-entries N
HTTP (http, https):
      --method M  --expect-status CODE (repeatable; default any 2xx)  --body-regex RE
      --follow-redirects
TCP (tcp, tls):
      --banner-regex RE      the first line must match
TLS (implicit TLS schemes and --starttls):
      --ca-file FILE         trusted roots (default /etc/ssl/certs/ca-certificates.crt)
      --sni NAME, --fqdn NAME  the name sent as SNI, checked in the certificate and sent as HTTP
                             Host (default: the URL's host when it is a name)
      --insecure             do not verify the certificate chain (its expiry is still graded)

Perfdata: 'time'=<s>;<-w>;<-c>;0;<timeout>, 'time_<phase>' for each phase measured (resolve,
connect, tls, greeting, command, auth) and, with TLS, 'cert_days' (whole days left).

Examples:
  tierwatch check smtp://mx1.example.com --starttls -w 1 -c 3 -C 21,7
  tierwatch check imaps://mail.example.com --username probe@example.com \
      --password-file /etc/tierwatch/probe.pw
  tierwatch check ldap://ldap1.example.com --starttls --bind-dn cn=probe,dc=example,dc=com \
      --password-file /etc/tierwatch/ldap.pw --search-base dc=example,dc=com
  tierwatch check https://www.example.com/health --body-regex ok
)";
}

int run_plugin_check(std::span<const std::string> args, std::ostream& out) {
    std::string service = "TIERWATCH";
    const auto print = [&](const PluginReport& report) {
        out << report.line << '\n' << std::flush;
        return static_cast<int>(report.state);
    };
    try {
        const PluginRequest request = parse_check_arguments(args);
        if (request.help) {
            out << plugin_check_help();
            return static_cast<int>(PluginState::unknown);
        }
        if (request.version) {
            out << "tierwatch " << TIERWATCH_VERSION << '\n';
            return static_cast<int>(PluginState::unknown);
        }
        service = upper(to_string(request.url.protocol));
        const Config config = build_check_config(request, std::filesystem::current_path());
        const Check& check = config.checks.front();
        const std::string endpoint = endpoint_text(request.url, check.port);

        asio::io_context io(1);
        DnsResolver resolver(io.get_executor(), config.daemon.nameservers, request.timeout);
        TlsContextCache tls_contexts;
        ProbeContext context{io.get_executor(), &tls_contexts, config.daemon.nameservers};
        ProbeResult result;
        std::string internal_error;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                const auto started = std::chrono::steady_clock::now();
                ResolvedNames resolved;
                const auto names = names_to_resolve(config);
                for (const auto& name : names) {
                    auto answer = co_await resolver.resolve(name);
                    resolved[name] =
                        Resolution{std::move(answer.addresses), std::move(answer.error)};
                }
                const auto resolve_time = std::chrono::steady_clock::now() - started;
                const std::vector<TargetSpec> specs = expand_targets(config, resolved);
                const TargetSpec& spec = specs.front();  // one node, one check: one target
                ProbeRequest probe = probe_request(check, spec.address, config.nodes.front().fqdn);
                // -t bounds the whole run: the probe gets what the name lookup left of it.
                probe.deadline = std::max(
                    Duration(1), check.timeout - std::chrono::duration_cast<Duration>(resolve_time));
                result = co_await probe_target(spec, probe, context, ProberException::propagate);
                if (!names.empty()) {
                    result.add_phase(Phase::resolve, resolve_time);
                    result.total += resolve_time;
                }
            },
            [&](std::exception_ptr error) {
                if (!error) return;
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    internal_error = e.what();
                }
            });
        io.run();
        if (!internal_error.empty())
            return print(report_unknown(service, endpoint + ": " + internal_error));
        return print(
            report_probe(request, check, endpoint, result, std::chrono::system_clock::now()));
    } catch (const PluginUsageError& error) {
        return print(report_unknown(service, error.what()));
    } catch (const std::exception& error) {  // the resolver's start-up, the working directory
        return print(report_unknown(service, error.what()));
    }
}

}  // namespace tierwatch

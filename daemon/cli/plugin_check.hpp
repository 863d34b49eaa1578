// `tierwatch check URL [options]`: one probe as a Nagios/Icinga plugin. The URL and options
// become a one-node configuration checked by the configuration loader, the probe engine runs
// it once, and the result is printed as one status line with perfdata in the Monitoring
// Plugins format, with exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "daemon/cli/plugin_range.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

// The value is the exit code.
enum class PluginState : std::uint8_t { ok = 0, warning = 1, critical = 2, unknown = 3 };
std::string_view to_string(PluginState state) noexcept;  // "OK", "WARNING", ...

// Bad usage, a bad URL or option, an unreadable file: reported as UNKNOWN. what() names the
// argument at fault and never holds a secret.
class PluginUsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct CheckUrl {
    Protocol protocol = Protocol::tcp;
    std::string host;                   // name or IP literal, without IPv6 brackets
    std::optional<std::uint16_t> port;  // nullopt: the protocol's default port
    std::string path;                   // http(s): path and query ("/" when none); empty otherwise
};

// smtp, smtps, submission, lmtp, imap, imaps, pop3, pop3s, ldap, ldaps, http, https, tcp, tls.
CheckUrl parse_check_url(std::string_view url);

// One key the options set in the generated [[check]], and the option that set it.
struct CheckSetting {
    std::string key;
    std::vector<std::string> values;  // TOML-formatted; more than one only for list keys
    bool list = false;
    std::string option;  // "--bind-dn"
};

struct PluginRequest {
    CheckUrl url;
    std::optional<PluginRange> time_warning;      // -w, seconds
    std::optional<PluginRange> time_critical;     // -c, seconds
    Duration timeout = std::chrono::seconds(10);  // the Monitoring Plugins' usual default
    std::string server_name;                      // --sni: SNI, certificate name and HTTP Host
    std::vector<CheckSetting> settings;
    bool help = false;
    bool version = false;
};

// The arguments after "check". Throws PluginUsageError.
PluginRequest parse_check_arguments(std::span<const std::string> args);

// The request as a configuration of one node and one check, validated by the configuration
// loader; relative paths are taken from base_dir. Throws PluginUsageError naming the option.
Config build_check_config(const PluginRequest& request, const std::filesystem::path& base_dir);

struct PerfDatum {
    std::string label;
    double value = 0;
    std::string uom;      // "s", "" ...
    std::string warning;  // range text, may be empty
    std::string critical;
    std::optional<double> min;
    std::optional<double> max;
};

// "'label'=value[UOM];warn;crit;min;max ..." with trailing empty fields left out.
std::string format_perfdata(std::span<const PerfDatum> data);

struct PluginReport {
    PluginState state = PluginState::unknown;
    std::string line;  // status text, " | ", perfdata; no newline
};

// The status line for one probe of `check` (built from `request`) at `endpoint` ("host:port").
PluginReport report_probe(const PluginRequest& request, const Check& check,
                          std::string_view endpoint, const ProbeResult& result,
                          std::chrono::system_clock::time_point now);

// A line for an error before any probe ran: "<SERVICE> UNKNOWN - message".
PluginReport report_unknown(std::string_view service, std::string_view message);

std::string plugin_check_help();

// The whole command: prints one line on `out` and returns the exit code.
int run_plugin_check(std::span<const std::string> args, std::ostream& out);

}  // namespace tierwatch

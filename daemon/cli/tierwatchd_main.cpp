// tierwatchd: the daemon, --check-config and --once.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>

#include "daemon/cli/commands.hpp"

namespace {

constexpr const char* usage =
    "usage: tierwatchd --config FILE [--check-config | --once [--json]] [--shard I/N] [--log-level LEVEL]\n"
    "  --config FILE     the TOML configuration (required)\n"
    "  --check-config    validate the configuration, print a summary, exit 0 (valid) or 2\n"
    "  --once            probe every target once, print a table, exit 0 ok, 1 warning, 2 critical\n"
    "  --json            with --once: print JSON instead of a table\n"
    "  --shard I/N       probe only the targets whose stable hash is I modulo N (0 <= I < N):\n"
    "                    N instances with --shard 0/N .. N-1/N split the fleet between them\n"
    "  --log-level L     trace, debug, info (default), warn, error\n"
    "  --version         print the version\n";

}  // namespace

int main(int argc, char** argv) {
    std::string config_file, log_level;
    tierwatch::Shard shard;
    bool check_config = false, once = false, json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "tierwatchd: " << arg << " needs a value\n" << usage;
                std::exit(64);
            }
            return argv[++i];
        };
        if (arg == "--config" || arg == "-c") {
            config_file = value();
        } else if (arg == "--check-config") {
            check_config = true;
        } else if (arg == "--once") {
            once = true;
        } else if (arg == "--json") {
            json = true;
        } else if (arg == "--shard") {
            const std::string text = value();
            const auto parsed = tierwatch::parse_shard(text);
            if (!parsed) {
                std::cerr << "tierwatchd: --shard \"" << text << "\": expected I/N with 0 <= I < N, e.g. 0/2\n";
                return 64;
            }
            shard = *parsed;
        } else if (arg == "--log-level") {
            log_level = value();
        } else if (arg == "--version") {
            std::cout << "tierwatchd " << TIERWATCH_VERSION << "\n";
            return 0;
        } else if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        } else {
            std::cerr << "tierwatchd: unknown argument \"" << arg << "\"\n" << usage;
            return 64;
        }
    }
    if (config_file.empty()) {
        std::cerr << "tierwatchd: --config FILE is required\n" << usage;
        return 64;
    }

    // Logs go to stderr so --once and --check-config output stays clean on stdout.
    auto logger = spdlog::stderr_color_mt("tierwatch");
    logger->set_pattern(check_config || once ? "%l: %v" : "[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    spdlog::set_default_logger(logger);

    std::shared_ptr<const tierwatch::Config> config;
    try {
        auto loaded = tierwatch::load_config(config_file);
        loaded.daemon.shard = shard;
        config = std::make_shared<const tierwatch::Config>(std::move(loaded));
    } catch (const tierwatch::ConfigError& error) {
        std::cerr << "tierwatchd: configuration error: " << error.what() << "\n";
        return 2;
    }
    const auto level = spdlog::level::from_str(log_level.empty() ? config->daemon.log_level : log_level);
    spdlog::set_level(once ? std::max(level, spdlog::level::warn) : level);

    try {
        if (check_config) {
            std::cout << tierwatch::summarize_config(*config);
            return 0;
        }
        if (once) return tierwatch::run_once(config, json);
        return tierwatch::run_daemon(config);
    } catch (const std::exception& error) {
        spdlog::critical("{}", error.what());
        return 2;
    }
}

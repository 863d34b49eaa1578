// tierwatch: the operator's command-line tool. `validate FILE` checks a configuration;
// `check URL [options]` is the Nagios/Icinga plugin mode (daemon/plugin_check.hpp).
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/cli/commands.hpp"
#include "daemon/cli/plugin_check.hpp"

namespace {

constexpr std::string_view usage =
    "usage: tierwatch validate FILE           check a configuration file and summarize it\n"
    "       tierwatch check URL [options]     one probe as a Nagios/Icinga plugin (tierwatch check --help)\n"
    "       tierwatch --version\n"
    "       tierwatch --help\n";

}  // namespace

int main(int argc, char** argv) {
    const std::string_view command = argc > 1 ? argv[1] : "";
    if (command == "check") {
        std::signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is a probe failure, not a killed plugin
        const std::vector<std::string> args(argv + 2, argv + argc);
        return tierwatch::run_plugin_check(args, std::cout);
    }
    if (command == "validate" && argc == 3) {
        try {
            std::cout << tierwatch::summarize_config(tierwatch::load_config(argv[2]));
            return 0;
        } catch (const tierwatch::ConfigError& error) {
            std::cerr << "tierwatch: configuration error: " << error.what() << "\n";
            return 2;
        }
    }
    if (command == "--version") {
        std::cout << "tierwatch " << TIERWATCH_VERSION << "\n";
        return 0;
    }
    if (command == "--help" || command == "-h") {
        std::cout << usage;
        return 0;
    }
    std::cerr << usage;
    return command.empty() ? 0 : 64;
}

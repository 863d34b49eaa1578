// tierwatch: the operator's command-line tool. The Nagios plugin mode (`tierwatch check URL`)
// lands with the operator-surfaces work; today it validates configurations.
#include <iostream>

#include "config/config.hpp"
#include "daemon/commands.hpp"

int main(int argc, char** argv) {
    const std::string_view command = argc > 1 ? argv[1] : "";
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
    std::cerr << "usage: tierwatch validate FILE\n"
                 "       tierwatch --version\n";
    return command.empty() || command == "--help" ? 0 : 64;
}

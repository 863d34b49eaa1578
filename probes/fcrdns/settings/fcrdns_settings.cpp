// Reads the fcrdns protocol's keys of a check (see fcrdns_settings.hpp).
#include "probes/fcrdns/settings/fcrdns_settings.hpp"

#include <array>

#include "config/toml/section.hpp"
#include "probes/wire/dns_message.hpp"

namespace tierwatch {

namespace {

constexpr std::array<std::string_view, 3> fcrdns_only_keys{"expect_hostname", "match_greeting", "greeting_port"};

}  // namespace

std::span<const std::string_view> fcrdns_settings_keys() noexcept { return fcrdns_only_keys; }

void reject_foreign_fcrdns_keys(const Section& s, Protocol protocol) {
    if (protocol != Protocol::fcrdns) s.reject_keys_for(fcrdns_only_keys, "protocol fcrdns", to_string(protocol));
}

FcrdnsSettings read_fcrdns_settings(const Section& s) {
    FcrdnsSettings settings;
    settings.expect_hostname =
        s.get<std::string>("expect_hostname",
                           [](const std::string& name) {
                               const std::string problem = dns_name_problem(name);
                               return problem.empty() ? problem : "\"expect_hostname\": " + problem;
                           })
            .value_or("");
    if (settings.expect_hostname.ends_with('.')) settings.expect_hostname.pop_back();
    settings.match_greeting = s.flag("match_greeting").value_or(false);
    if (const auto port = s.integer("greeting_port", 1, 65535)) {
        if (!settings.match_greeting) {
            s.fail("greeting_port", "\"greeting_port\" is the SMTP port whose greeting match_greeting reads: set "
                                    "\"match_greeting = true\" or leave it out");
        }
        settings.greeting_port = static_cast<std::uint16_t>(*port);
    }
    return settings;
}

}  // namespace tierwatch

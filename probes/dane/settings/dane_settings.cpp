// Reads the dane protocol's keys of a check (see dane_settings.hpp).
#include "probes/dane/settings/dane_settings.hpp"

#include <array>

#include "config/toml/section.hpp"

namespace tierwatch {

namespace {

// `require_dnssec` is shared with mail_domain: the core knows and refuses it (checks_dnssec).
constexpr std::array<std::string_view, 1> dane_only_keys{"renewal_window"};

}  // namespace

std::span<const std::string_view> dane_settings_keys() noexcept { return dane_only_keys; }

void reject_foreign_dane_keys(const Section& s, Protocol protocol) {
    if (protocol != Protocol::dane) s.reject_keys_for(dane_only_keys, "protocol dane", to_string(protocol));
}

DaneSettings read_dane_settings(const Section& s) {
    DaneSettings settings;
    settings.require_dnssec = s.flag("require_dnssec").value_or(settings.require_dnssec);
    if (const auto window = s.duration("renewal_window")) {
        if (*window < std::chrono::days(1)) {
            s.fail("renewal_window", "\"renewal_window\" is counted in days (like \"30d\"): a certificate's "
                                     "next key must be in DNS at least a TTL before it is used");
        }
        settings.renewal_window = std::chrono::floor<std::chrono::days>(*window);
    }
    return settings;
}

}  // namespace tierwatch

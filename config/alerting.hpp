// The alerting half of the configuration: groups, tiers and coverage schedules, pagers,
// maintenance windows and flapping limits, parsed from TOML into validated, immutable structs.
#pragma once

#include <toml++/toml.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/config.hpp"

namespace tierwatch {

using TimePoint = std::chrono::system_clock::time_point;

// A named zone of the system tz database (TZif files under $TZDIR or /usr/share/zoneinfo),
// read once at load: libstdc++ 12 has no std::chrono::locate_zone, and a small reader keeps
// the core library free of another shared library. Only UTC → local is needed here.
class TimeZone {
public:
    // Throws std::runtime_error saying why the zone cannot be used.
    static std::shared_ptr<const TimeZone> load(std::string_view name);
    // From TZif bytes (tests, and the loader itself).
    static std::shared_ptr<const TimeZone> from_tzif(std::string name, std::string_view bytes);

    const std::string& name() const noexcept { return name_; }
    // Offset of local time from UTC at `utc` (east positive), DST included.
    std::chrono::seconds offset_at(TimePoint utc) const;

    // The POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") that applies after the last transition.
    struct Rule {
        struct Date {
            enum class Kind : std::uint8_t { julian_no_leap, zero_based, month_week_day } kind{};
            int day = 0;  // Jn: 1..365; n: 0..365; Mm.w.d: weekday 0 (Sunday)..6
            int month = 0;
            int week = 0;                         // 1..5, 5 meaning the last
            std::chrono::seconds time{2 * 3600};  // local wall time of the change
        };
        std::chrono::seconds std_offset{};  // east positive
        std::optional<std::chrono::seconds> dst_offset;
        Date dst_start;
        Date dst_end;
    };
    // Parses the POSIX TZ string; nullopt when malformed.
    static std::optional<Rule> parse_rule(std::string_view text);

private:
    std::string name_;
    std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
    std::vector<std::int32_t> offsets_;      // offset in force from transitions_[i] on
    std::int32_t initial_offset_ = 0;        // before the first transition
    std::optional<Rule> rule_;               // after the last transition
};

// Which targets a group, maintenance window or silence is about. Lists are ORed within and
// ANDed across; an empty list does not restrict.
struct TargetMatcher {
    std::vector<std::string> nodes;
    std::vector<std::string> roles;
    std::vector<std::string> zones;
    std::vector<std::string> nlbs;
    std::vector<std::string> checks;

    bool empty() const noexcept;
    bool matches(const Check& check, const Node* node, const Nlb* nlb) const;
};

// One explicit group member: every check on `node` (check empty), or one check on it.
struct ExplicitTarget {
    std::string check;
    std::string node;  // a node name, or an NLB name (every address of it)
};

struct GroupConfig {
    std::string name;
    TargetMatcher match;                                  // used when `targets` is empty
    std::vector<ExplicitTarget> targets;                  // "check@node" or "node"
    std::optional<std::uint32_t> warning_when_down;       // at least this many members down
    std::optional<std::uint32_t> critical_when_up_below;  // fewer than this many members up
    SourceLocation where;

    bool contains(const Check& check, const Node* node, const Nlb* nlb) const;
};

// A coverage window: on `weekdays` from `start` to `end` local time in `zone`, the tier pages
// `receivers`. end <= start means the window runs past midnight into the next day.
struct CoverageWindow {
    std::uint8_t weekdays = 0x7f;  // bit n: std::chrono::weekday with c_encoding() n (0 Sunday)
    std::chrono::minutes start{0};
    std::chrono::minutes end{24 * 60};
    std::shared_ptr<const TimeZone> zone;
    std::vector<std::string> receivers;
    SourceLocation where;

    bool covers(TimePoint now) const;
};

struct TierConfig {
    std::vector<std::string> receivers;    // when no coverage window applies
    std::optional<Duration> repeat;        // re-send while firing; none: send once
    std::vector<CoverageWindow> coverage;  // first matching window wins
    std::optional<Duration> after;         // tier3: escalate a critical alarm unresolved this long
    std::vector<std::string> classes;      // tier3: alarm classes paged to it straight away
    SourceLocation where;

    // The receivers this tier pages at `now`, by its coverage schedule.
    std::span<const std::string> receivers_at(TimePoint now) const;
};

enum class PagerKind : std::uint8_t { alertmanager, pagerduty, webhook, email };
std::string_view to_string(PagerKind kind) noexcept;

// [[pager]] kind "alertmanager"'s own keys.
struct AlertmanagerPagerConfig {
    std::optional<Duration> repost;  // re-post firing alerts this often; none: the daemon's default
    std::string generator_url;       // empty: the daemon's /status
    bool operator==(const AlertmanagerPagerConfig&) const = default;
};

// [[pager]] kind "email"'s own keys.
struct EmailPagerConfig {
    std::string from = "tierwatch@tierwatch.invalid";
    std::vector<std::string> to;  // at least one
    bool starttls = true;         // smtp:// only; smtps:// is TLS from the start
    std::string helo_name = "tierwatch.invalid";
    std::string username;  // empty: no AUTH; set: secret_file holds the password
    bool operator==(const EmailPagerConfig&) const = default;
};

// One [[pager]], read and checked at load: the paging layer never reads TOML.
struct PagerConfig {
    std::string name;
    PagerKind kind = PagerKind::webhook;
    std::string url;                         // alertmanager / webhook: http(s)://; email: smtp://
    std::filesystem::path routing_key_file;  // pagerduty
    std::filesystem::path secret_file;       // webhook HMAC, email AUTH
    std::optional<Duration> timeout;
    // Relative to the configuration's folder; checked readable at load when the pager verifies TLS.
    std::filesystem::path ca_file = "/etc/ssl/certs/ca-certificates.crt";
    bool tls_verify = true;
    std::optional<Duration> retry_initial;  // none: the dispatcher's defaults
    std::optional<Duration> retry_max;      // at least retry_initial
    AlertmanagerPagerConfig alertmanager;   // kind alertmanager
    EmailPagerConfig email;                 // kind email
    SourceLocation where;

    // Same settings (where they are written does not matter): a reload keeps the running pager.
    bool same_settings(const PagerConfig& other) const {
        return std::tie(name, kind, url, routing_key_file, secret_file, timeout, ca_file,
                        tls_verify, retry_initial, retry_max, alertmanager, email) ==
               std::tie(other.name, other.kind, other.url, other.routing_key_file,
                        other.secret_file, other.timeout, other.ca_file, other.tls_verify,
                        other.retry_initial, other.retry_max, other.alertmanager, other.email);
    }
};

// Planned downtime from the configuration; silences (from state_dir) have the same shape.
struct MaintenanceWindow {
    TargetMatcher match;
    TimePoint start;
    TimePoint end;
    std::string reason;
    SourceLocation where;

    bool active(TimePoint now) const noexcept { return start <= now && now < end; }
};

struct FlappingConfig {
    Duration window = std::chrono::minutes(10);
    std::uint32_t max_changes = 5;  // this many grade changes inside `window` → flapping
};

// The alarm classes a target alarm can carry besides its check name (see tiers.tier3.classes).
inline constexpr std::array<std::string_view, 8> alarm_classes{
    "target", "group", "zone_down", "nlb_down", "flapping", "failure", "latency", "certificate",
};

struct AlertingConfig {
    std::vector<GroupConfig> groups;
    std::array<TierConfig, 3> tiers;  // tier1, tier2, tier3
    std::vector<PagerConfig> pagers;
    std::vector<MaintenanceWindow> maintenance;
    FlappingConfig flapping;
    // [tiers] settle: how long an alarm fires before it pages, so that a zone going down over
    // one probe round pages once as "zone down", not first as its earliest failing targets.
    Duration settle = std::chrono::seconds(30);

    const TierConfig& tier(int number) const {
        return tiers.at(static_cast<std::size_t>(number - 1));
    }
    const PagerConfig* pager(std::string_view name) const;
};

// Reads [[group]], [tiers.*], [[pager]], [[maintenance]] and [flapping] from `root` (other
// sections are the base loader's), checking every name against `base` and the pagers, or
// throws ConfigError at file:line:column. Relative paths are taken from `file`'s directory.
AlertingConfig parse_alerting(const toml::table& root, const std::filesystem::path& file,
                              const Config& base);

}  // namespace tierwatch

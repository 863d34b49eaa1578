// Parses and validates the alerting sections of the configuration, and reads tz database zones.
#include "config/alerting.hpp"

#include "config/toml/section.hpp"
#include "config/time_range.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

namespace tierwatch {

// ---------------------------------------------------------------------------------------------
// Time zones

namespace {

using namespace std::chrono;

constexpr std::size_t max_tzif_bytes = 1 << 20;

// Callers check the bounds (read_counts covers a whole data block); this one checks again, so a
// miscounted offset is an error rather than a read past the buffer.
std::int64_t read_be(std::string_view bytes, std::size_t at, std::size_t width) {
    if (at > bytes.size() || bytes.size() - at < width) {
        throw std::runtime_error("truncated TZif data");
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
        value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
    }
    if (width == 4) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
    }
    return static_cast<std::int64_t>(value);
}

struct TzifCounts {
    std::size_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;

    std::size_t data_size(std::size_t time_width) const {
        return timecnt * time_width + timecnt + typecnt * 6 + charcnt + leapcnt * (time_width + 4) +
               isstdcnt + isutcnt;
    }
};

// The header at `at`, checked so that the data block of `time_width`-byte times after it lies
// inside `bytes`.
TzifCounts read_counts(std::string_view bytes, std::size_t at, std::size_t time_width) {
    if (at > bytes.size() || bytes.size() - at < 44 || bytes.substr(at, 4) != "TZif") {
        throw std::runtime_error(at == 0 ? "not a TZif file" : "truncated TZif file");
    }
    // Unsigned 32-bit counts: their sums in data_size cannot overflow 64 bits.
    auto count = [&](std::size_t i) {
        return static_cast<std::size_t>(
            static_cast<std::uint32_t>(read_be(bytes, at + 20 + 4 * i, 4)));
    };
    TzifCounts counts{count(0), count(1), count(2), count(3), count(4), count(5)};
    if (counts.typecnt == 0 || counts.data_size(time_width) > bytes.size() - at - 44) {
        throw std::runtime_error("corrupt TZif header");
    }
    return counts;
}

// A POSIX TZ offset "[+-]hh[:mm[:ss]]", west positive as POSIX writes it; returns east positive.
std::optional<seconds> parse_posix_offset(std::string_view& text) {
    int sign = -1;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
        sign = text[0] == '-' ? 1 : -1;
        text.remove_prefix(1);
    }
    int parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, parts[i]);
        if (ec != std::errc() || parts[i] < 0 || parts[i] > 167) {
            return std::nullopt;
        }
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
        if (text.empty() || text[0] != ':' || i == 2) {
            break;
        }
        text.remove_prefix(1);
    }
    return seconds(sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]));
}

bool skip_posix_name(std::string_view& text) {
    if (!text.empty() && text[0] == '<') {
        const auto close = text.find('>');
        if (close == std::string_view::npos) {
            return false;
        }
        text.remove_prefix(close + 1);
        return true;
    }
    std::size_t n = 0;
    while (n < text.size() && std::isalpha(static_cast<unsigned char>(text[n]))) {
        ++n;
    }
    text.remove_prefix(n);
    return n >= 3;
}

std::optional<TimeZone::Rule::Date> parse_posix_date(std::string_view& text) {
    using Date = TimeZone::Rule::Date;
    Date date;
    auto number = [&](int& out) {
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec != std::errc()) {
            return false;
        }
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
        return true;
    };
    auto dot = [&] {
        if (text.empty() || text[0] != '.') {
            return false;
        }
        text.remove_prefix(1);
        return true;
    };
    if (text.starts_with('M')) {
        text.remove_prefix(1);
        date.kind = Date::Kind::month_week_day;
        if (!number(date.month) || !dot() || !number(date.week) || !dot() || !number(date.day) ||
            date.month < 1 || date.month > 12 || date.week < 1 || date.week > 5 || date.day < 0 ||
            date.day > 6) {
            return std::nullopt;
        }
    } else if (text.starts_with('J')) {
        text.remove_prefix(1);
        date.kind = Date::Kind::julian_no_leap;
        if (!number(date.day) || date.day < 1 || date.day > 365) {
            return std::nullopt;
        }
    } else {
        date.kind = Date::Kind::zero_based;
        if (!number(date.day) || date.day < 0 || date.day > 365) {
            return std::nullopt;
        }
    }
    if (text.starts_with('/')) {
        text.remove_prefix(1);
        // The time is a wall-clock offset from local midnight, written with POSIX's sign.
        const auto time = parse_posix_offset(text);
        if (!time) {
            return std::nullopt;
        }
        date.time = -*time;
    }
    return date;
}

// Local midnight of the rule date in `year`, as days since the epoch.
sys_days rule_day(const TimeZone::Rule::Date& date, int y) {
    using Kind = TimeZone::Rule::Date::Kind;
    const year yr{y};
    switch (date.kind) {
        case Kind::julian_no_leap: {
            // Jn never counts February 29, so day 60 is always March 1.
            const int extra = (yr.is_leap() && date.day >= 60) ? 1 : 0;
            return sys_days(yr / January / 1) + days(date.day - 1 + extra);
        }
        case Kind::zero_based:
            return sys_days(yr / January / 1) + days(date.day);
        case Kind::month_week_day: {
            const auto wd = weekday(static_cast<unsigned>(date.day));
            const auto m = month(static_cast<unsigned>(date.month));
            if (date.week == 5) {
                return sys_days(yr / m / wd[last]);
            }
            return sys_days(yr / m / wd[static_cast<unsigned>(date.week)]);
        }
    }
    return sys_days(yr / January / 1);
}

seconds rule_offset_at(const TimeZone::Rule& rule, std::int64_t utc) {
    if (!rule.dst_offset) {
        return rule.std_offset;
    }
    const auto local_day = floor<days>(sys_seconds(seconds(utc) + rule.std_offset));
    const int y = static_cast<int>(year_month_day(local_day).year());
    // A change is written in the wall time in force just before it.
    const auto start =
        sys_seconds(rule_day(rule.dst_start, y)) + rule.dst_start.time - rule.std_offset;
    const auto end = sys_seconds(rule_day(rule.dst_end, y)) + rule.dst_end.time - *rule.dst_offset;
    const auto now = sys_seconds(seconds(utc));
    const bool dst = start < end ? (start <= now && now < end) : !(end <= now && now < start);
    return dst ? *rule.dst_offset : rule.std_offset;
}

}  // namespace

std::optional<TimeZone::Rule> TimeZone::parse_rule(std::string_view text) {
    Rule rule;
    if (!skip_posix_name(text)) {
        return std::nullopt;
    }
    const auto std_offset = parse_posix_offset(text);
    if (!std_offset) {
        return std::nullopt;
    }
    rule.std_offset = *std_offset;
    if (text.empty()) {
        return rule;
    }
    if (!skip_posix_name(text)) {
        return std::nullopt;
    }
    rule.dst_offset = rule.std_offset + hours(1);
    if (!text.empty() && text[0] != ',') {
        const auto dst_offset = parse_posix_offset(text);
        if (!dst_offset) {
            return std::nullopt;
        }
        rule.dst_offset = *dst_offset;
    }
    // TZif footers always spell the rule out; POSIX's implementation-defined default is not needed.
    if (text.empty() || text[0] != ',') {
        return std::nullopt;
    }
    text.remove_prefix(1);
    const auto start = parse_posix_date(text);
    if (!start || text.empty() || text[0] != ',') {
        return std::nullopt;
    }
    text.remove_prefix(1);
    const auto end = parse_posix_date(text);
    if (!end || !text.empty()) {
        return std::nullopt;
    }
    rule.dst_start = *start;
    rule.dst_end = *end;
    return rule;
}

std::shared_ptr<const TimeZone> TimeZone::from_tzif(std::string name, std::string_view bytes) {
    auto zone = std::make_shared<TimeZone>();
    zone->name_ = std::move(name);
    const TzifCounts v1 = read_counts(bytes, 0, 4);
    const char version = bytes[4];
    std::size_t at = 44;
    std::size_t width = 4;
    TzifCounts counts = v1;
    if (version >= '2') {
        // Version 2+ repeats the data with 64-bit times after the 32-bit block; use that one.
        at += v1.data_size(4);
        counts = read_counts(bytes, at, 8);
        at += 44;
        width = 8;
    }
    const std::size_t times_at = at;
    const std::size_t indices_at = times_at + counts.timecnt * width;
    const std::size_t types_at = indices_at + counts.timecnt;
    auto type_offset = [&](std::size_t type) {
        if (type >= counts.typecnt) {
            throw std::runtime_error("corrupt TZif transition type");
        }
        const auto offset = static_cast<std::int32_t>(read_be(bytes, types_at + type * 6, 4));
        // RFC 8536's bounds (-25 h to +26 h); a wild offset would push local times off the clock.
        if (offset < -89999 || offset > 93599) {
            throw std::runtime_error("corrupt TZif UTC offset");
        }
        return offset;
    };
    zone->initial_offset_ = type_offset(0);
    for (std::size_t i = 0; i < counts.timecnt; ++i) {
        zone->transitions_.push_back(read_be(bytes, times_at + i * width, width));
        zone->offsets_.push_back(type_offset(static_cast<unsigned char>(bytes[indices_at + i])));
    }
    if (!std::is_sorted(zone->transitions_.begin(), zone->transitions_.end())) {
        throw std::runtime_error("corrupt TZif transitions");
    }
    if (version >= '2') {
        const std::size_t footer_at = at + counts.data_size(8);
        if (footer_at < bytes.size() && bytes[footer_at] == '\n') {
            const auto close = bytes.find('\n', footer_at + 1);
            const auto footer = bytes.substr(footer_at + 1, close == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : close - footer_at - 1);
            if (!footer.empty()) {
                zone->rule_ = parse_rule(footer);
                if (!zone->rule_) {
                    throw std::runtime_error("unsupported TZ rule \"" + std::string(footer) + "\"");
                }
            }
        }
    }
    return zone;
}

std::shared_ptr<const TimeZone> TimeZone::load(std::string_view name) {
    // Names are relative paths inside the database; anything else could read arbitrary files.
    if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
        throw std::runtime_error("not a time zone name");
    }
    const char* tzdir = std::getenv("TZDIR");
    const std::filesystem::path dir = tzdir && *tzdir ? tzdir : "/usr/share/zoneinfo";
    const std::filesystem::path path = dir / std::string(name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        throw std::runtime_error(error == ENOENT ? "no such time zone in " + dir.string()
                                                 : path.string() + ": " + std::strerror(error));
    }
    std::string bytes;
    char buffer[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || bytes.size() > max_tzif_bytes) {
            break;
        }
        bytes.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (bytes.size() > max_tzif_bytes) {
        throw std::runtime_error(path.string() + ": larger than a time zone file can be");
    }
    try {
        return from_tzif(std::string(name), bytes);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path.string() + ": " + e.what());
    }
}

std::chrono::seconds TimeZone::offset_at(TimePoint utc) const {
    const std::int64_t t = floor<seconds>(utc.time_since_epoch()).count();
    const auto after = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    if (after == transitions_.end() && rule_) {
        return rule_offset_at(*rule_, t);
    }
    if (after == transitions_.begin()) {
        return seconds(initial_offset_);
    }
    return seconds(offsets_[static_cast<std::size_t>(after - transitions_.begin() - 1)]);
}

// ---------------------------------------------------------------------------------------------
// Matching and schedules

namespace {

bool listed(const std::vector<std::string>& list, std::string_view value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

// A matcher field that names nodes' attributes cannot match an NLB target, and vice versa.
bool listed_for(const std::vector<std::string>& list, const std::string* value) {
    return list.empty() || (value && std::find(list.begin(), list.end(), *value) != list.end());
}

}  // namespace

bool TargetMatcher::empty() const noexcept {
    return nodes.empty() && roles.empty() && zones.empty() && nlbs.empty() && checks.empty();
}

bool TargetMatcher::matches(const Check& check, const Node* node, const Nlb* nlb) const {
    return listed(checks, check.name) && listed_for(nodes, node ? &node->name : nullptr) &&
           listed_for(roles, node ? &node->role : nullptr) &&
           listed_for(zones, node ? &node->zone : nullptr) &&
           listed_for(nlbs, nlb ? &nlb->name : nullptr);
}

bool GroupConfig::contains(const Check& check, const Node* node, const Nlb* nlb) const {
    if (targets.empty()) {
        return match.matches(check, node, nlb);
    }
    const std::string& name = node ? node->name : nlb->name;
    return std::any_of(targets.begin(), targets.end(), [&](const ExplicitTarget& t) {
        return t.node == name && (t.check.empty() || t.check == check.name);
    });
}

bool CoverageWindow::covers(TimePoint now) const {
    const auto local = floor<minutes>(now) + zone->offset_at(now);
    const auto day = floor<days>(local);
    const minutes minute_of_day = duration_cast<minutes>(local - day);
    auto on = [&](sys_days d) { return (weekdays >> weekday(d).c_encoding()) & 1U; };
    if (start < end) {
        return on(day) && start <= minute_of_day && minute_of_day < end;
    }
    // Past midnight: the window belongs to the weekday it starts on.
    return (on(day) && minute_of_day >= start) || (on(day - days(1)) && minute_of_day < end);
}

std::span<const std::string> TierConfig::receivers_at(TimePoint now) const {
    for (const CoverageWindow& window : coverage) {
        if (window.covers(now)) {
            return window.receivers;
        }
    }
    return receivers;
}

std::string_view to_string(PagerKind kind) noexcept {
    switch (kind) {
        case PagerKind::alertmanager:
            return "alertmanager";
        case PagerKind::pagerduty:
            return "pagerduty";
        case PagerKind::webhook:
            return "webhook";
        case PagerKind::email:
            return "email";
    }
    return "unknown";
}

const PagerConfig* AlertingConfig::pager(std::string_view name) const {
    for (const PagerConfig& p : pagers) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

using detail::did_you_mean;
using detail::in_quotes;
using detail::quoted_list;

constexpr std::array<std::string_view, 7> weekday_names{"sun", "mon", "tue", "wed",
                                                        "thu", "fri", "sat"};
constexpr std::array<std::string_view, 4> pager_kinds{"alertmanager", "pagerduty", "webhook",
                                                      "email"};
constexpr std::array<std::string_view, 3> tier_names{"tier1", "tier2", "tier3"};
constexpr std::array<std::string_view, 4> tiers_keys{"tier1", "tier2", "tier3", "settle"};

constexpr std::array<std::string_view, 9> group_keys{
    "name",
    "roles",
    "zones",
    "nlbs",
    "checks",
    "nodes",
    "targets",
    "warning_when_down",
    "critical_when_up_below",
};
constexpr std::array<std::string_view, 5> tier_keys{"receivers", "repeat", "coverage", "after",
                                                    "classes"};
constexpr std::array<std::string_view, 5> coverage_keys{"weekdays", "start", "end", "time_zone",
                                                        "receivers"};
constexpr std::array<std::string_view, 8> maintenance_keys{
    "nodes", "roles", "zones", "nlbs", "checks", "start", "end", "reason",
};
constexpr std::array<std::string_view, 2> flapping_keys{"window", "max_changes"};

// [[pager]] keys every kind takes, then each kind's own (in PagerKind order). A key of another
// kind is refused by name: it would be silently ignored, and a page configured wrongly is a page
// lost at 3 a.m.
constexpr std::array<std::string_view, 8> pager_common_keys{
    "name", "kind", "url", "timeout", "ca_file", "tls_verify", "retry_initial", "retry_max",
};
constexpr std::array<std::array<std::string_view, 6>, 4> pager_kind_keys{{
    {"repost", "generator_url"},                                         // alertmanager
    {"routing_key_file"},                                                // pagerduty
    {"secret_file"},                                                     // webhook
    {"from", "to", "starttls", "helo_name", "username", "secret_file"},  // email
}};

// What the alerting sections refer to, gathered once from the base configuration.
struct Names {
    std::set<std::string, std::less<>> nodes, roles, zones, nlbs, checks, pagers;
};

class Parser {
public:
    Parser(const std::filesystem::path& file, const Config& base)
        : context_(ConfigContext::of(file)), base_(base) {
        for (const Node& node : base.nodes) {
            names_.nodes.insert(node.name);
            names_.roles.insert(node.role);
            names_.zones.insert(node.zone);
        }
        for (const Nlb& nlb : base.nlbs) {
            names_.nlbs.insert(nlb.name);
        }
        for (const Check& check : base.checks) {
            names_.checks.insert(check.name);
        }
    }

    AlertingConfig parse(const toml::table& root) {
        AlertingConfig out;
        const Section top(context_, root, "the top-level table");
        // Pagers first: tiers name them.
        for_each_table(top, "pager", [&](const toml::table& t) { out.pagers.push_back(pager(t)); });
        for_each_table(top, "group", [&](const toml::table& t) { out.groups.push_back(group(t, out)); });
        if (const toml::node* node = top.node("tiers")) {
            const Section tiers(context_, as_table(top, *node, "\"tiers\""), "[tiers]");
            check_keys(tiers.table(), tiers_keys, "[tiers]");
            // Zero is allowed: it pages on the first evaluation.
            const std::string settle_error = "expected a duration like \"30s\" for \"settle\"";
            if (const auto settle = tiers.get<std::string>(
                    "settle",
                    [&](const std::string& text) { return parse_duration(text) ? std::string() : settle_error; },
                    settle_error)) {
                out.settle = *parse_duration(*settle);
            }
            for (std::size_t i = 0; i < tier_names.size(); ++i) {
                if (const toml::node* t = tiers.node(tier_names[i])) {
                    out.tiers[i] = tier(as_table(tiers, *t, in_quotes(tier_names[i])), static_cast<int>(i) + 1);
                }
            }
        }
        for_each_table(top, "maintenance", [&](const toml::table& t) { out.maintenance.push_back(maintenance(t)); });
        if (const toml::node* node = top.node("flapping")) {
            out.flapping = flapping(as_table(top, *node, "\"flapping\""));
        }
        return out;
    }

private:
    // The toolkit's view of one table; the alerting sections word their own errors.
    Section of(const toml::table& table) const { return Section(context_, table, ""); }

    SourceLocation at(const toml::node& node) const { return context_.at(node); }

    [[noreturn]] void fail(const toml::node& node, const std::string& message) const {
        throw ConfigError(at(node), message);
    }

    const toml::table& as_table(const Section& parent, const toml::node& node, const std::string& label) const {
        return parent.expect<toml::table>(node, label, "expected a table for " + label);
    }

    template <class Visit>
    void for_each_table(const Section& parent, std::string_view key, Visit visit) const {
        for_each_entry(parent, key, [&](const toml::table& table, std::size_t) { visit(table); },
                       "expected [[" + std::string(key) + "]] tables");
    }

    void check_keys(const toml::table& table, std::span<const std::string_view> allowed,
                    std::string_view section) const {
        if (const auto unknown = of(table).first_unknown_key(allowed)) {
            throw ConfigError(unknown->key_at, "unknown key " + in_quotes(unknown->key) + " in " +
                                                   std::string(section) + did_you_mean(unknown->key, allowed) +
                                                   "; expected one of " + quoted_list(allowed));
        }
    }

    // Every key of a [[pager]] belongs to its kind; a key of another kind names that kind.
    void check_pager_keys(const toml::table& table, PagerKind kind) const {
        std::vector<std::string_view> allowed(pager_common_keys.begin(), pager_common_keys.end());
        for (std::string_view key : pager_kind_keys[static_cast<std::size_t>(kind)]) {
            if (!key.empty()) allowed.push_back(key);
        }
        const auto unknown = of(table).first_unknown_key(allowed);
        if (!unknown) return;
        std::vector<std::string_view> owners;
        for (std::size_t k = 0; k < pager_kind_keys.size(); ++k) {
            const auto& keys = pager_kind_keys[k];
            if (std::find(keys.begin(), keys.end(), unknown->key) != keys.end()) owners.push_back(pager_kinds[k]);
        }
        const std::string kind_name = in_quotes(pager_kinds[static_cast<std::size_t>(kind)]);
        if (!owners.empty()) {
            throw ConfigError(unknown->key_at,
                              in_quotes(unknown->key) + " is only for kind " + quoted_list(owners) + ", not " + kind_name);
        }
        throw ConfigError(unknown->key_at, "unknown key " + in_quotes(unknown->key) + " in [[pager]] of kind " +
                                               kind_name + did_you_mean(unknown->key, allowed) +
                                               "; expected one of " + quoted_list(allowed));
    }

    std::optional<bool> boolean(const toml::table& table, std::string_view key) const {
        return of(table).get<bool>(
            key, [](bool) { return std::string(); }, "expected true or false for " + in_quotes(key));
    }

    // The node at `key`, or the table itself (where a missing key belongs).
    const toml::node& node_or_table(const toml::table& table, std::string_view key) const {
        const toml::node* node = table.get(key);
        return node ? *node : table;
    }

    std::optional<std::string> text(const toml::table& table, std::string_view key) const {
        return of(table).get<std::string>(
            key,
            [&](const std::string& value) { return value.empty() ? in_quotes(key) + " must not be empty" : std::string(); },
            "expected a string for " + in_quotes(key));
    }

    // A *_file secret: a path, or "credential:NAME" from $CREDENTIALS_DIRECTORY; empty when unset.
    std::filesystem::path secret_path(const toml::table& table, std::string_view key) const {
        return of(table).secret_path(key).value_or(std::filesystem::path());
    }

    std::string required_text(const toml::table& table, std::string_view key,
                              std::string_view section) const {
        auto value = text(table, key);
        if (!value) {
            fail(table, std::string(section) + " needs " + in_quotes(key));
        }
        return *value;
    }

    // A list of names, each checked against `known` (when given) and reported at the entry.
    std::vector<std::string> names(const toml::table& table, std::string_view key,
                                   const std::set<std::string, std::less<>>* known,
                                   std::string_view what) const {
        const std::string entry_error = "expected a non-empty string in " + in_quotes(key);
        const Section s = of(table);
        std::vector<std::string> out;
        const toml::node* node = s.node(key);
        if (!node) {
            return out;
        }
        for (const toml::node& entry :
             s.expect<toml::array>(*node, in_quotes(key), "expected an array of strings for " + in_quotes(key))) {
            const std::string& value = s.expect<std::string>(entry, in_quotes(key), entry_error);
            if (value.empty()) {
                fail(entry, entry_error);
            }
            if (known && !known->contains(value)) {
                fail(entry, "no " + std::string(what) + " named " + in_quotes(value));
            }
            out.push_back(value);
        }
        return out;
    }

    std::optional<Duration> duration(const toml::table& table, std::string_view key) const {
        const auto value = text(table, key);
        if (!value) {
            return std::nullopt;
        }
        const auto parsed = parse_duration(*value);
        if (!parsed || *parsed <= Duration::zero()) {
            fail(*table.get(key), "expected a positive duration like \"30m\" for " + in_quotes(key));
        }
        return parsed;
    }

    std::optional<std::uint32_t> count(const toml::table& table, std::string_view key,
                                       std::int64_t min) const {
        const std::string error = "expected an integer from " + std::to_string(min) + " for " + in_quotes(key);
        const auto value = of(table).get<std::int64_t>(
            key, [&](std::int64_t n) { return n < min || n > 1'000'000 ? error : std::string(); }, error);
        return value ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*value)) : std::nullopt;
    }

    TimePoint datetime(const toml::table& table, std::string_view key,
                       std::string_view section) const {
        const toml::node& node = node_or_table(table, key);
        if (&node == &table) {
            fail(table, std::string(section) + " needs " + in_quotes(key));
        }
        const auto* value = node.as_date_time();
        if (!value) {
            fail(node, "expected a date-time like 2026-12-01T02:00:00Z for " + in_quotes(key));
        }
        const toml::date_time& dt = value->get();
        if (!dt.offset) {
            fail(node, in_quotes(key) +
                           " needs a UTC offset (Z or +01:00): a local date-time is ambiguous");
        }
        const auto day =
            sys_days(year(dt.date.year) / month(dt.date.month) / std::chrono::day(dt.date.day));
        // Summed in seconds, which hold any TOML date, then checked against the clock's range.
        const auto whole = day + hours(dt.time.hour) + minutes(dt.time.minute) +
                           seconds(dt.time.second) - minutes(dt.offset->minutes);
        const auto in_range = time_point_in_range(whole.time_since_epoch());
        if (!in_range) {
            fail(node, in_quotes(key) + " is outside the years the clock can hold (1678 to 2261)");
        }
        return *in_range + nanoseconds(dt.time.nanosecond);
    }

    // "HH:MM" (or a TOML local time); "24:00" is allowed as an end.
    minutes time_of_day(const toml::table& table, std::string_view key, minutes fallback) const {
        const toml::node* node = table.get(key);
        if (!node) {
            return fallback;
        }
        if (const auto* time = node->as_time()) {
            return hours(time->get().hour) + minutes(time->get().minute);
        }
        const auto* value = node->as_string();
        const std::string_view text = value ? std::string_view(value->get()) : std::string_view();
        int h = -1;
        int m = -1;
        if (text.size() == 5 && text[2] == ':') {
            std::from_chars(text.data(), text.data() + 2, h);
            std::from_chars(text.data() + 3, text.data() + 5, m);
        }
        if (h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0)) {
            fail(*node, "expected a time of day like \"08:00\" for " + in_quotes(key));
        }
        return hours(h) + minutes(m);
    }

    std::uint8_t weekdays(const toml::table& table) const {
        const toml::node* node = table.get("weekdays");
        if (!node) {
            return 0x7f;
        }
        auto index = [&](std::string_view name, const toml::node& at) {
            const auto it = std::find(weekday_names.begin(), weekday_names.end(), name);
            if (it == weekday_names.end()) {
                fail(at, "expected a weekday (" + quoted_list(weekday_names) +
                             ") or a range like \"mon-fri\", got " + in_quotes(name));
            }
            return static_cast<unsigned>(it - weekday_names.begin());
        };
        std::uint8_t mask = 0;
        const auto entries = names(table, "weekdays", nullptr, "");
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const std::string_view entry = entries[i];
            const toml::node& at = *node->as_array()->get(i);
            const auto dash = entry.find('-');
            const unsigned first = index(entry.substr(0, dash), at);
            const unsigned last =
                dash == std::string_view::npos ? first : index(entry.substr(dash + 1), at);
            // Ranges may wrap ("fri-mon").
            for (unsigned d = first;; d = (d + 1) % 7) {
                mask |= static_cast<std::uint8_t>(1U << d);
                if (d == last) {
                    break;
                }
            }
        }
        if (mask == 0) {
            fail(*node, "\"weekdays\" must name at least one day");
        }
        return mask;
    }

    std::shared_ptr<const TimeZone> zone(const toml::table& table) {
        const std::string name = required_text(table, "time_zone", "a coverage window");
        if (auto it = zones_.find(name); it != zones_.end()) {
            return it->second;
        }
        try {
            auto zone = TimeZone::load(name);
            zones_.emplace(name, zone);
            return zone;
        } catch (const std::runtime_error& e) {
            fail(*table.get("time_zone"), "time zone " + in_quotes(name) + ": " + e.what());
        }
    }

    std::vector<std::string> receivers(const toml::table& table) const {
        return names(table, "receivers", &names_.pagers, "[[pager]]");
    }

    PagerConfig pager(const toml::table& table) {
        PagerConfig out;
        out.where = at(table);
        out.name = required_text(table, "name", "[[pager]]");
        if (!names_.pagers.insert(out.name).second) {
            fail(*table.get("name"),
                 "a pager named " + in_quotes(out.name) + " is already defined");
        }
        const std::string kind = required_text(table, "kind", "[[pager]]");
        const auto it = std::find(pager_kinds.begin(), pager_kinds.end(), kind);
        if (it == pager_kinds.end()) {
            fail(*table.get("kind"),
                 "expected " + quoted_list(pager_kinds) + " for \"kind\", got " + in_quotes(kind));
        }
        out.kind = static_cast<PagerKind>(it - pager_kinds.begin());
        check_pager_keys(table, out.kind);
        out.url = text(table, "url").value_or("");
        out.routing_key_file = secret_path(table, "routing_key_file");
        out.secret_file = secret_path(table, "secret_file");
        out.timeout = duration(table, "timeout");
        pager_options(table, out);
        const bool http_url = out.url.starts_with("http://") || out.url.starts_with("https://");
        switch (out.kind) {
            case PagerKind::alertmanager:
            case PagerKind::webhook:
                if (!http_url) {
                    fail(node_or_table(table, "url"),
                         "kind " + in_quotes(kind) + " needs \"url\" = \"http(s)://...\"");
                }
                break;
            case PagerKind::pagerduty:
                if (out.routing_key_file.empty()) {
                    fail(table, "kind \"pagerduty\" needs \"routing_key_file\"");
                }
                if (!out.url.empty() && !http_url) {
                    fail(*table.get("url"), "expected an http(s):// events endpoint for \"url\"");
                }
                break;
            case PagerKind::email:
                if (!out.url.starts_with("smtp://") && !out.url.starts_with("smtps://")) {
                    fail(node_or_table(table, "url"),
                         "kind \"email\" needs \"url\" = \"smtp://relay:587\"");
                }
                if (out.email.to.empty()) {
                    fail(node_or_table(table, "to"),
                         "kind \"email\" needs \"to\" = [\"oncall@example.com\"]");
                }
                if (!out.email.username.empty() && out.secret_file.empty()) {
                    fail(*table.get("username"),
                         "\"username\" needs \"secret_file\" holding the SMTP password");
                }
                break;
        }
        // As a check's: a CA file that cannot be read fails the load, not the first page at 3 a.m.
        if (out.tls_verify && pager_uses_tls(out)) {
            require_readable(of(table).where("ca_file"), "ca_file", out.ca_file);
        }
        return out;
    }

    // Whether the pager's connection is TLS: https and smtps URLs, PagerDuty's default endpoint,
    // and an e-mail relay upgraded with STARTTLS.
    static bool pager_uses_tls(const PagerConfig& pager) {
        return pager.url.starts_with("https://") || pager.url.starts_with("smtps://") ||
               (pager.kind == PagerKind::pagerduty && pager.url.empty()) ||
               (pager.kind == PagerKind::email && pager.email.starttls);
    }

    // The common TLS and retry keys and the kind's own, typed now so a typo fails at load.
    void pager_options(const toml::table& table, PagerConfig& out) const {
        const Section s = of(table);
        if (s.get<std::string>("ca_file", [](const std::string&) { return std::string(); },
                               "expected a file path for \"ca_file\"")) {
            out.ca_file = s.path("ca_file").value();  // relative to the configuration's folder
        }
        out.tls_verify = boolean(table, "tls_verify").value_or(out.tls_verify);
        out.retry_initial = duration(table, "retry_initial");
        out.retry_max = duration(table, "retry_max");
        if (out.retry_initial && out.retry_max && *out.retry_initial > *out.retry_max) {
            fail(*table.get("retry_max"), "\"retry_max\" must not be below \"retry_initial\"");
        }
        if (out.kind == PagerKind::alertmanager) {
            out.alertmanager.repost = duration(table, "repost");
            out.alertmanager.generator_url = text(table, "generator_url").value_or("");
        }
        if (out.kind == PagerKind::email) {
            EmailPagerConfig& email = out.email;
            email.from = text(table, "from").value_or(email.from);
            email.to = names(table, "to", nullptr, "recipient");
            email.helo_name = text(table, "helo_name").value_or(email.helo_name);
            email.username = text(table, "username").value_or("");
            email.starttls = boolean(table, "starttls").value_or(email.starttls);
        }
    }

    TargetMatcher matcher(const toml::table& table) const {
        TargetMatcher m;
        m.nodes = names(table, "nodes", &names_.nodes, "node");
        m.roles = names(table, "roles", &names_.roles, "node with role");
        m.zones = names(table, "zones", &names_.zones, "node in zone");
        m.nlbs = names(table, "nlbs", &names_.nlbs, "[[nlb]]");
        m.checks = names(table, "checks", &names_.checks, "[[check]]");
        return m;
    }

    // "check@node" or "node"; the check must apply to the node (or NLB).
    ExplicitTarget explicit_target(const std::string& entry, const toml::node& at) const {
        const auto sign = entry.find('@');
        ExplicitTarget out;
        out.node = sign == std::string::npos ? entry : entry.substr(sign + 1);
        out.check = sign == std::string::npos ? std::string() : entry.substr(0, sign);
        const Node* node = nullptr;
        for (const Node& n : base_.nodes) {
            node = n.name == out.node ? &n : node;
        }
        if (!node && !names_.nlbs.contains(out.node)) {
            fail(at, "no node or [[nlb]] named " + in_quotes(out.node));
        }
        if (out.check.empty()) {
            return out;
        }
        for (const Check& check : base_.checks) {
            if (check.name != out.check) {
                continue;
            }
            const auto& list = node ? check.roles : check.nlbs;
            const std::string& want = node ? node->role : out.node;
            if (std::find(list.begin(), list.end(), want) == list.end()) {
                fail(at,
                     "check " + in_quotes(out.check) + " does not probe " + in_quotes(out.node));
            }
            return out;
        }
        fail(at, "no [[check]] named " + in_quotes(out.check));
    }

    // Names that each exist can still combine into nothing (roles = ["mta"], zones = ["b"] with
    // no MTA in b); such a group would report "0 up" for ever.
    bool matches_any_target(const GroupConfig& group) const {
        for (const Check& check : base_.checks) {
            for (const Node& node : base_.nodes) {
                const bool probed = std::find(check.roles.begin(), check.roles.end(), node.role) !=
                                    check.roles.end();
                if (probed && group.contains(check, &node, nullptr)) {
                    return true;
                }
            }
            for (const Nlb& nlb : base_.nlbs) {
                const bool probed =
                    std::find(check.nlbs.begin(), check.nlbs.end(), nlb.name) != check.nlbs.end();
                if (probed && group.contains(check, nullptr, &nlb)) {
                    return true;
                }
            }
        }
        return false;
    }

    GroupConfig group(const toml::table& table, const AlertingConfig& done) const {
        check_keys(table, group_keys, "[[group]]");
        GroupConfig out;
        out.where = at(table);
        out.name = required_text(table, "name", "[[group]]");
        for (const GroupConfig& other : done.groups) {
            if (other.name == out.name) {
                fail(*table.get("name"), "a group named " + in_quotes(out.name) +
                                             " is already defined at " + other.where.to_string());
            }
        }
        out.match = matcher(table);
        if (const toml::node* node = table.get("targets")) {
            if (!out.match.empty()) {
                fail(*node,
                     "a group lists either \"targets\" or matchers (roles, zones, nlbs, checks, "
                     "nodes)");
            }
            const auto entries = names(table, "targets", nullptr, "");
            for (std::size_t i = 0; i < entries.size(); ++i) {
                out.targets.push_back(explicit_target(entries[i], *node->as_array()->get(i)));
            }
        } else if (out.match.empty()) {
            fail(table,
                 "a group needs \"targets\" or at least one of roles, zones, nlbs, checks, nodes");
        }
        if (!matches_any_target(out)) {
            fail(table, "group " + in_quotes(out.name) +
                            " matches no target: no check probes what it names");
        }
        out.warning_when_down = count(table, "warning_when_down", 1);
        out.critical_when_up_below = count(table, "critical_when_up_below", 1);
        if (!out.warning_when_down && !out.critical_when_up_below) {
            fail(table, "a group needs \"warning_when_down\" or \"critical_when_up_below\"");
        }
        return out;
    }

    CoverageWindow coverage(const toml::table& table) {
        check_keys(table, coverage_keys, "a coverage window");
        CoverageWindow out;
        out.where = at(table);
        out.weekdays = weekdays(table);
        out.start = time_of_day(table, "start", minutes(0));
        out.end = time_of_day(table, "end", hours(24));
        if (out.start == out.end) {
            fail(node_or_table(table, "end"),
                 "\"end\" equals \"start\": the window would be empty");
        }
        out.zone = zone(table);
        out.receivers = receivers(table);
        if (out.receivers.empty()) {
            fail(table, "a coverage window needs \"receivers\"");
        }
        return out;
    }

    TierConfig tier(const toml::table& table, int number) {
        const std::string section = "[tiers.tier" + std::to_string(number) + "]";
        // Only tier3 escalates and takes routed classes.
        check_keys(table, std::span(tier_keys.data(), number == 3 ? 5 : 3), section);
        TierConfig out;
        out.where = at(table);
        out.receivers = receivers(table);
        out.repeat = duration(table, "repeat");
        for_each_entry(
            of(table), "coverage",
            [&](const toml::table& entry, std::size_t) { out.coverage.push_back(coverage(entry)); },
            "expected [[tiers.tier" + std::to_string(number) + ".coverage]] tables");
        if (number == 3) {
            out.after = duration(table, "after");
            out.classes = names(table, "classes", nullptr, "");
            const auto* array = table.get("classes") ? table.get("classes")->as_array() : nullptr;
            for (std::size_t i = 0; i < out.classes.size(); ++i) {
                const std::string& c = out.classes[i];
                if (std::find(alarm_classes.begin(), alarm_classes.end(), c) ==
                        alarm_classes.end() &&
                    !names_.checks.contains(c)) {
                    fail(*array->get(i), "expected an alarm class (" + quoted_list(alarm_classes) +
                                             ") or a check name, got " + in_quotes(c));
                }
            }
        }
        return out;
    }

    MaintenanceWindow maintenance(const toml::table& table) const {
        check_keys(table, maintenance_keys, "[[maintenance]]");
        MaintenanceWindow out;
        out.where = at(table);
        out.match = matcher(table);
        if (out.match.empty()) {
            fail(table,
                 "a maintenance window needs at least one of nodes, roles, zones, nlbs, checks");
        }
        out.start = datetime(table, "start", "[[maintenance]]");
        out.end = datetime(table, "end", "[[maintenance]]");
        if (out.end <= out.start) {
            fail(*table.get("end"), "\"end\" must be after \"start\"");
        }
        out.reason = text(table, "reason").value_or("");
        return out;
    }

    FlappingConfig flapping(const toml::table& table) const {
        check_keys(table, flapping_keys, "[flapping]");
        FlappingConfig out;
        out.window = duration(table, "window").value_or(out.window);
        out.max_changes = count(table, "max_changes", 2).value_or(out.max_changes);
        return out;
    }

    ConfigContext context_;
    const Config& base_;
    Names names_;
    std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> zones_;
};

}  // namespace

AlertingConfig parse_alerting(const toml::table& root, const std::filesystem::path& file,
                              const Config& base) {
    return Parser(file, base).parse(root);
}

}  // namespace tierwatch

// The TOML toolkit's look-ups, durations and file checks (see section.hpp).
#include "config/toml/section.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include "config/toml/secret_path.hpp"

namespace tierwatch {

using detail::did_you_mean;
using detail::in_quotes;

std::string SourceLocation::to_string() const {
    // Line 0 means "the file as a whole" (e.g. it cannot be read), where a position would lie.
    if (line == 0) {
        return file;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ConfigError::ConfigError(SourceLocation where, const std::string& message)
    : std::runtime_error(where.to_string() + ": " + message),
      where_(std::move(where)),
      message_(message) {}

namespace {

struct DurationUnit {
    std::string_view suffix;
    std::int64_t millis;
};

// Largest first: format_duration walks them in this order and parse_duration demands it,
// so "30s1m" (almost certainly a typo) is refused rather than silently summed.
constexpr std::array<DurationUnit, 5> duration_units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};


bool earlier(const toml::node& a, const toml::node& b) {
    const auto& pa = a.source().begin;
    const auto& pb = b.source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
}


// `path` as read, or an error at `where` naming the path and the system's reason.
FileRead read_readable(const SourceLocation& where, std::string_view key, const std::filesystem::path& path,
                       std::size_t limit) {
    FileRead read = read_bounded(path, limit);
    if (read.error != 0) {
        throw ConfigError(where, "cannot read " + std::string(key) + " " + in_quotes(path.string()) + ": " +
                                     std::strerror(read.error));
    }
    return read;
}

}  // namespace

namespace detail {

bool contains(std::span<const std::string_view> names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string_view type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::table: return "table";
        case toml::node_type::array: return "array";
        case toml::node_type::string: return "string";
        case toml::node_type::integer: return "integer";
        case toml::node_type::floating_point: return "float";
        case toml::node_type::boolean: return "boolean";
        case toml::node_type::date: return "date";
        case toml::node_type::time: return "time";
        case toml::node_type::date_time: return "date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

}  // namespace detail

ConfigContext ConfigContext::of(const std::filesystem::path& file) {
    const std::filesystem::path absolute = file.empty() ? std::filesystem::current_path() / "config.toml"
                                                        : std::filesystem::absolute(file);
    return ConfigContext{file.string(), absolute.lexically_normal().parent_path()};
}

// Reads at most `limit` bytes (plus one, so the caller can tell "too large"); errno on failure.
FileRead read_bounded(const std::filesystem::path& path, std::size_t limit) {
    FileRead out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        out.error = errno;
        return out;
    }
    char buffer[64 * 1024];
    while (out.content.size() <= limit) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            out.error = errno;
            break;
        }
        if (n == 0) {
            break;
        }
        out.content.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

// Proves `path` readable now, so a typo fails the load instead of every probe; its user reads it whole later.
void require_readable(const SourceLocation& where, std::string_view key, const std::filesystem::path& path) {
    read_readable(where, key, path, 0);
}

// The whole of `path`, at most `limit` bytes, or an error at `where`.
std::string read_or_throw(const SourceLocation& where, std::string_view key, const std::filesystem::path& path,
                          std::size_t limit) {
    FileRead read = read_readable(where, key, path, limit);
    if (read.content.size() > limit) {
        throw ConfigError(where, std::string(key) + " " + in_quotes(path.string()) + " is larger than " +
                                     std::to_string(limit) + " bytes");
    }
    return std::move(read.content);
}

std::string control_character_problem(std::string_view key, std::string_view value) {
    const bool control = std::any_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
    return control ? in_quotes(key) + " must not contain control characters" : std::string();
}

std::string entry_title(std::string_view kind, const toml::table& table, std::size_t index) {
    const auto name = table["name"].value_exact<std::string>();
    return "[[" + std::string(kind) + "]] " +
           (name && !name->empty() ? in_quotes(*name) : "#" + std::to_string(index));
}

std::optional<Duration> parse_duration(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // each unit at most once, largest first
    while (!text.empty()) {
        // Unsigned parsing refuses a sign, so "-5s" and "+5s" fail here.
        std::uint64_t amount = 0;
        const auto [digits_end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
        if (ec != std::errc{}) {
            return std::nullopt;
        }
        text.remove_prefix(static_cast<std::size_t>(digits_end - text.data()));
        const std::size_t letters = std::min(text.find_first_not_of("abcdefghijklmnopqrstuvwxyz"), text.size());
        const std::string_view suffix = text.substr(0, letters);
        text.remove_prefix(letters);
        const auto unit = std::find_if(duration_units.begin() + static_cast<std::ptrdiff_t>(next_unit),
                                       duration_units.end(), [&](const DurationUnit& u) { return u.suffix == suffix; });
        if (unit == duration_units.end()) {
            return std::nullopt;
        }
        next_unit = static_cast<std::size_t>(unit - duration_units.begin()) + 1;
        const auto room = static_cast<std::uint64_t>((std::numeric_limits<std::int64_t>::max() - total) / unit->millis);
        if (amount > room) {
            return std::nullopt;
        }
        total += static_cast<std::int64_t>(amount) * unit->millis;
    }
    return Duration(total);
}

std::string format_duration(Duration d) {
    if (d == Duration::zero()) {
        return "0s";
    }
    std::string out = d < Duration::zero() ? "-" : "";
    // Unsigned negation keeps the most negative value representable.
    std::uint64_t rest = d < Duration::zero() ? 0 - static_cast<std::uint64_t>(d.count())
                                              : static_cast<std::uint64_t>(d.count());
    for (const DurationUnit& unit : duration_units) {
        const auto millis = static_cast<std::uint64_t>(unit.millis);
        if (rest >= millis) {
            out += std::to_string(rest / millis);
            out += unit.suffix;
            rest %= millis;
        }
    }
    return out;
}

std::string Section::required_text(std::string_view key) const {
    if (auto value = text(key)) {
        return *value;
    }
    fail("missing required key " + in_quotes(key) + " in " + title_);
}

std::optional<std::int64_t> Section::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
    return get<std::int64_t>(key, [&](std::int64_t value) {
        if (value >= min && value <= max) {
            return std::string();
        }
        const std::string range = max == std::numeric_limits<std::uint32_t>::max()
                                      ? "at least " + std::to_string(min)
                                      : "between " + std::to_string(min) + " and " + std::to_string(max);
        return in_quotes(key) + " must be " + range + ", got " + std::to_string(value);
    });
}

std::optional<std::uint32_t> Section::count(std::string_view key) const {
    const auto value = integer(key, 1, std::numeric_limits<std::uint32_t>::max());
    return value ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*value)) : std::nullopt;
}

std::optional<std::filesystem::path> Section::path(std::string_view key) const {
    const auto value = text(key);
    return value ? std::optional(context_.resolve(*value)) : std::nullopt;
}

std::optional<std::filesystem::path> Section::secret_path(std::string_view key) const {
    const auto value = text(key);
    if (!value) {
        return std::nullopt;
    }
    try {
        return resolve_secret_path(*value, context_.base_dir);
    } catch (const std::invalid_argument& e) {
        fail(key, std::string(key) + " " + e.what());
    }
}

std::optional<boost::regex> Section::regex(std::string_view key, std::string& text_out) const {
    const auto value = text(key);
    if (!value) {
        return std::nullopt;
    }
    try {
        boost::regex compiled(*value);
        text_out = *value;
        return compiled;
    } catch (const boost::regex_error& e) {
        fail(key, "invalid regex for " + in_quotes(key) + ": " + e.what());
    }
}

std::optional<UnknownKey> Section::first_unknown_key(std::span<const std::string_view> known) const {
    std::optional<UnknownKey> first;
    for (auto&& [key, node] : table_) {
        if (detail::contains(known, key.str()) || (first && !earlier(node, *first->value))) {
            continue;
        }
        const auto& begin = key.source().begin;
        first = UnknownKey{key.str(), SourceLocation{context_.file, begin.line, begin.column}, &node};
    }
    return first;
}

void Section::reject_unknown_keys(std::span<const std::string_view> known) const {
    if (const auto unknown = first_unknown_key(known)) {
        fail(*unknown->value,
             "unknown key " + in_quotes(unknown->key) + " in " + title_ + did_you_mean(unknown->key, known));
    }
}

void Section::reject_keys_for(std::span<const std::string_view> keys, std::string_view applies_to,
                              std::string_view protocol) const {
    for (std::string_view key : keys) {
        if (has(key)) {
            fail(key, in_quotes(key) + " applies only to " + std::string(applies_to) + ", not to protocol " +
                          in_quotes(protocol));
        }
    }
}

std::optional<Duration> Section::any_duration(std::string_view key, bool zero_allowed) const {
    const toml::node* node = table_.get(key);
    if (!node) {
        return std::nullopt;
    }
    // A bare 15 could mean seconds or milliseconds; the unit must be written.
    if (!node->is_string()) {
        fail(*node, "expected a duration string for " + in_quotes(key) + " (e.g. \"15s\"), got " +
                        std::string(detail::type_name(node->type())));
    }
    const std::string& text = node->as_string()->get();
    const auto value = parse_duration(text);
    if (!value) {
        fail(*node, "invalid duration " + in_quotes(text) + " for " + in_quotes(key) +
                        " (expected e.g. 500ms, 15s, 5m, 2h, 21d)");
    }
    if (*value == Duration::zero() && !zero_allowed) {
        fail(*node, in_quotes(key) + " must be longer than 0s");
    }
    if (*value > max_config_duration) {
        fail(*node, "duration " + in_quotes(text) + " for " + in_quotes(key) + " is too long (at most " +
                        format_duration(max_config_duration) + ")");
    }
    return value;
}

}  // namespace tierwatch

// The TOML toolkit every configuration reader shares (checks, daemon, alerting, pagers, each
// protocol's settings): typed look-ups, durations, paths and secrets, unknown keys with a "did you
// mean", and every error thrown as ConfigError at the offending value's file:line:column.
#pragma once

#include <toml++/toml.h>

#include <boost/regex.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/toml/location.hpp"
#include "config/toml/text.hpp"

namespace tierwatch {

// Longer durations are configuration mistakes, and would overflow nanosecond clocks downstream.
inline constexpr Duration max_config_duration = std::chrono::days(3650);

namespace detail {
bool contains(std::span<const std::string_view> names, std::string_view name);
// "table", "string", ... as errors name a value's type.
std::string_view type_name(toml::node_type type);
}  // namespace detail

// Text sent inside a protocol's command line or request: a CR or LF would end the command early
// and let the rest be read as a second command, so control characters are refused at load (and in
// a DN or attribute name they are certainly a typo). Empty when fine, else why, naming `key`.
std::string control_character_problem(std::string_view key, std::string_view value);

// Where the file being read is: error locations and the folder relative paths start from.
struct ConfigContext {
    std::string file;                // as the operator named it, for error locations
    std::filesystem::path base_dir;  // relative paths in the file are taken from here

    // `file` made absolute, for base_dir.
    static ConfigContext of(const std::filesystem::path& file);

    SourceLocation at(const toml::node& node) const {
        const auto& begin = node.source().begin;
        return SourceLocation{file, begin.line, begin.column};
    }

    std::filesystem::path resolve(const std::string& path) const {
        return (base_dir / path).lexically_normal();  // an absolute `path` replaces base_dir
    }
};

struct FileRead {
    std::string content;
    int error = 0;  // errno of the failed call; 0: read
};
// Reads at most `limit` bytes (plus one, so the caller can tell "too large"); errno on failure.
// The one bounded file reader: the configuration's files and the daemon's state files use it.
FileRead read_bounded(const std::filesystem::path& path, std::size_t limit);
// Proves `path` readable now, so a typo fails the load instead of every use; its user reads it
// whole later. Throws at `where` naming `key`, the path and the system's reason.
void require_readable(const SourceLocation& where, std::string_view key, const std::filesystem::path& path);
// The whole of `path`, at most `limit` bytes, or an error at `where`.
std::string read_or_throw(const SourceLocation& where, std::string_view key, const std::filesystem::path& path,
                          std::size_t limit);

namespace detail {
template <class T>
constexpr std::string_view wanted_name() {
    if constexpr (std::is_same_v<T, std::string>) {
        return "a string";
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        return "an integer";
    } else if constexpr (std::is_same_v<T, bool>) {
        return "a boolean";
    } else if constexpr (std::is_same_v<T, toml::array>) {
        return "an array";
    } else {
        static_assert(std::is_same_v<T, toml::table>);
        return "a table";
    }
}
}  // namespace detail

// A key the reader does not know, in document order.
struct UnknownKey {
    std::string_view key;
    SourceLocation key_at;    // the key itself
    const toml::node* value;  // its value
};

// One TOML table being read: typed look-ups that throw ConfigError at the offending value.
class Section {
public:
    Section(const ConfigContext& context, const toml::table& table, std::string title)
        : context_(context), table_(table), title_(std::move(title)) {}

    const ConfigContext& context() const noexcept { return context_; }
    const toml::table& table() const noexcept { return table_; }
    const std::string& title() const noexcept { return title_; }
    bool has(std::string_view key) const { return table_.contains(key); }
    const toml::node* node(std::string_view key) const { return table_.get(key); }

    SourceLocation where() const { return context_.at(table_); }
    // The key's value when it is set, else the table (where a missing key belongs).
    SourceLocation where(std::string_view key) const {
        const toml::node* node = table_.get(key);
        return node ? context_.at(*node) : where();
    }

    [[noreturn]] void fail(const std::string& message) const { throw ConfigError(where(), message); }
    [[noreturn]] void fail(std::string_view key, const std::string& message) const {
        throw ConfigError(where(key), message);
    }
    [[noreturn]] void fail(const toml::node& node, const std::string& message) const {
        throw ConfigError(context_.at(node), message);
    }

    // `node` as T, or a type error naming `label` ("\"role\"", "each entry of \"roles\"");
    // `type_error`, when given, replaces the whole message.
    template <class T>
    const T& expect(const toml::node& node, const std::string& label, std::string_view type_error = {}) const {
        if (const auto* typed = node.as<T>()) {
            if constexpr (std::is_same_v<T, toml::array> || std::is_same_v<T, toml::table>) {
                return *typed;
            } else {
                return typed->get();
            }
        }
        if (!type_error.empty()) {
            fail(node, std::string(type_error));
        }
        fail(node, "expected " + std::string(detail::wanted_name<T>()) + " for " + label + ", got " +
                       std::string(detail::type_name(node.type())));
    }

    // The value of `key` as T (std::string, std::int64_t, bool), nullopt when absent. `problem`
    // returns why a well-typed value is still wrong (empty: fine); either error is thrown at the value.
    template <class T, class Problem>
    std::optional<T> get(std::string_view key, Problem problem, std::string_view type_error = {}) const {
        const toml::node* node = table_.get(key);
        if (!node) {
            return std::nullopt;
        }
        const T& value = expect<T>(*node, detail::in_quotes(key), type_error);
        if (std::string why = problem(value); !why.empty()) {
            fail(*node, why);
        }
        return value;
    }

    template <class T>
    std::optional<T> get(std::string_view key) const {
        return get<T>(key, [](const T&) { return std::string(); });
    }

    // Like get(), for an array of T; `problem` is asked about each entry.
    template <class T, class Problem>
    std::optional<std::vector<T>> get_list(std::string_view key, Problem problem,
                                           std::string_view type_error = {}) const {
        const toml::node* node = table_.get(key);
        if (!node) {
            return std::nullopt;
        }
        const std::string label = "each entry of " + detail::in_quotes(key);
        std::vector<T> out;
        for (const toml::node& entry : expect<toml::array>(*node, detail::in_quotes(key), type_error)) {
            const T& value = expect<T>(entry, label, type_error);
            if (std::string why = problem(value); !why.empty()) {
                fail(entry, why);
            }
            out.push_back(value);
        }
        return out;
    }

    std::optional<std::string> text(std::string_view key) const {
        return get<std::string>(key, [&](const std::string& value) {
            return value.empty() ? detail::in_quotes(key) + " must not be empty" : std::string();
        });
    }

    std::string required_text(std::string_view key) const;
    std::optional<bool> flag(std::string_view key) const { return get<bool>(key); }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
    // A count of at least 1 (rise, fall, in-flight limits).
    std::optional<std::uint32_t> count(std::string_view key) const;

    std::optional<Duration> duration(std::string_view key) const { return any_duration(key, false); }
    std::optional<Duration> duration_or_zero(std::string_view key) const { return any_duration(key, true); }

    // A path, relative ones taken from the configuration's folder.
    std::optional<std::filesystem::path> path(std::string_view key) const;
    // A *_file secret: a path, or "credential:NAME" from $CREDENTIALS_DIRECTORY.
    std::optional<std::filesystem::path> secret_path(std::string_view key) const;
    // Compiled now so a bad pattern stops the load instead of every probe.
    std::optional<boost::regex> regex(std::string_view key, std::string& text_out) const;

    // The first key not in `known`, in document order; nullopt when every key is known.
    std::optional<UnknownKey> first_unknown_key(std::span<const std::string_view> known) const;
    // The first unknown key in document order, with a spelling suggestion from `known`.
    void reject_unknown_keys(std::span<const std::string_view> known) const;
    // Refuses keys a protocol would ignore, so no setting is silently without effect.
    void reject_keys_for(std::span<const std::string_view> keys, std::string_view applies_to,
                         std::string_view protocol) const;

private:
    std::optional<Duration> any_duration(std::string_view key, bool zero_allowed) const;

    const ConfigContext& context_;
    const toml::table& table_;
    std::string title_;  // "[daemon]", "[[check]] \"smtp\"", ... as messages name it
};

// `top[key]` as an array of tables ([[key]]), each handed to `each` with its 1-based index;
// `type_error`, when given, replaces the message for anything else.
template <class Each>
void for_each_entry(const Section& top, std::string_view key, Each each, std::string_view type_error = {}) {
    const toml::node* node = top.table().get(key);
    if (!node) {
        return;
    }
    const std::string label = detail::in_quotes(key) + " (written [[" + std::string(key) + "]])";
    const auto& array = top.expect<toml::array>(*node, label, type_error);
    if (!type_error.empty() && !array.is_array_of_tables()) {
        top.fail(*node, std::string(type_error));  // the whole array is wrong, as the message says
    }
    std::size_t index = 0;
    for (const toml::node& entry : array) {
        each(top.expect<toml::table>(entry, label, type_error), ++index);
    }
}

// "[[check]] \"smtp\"" when the entry has a usable name, else "[[check]] #3".
std::string entry_title(std::string_view kind, const toml::table& table, std::size_t index);

}  // namespace tierwatch

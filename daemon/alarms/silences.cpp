// The silence list, its matching, and silences.json through a durable replace (see silences.hpp).
#include "daemon/alarms/silences.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "config/toml/text.hpp"
#include "config/time_range.hpp"
#include "daemon/storage/durable_file.hpp"
#include "daemon/clock/rfc3339.hpp"

namespace tierwatch {

namespace json = boost::json;
using detail::did_you_mean;
using detail::in_quotes;

namespace {

constexpr auto expired_kept_for = std::chrono::hours(24);
// A silence is an operator's short-term tool; anything longer belongs in [[maintenance]].
constexpr auto longest_silence = std::chrono::days(31);
constexpr std::string_view too_long = "a silence lasts at most 31 days; use a [[maintenance]] window for longer";
constexpr std::size_t max_text = 1024;
constexpr std::string_view past_the_clock = "\"start\" plus \"duration\" is past the year 2261, the end of the clock's range";

// The matcher fields, as named in the API and in [[maintenance]].
struct MatcherField {
    std::string_view key;
    std::vector<std::string> TargetMatcher::*list;
};
constexpr std::array<MatcherField, 5> matcher_fields{{
    {"nodes", &TargetMatcher::nodes},
    {"roles", &TargetMatcher::roles},
    {"zones", &TargetMatcher::zones},
    {"nlbs", &TargetMatcher::nlbs},
    {"checks", &TargetMatcher::checks},
}};

std::set<std::string, std::less<>> known_names(const Config& config, std::string_view key) {
    std::set<std::string, std::less<>> names;
    if (key == "nodes" || key == "roles" || key == "zones") {
        for (const Node& node : config.nodes) {
            names.insert(key == "nodes" ? node.name : key == "roles" ? node.role : node.zone);
        }
    } else if (key == "nlbs") {
        for (const Nlb& nlb : config.nlbs) names.insert(nlb.name);
    } else {
        for (const Check& check : config.checks) names.insert(check.name);
    }
    return names;
}

std::string new_id() {
    std::array<unsigned char, 8> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("no random bytes for a silence id");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (const unsigned char byte : bytes) {
        id += hex[byte >> 4];
        id += hex[byte & 15];
    }
    return id;
}

const json::string* string_field(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value ? value->if_string() : nullptr;
}

// Parses the stored form (which is silence_to_json's); throws on anything unexpected.
Silence stored_silence(const json::value& value) {
    const auto& object = value.as_object();
    Silence silence;
    silence.id = json::value_to<std::string>(object.at("id"));
    for (const auto& field : matcher_fields) {
        if (const auto* list = object.at("matchers").as_object().if_contains(field.key)) {
            silence.match.*field.list = json::value_to<std::vector<std::string>>(*list);
        }
    }
    auto time = [&](std::string_view key) {
        const auto parsed = parse_rfc3339(object.at(key).as_string());
        if (!parsed) throw std::runtime_error("bad time in \"" + std::string(key) + "\"");
        return *parsed;
    };
    silence.start = time("start");
    silence.end = time("end");
    silence.created = time("created");
    silence.author = json::value_to<std::string>(object.at("author"));
    silence.comment = json::value_to<std::string>(object.at("comment"));
    return silence;
}

}  // namespace

Expected<Silence> parse_silence_request(std::string_view body, const Config& config,
                                                         TimePoint now) {
    boost::system::error_code error;
    const json::value document = json::parse(body, error);
    if (error) return unexpected("the body is not JSON: " + error.message());
    const auto* object = document.if_object();
    if (!object) return unexpected("the body must be a JSON object");
    static constexpr std::array<std::string_view, 6> keys{"matchers", "start",  "end",
                                                          "duration", "author", "comment"};
    for (const auto& [key, value] : *object) {
        if (std::find(keys.begin(), keys.end(), std::string_view(key)) == keys.end()) {
            return unexpected("unknown field " + in_quotes(key) + did_you_mean(key, keys) + "; expected " +
                   detail::quoted_list(keys));
        }
    }

    Silence silence;
    const auto* matchers = object->if_contains("matchers");
    if (!matchers || !matchers->is_object()) {
        return unexpected("\"matchers\" must be an object with nodes, roles, zones, nlbs or checks");
    }
    std::array<std::string_view, matcher_fields.size()> field_keys{};
    std::transform(matcher_fields.begin(), matcher_fields.end(), field_keys.begin(),
                   [](const MatcherField& field) { return field.key; });
    for (const auto& [key, value] : matchers->as_object()) {
        const auto field = std::find_if(matcher_fields.begin(), matcher_fields.end(),
                                        // clang before 16 cannot capture a structured binding.
                                        [&name = key](const MatcherField& f) { return f.key == name; });
        if (field == matcher_fields.end()) {
            return unexpected("unknown matcher " + in_quotes(key) + did_you_mean(key, field_keys) +
                   "; expected " + detail::quoted_list(field_keys));
        }
        std::vector<std::string> names;
        if (value.is_string()) {
            names.emplace_back(value.as_string());
        } else if (value.is_array()) {
            for (const auto& item : value.as_array()) {
                if (!item.is_string()) return unexpected("\"matchers." + std::string(key) + "\" must list strings");
                names.emplace_back(item.as_string());
            }
        } else {
            return unexpected("\"matchers." + std::string(key) + "\" must be a string or a list of strings");
        }
        const auto known = known_names(config, key);
        for (const auto& name : names) {
            if (!known.contains(name)) {
                return unexpected("\"matchers." + std::string(key) + "\": no " +
                       std::string(key.substr(0, key.size() - 1)) + " named " + in_quotes(name) +
                       did_you_mean(name, known) + " in the configuration");
            }
        }
        silence.match.*field->list = std::move(names);
    }
    if (silence.match.empty()) {
        return unexpected("a silence needs at least one matcher (nodes, roles, zones, nlbs, checks)");
    }

    silence.start = now;
    if (const auto* start = string_field(*object, "start")) {
        const auto parsed = parse_rfc3339(*start);
        if (!parsed) return unexpected("\"start\" must be an RFC 3339 time, got " + in_quotes(*start));
        silence.start = *parsed;
    } else if (object->contains("start")) {
        return unexpected("\"start\" must be an RFC 3339 time string");
    }
    const auto* end = string_field(*object, "end");
    const auto* duration = string_field(*object, "duration");
    if ((end != nullptr) == (duration != nullptr)) {
        return unexpected("give exactly one of \"end\" (RFC 3339) and \"duration\" (e.g. \"2h\")");
    }
    if (end) {
        const auto parsed = parse_rfc3339(*end);
        if (!parsed) return unexpected("\"end\" must be an RFC 3339 time, got " + in_quotes(*end));
        silence.end = *parsed;
    } else {
        const auto parsed = parse_duration(*duration);
        if (!parsed) return unexpected("\"duration\" must be a duration like \"90m\" or \"2h\", got " + in_quotes(*duration));
        if (*parsed > longest_silence) return unexpected(std::string(too_long));  // before the cast can overflow
        const auto end = plus_in_range(silence.start, *parsed);
        if (!end) return unexpected(std::string(past_the_clock));
        silence.end = *end;
    }
    if (silence.end <= silence.start) return unexpected("\"end\" must be after \"start\"");
    if (silence.end <= now) return unexpected("\"end\" is in the past: the silence would never apply");
    // Not end - start: a start in 1700 and an end in 2200 differ by more than 64-bit nanoseconds.
    const auto latest_end = plus_in_range(silence.start, longest_silence);
    if (!latest_end || silence.end > *latest_end) return unexpected(std::string(too_long));

    for (auto [key, out] : {std::pair{"author", &silence.author}, std::pair{"comment", &silence.comment}}) {
        const auto* text = string_field(*object, key);
        if (!text || text->empty()) {
            return unexpected("\"" + std::string(key) + "\" is required: who silenced this, and why, is what the next shift asks");
        }
        if (text->size() > max_text) return unexpected("\"" + std::string(key) + "\" is longer than 1024 bytes");
        *out = std::string(*text);
    }
    return silence;
}

json::object silence_to_json(const Silence& silence, TimePoint now) {
    json::object matchers;
    for (const auto& field : matcher_fields) {
        const auto& list = silence.match.*field.list;
        if (list.empty()) continue;
        json::array names;
        for (const auto& name : list) names.emplace_back(name);
        matchers[field.key] = std::move(names);
    }
    return {{"id", silence.id},
            {"matchers", std::move(matchers)},
            {"start", format_rfc3339(silence.start)},
            {"end", format_rfc3339(silence.end)},
            {"author", silence.author},
            {"comment", silence.comment},
            {"created", format_rfc3339(silence.created)},
            {"state", silence.state(now)}};
}

SilenceStore::SilenceStore(std::filesystem::path file, std::size_t limit)
    : file_(std::move(file)), limit_(limit) {}

Expected<> SilenceStore::load(TimePoint now) {
    silences_.clear();
    std::error_code exists_error;
    if (!std::filesystem::exists(file_, exists_error)) return {};
    const auto text = read_file(file_);
    if (!text && text.error().too_large)
        return unexpected(file_.string() + " is " + text.error().text + "; " + set_aside(file_) +
                          ", starting with no silences");
    if (!text) return unexpected(file_.string() + ": " + text.error().text);
    try {
        const auto document = json::parse(*text);
        std::vector<Silence> loaded;
        for (const auto& item : document.as_object().at("silences").as_array()) {
            loaded.push_back(stored_silence(item));
        }
        forget_old(loaded, now);
        silences_ = std::move(loaded);
        return {};
    } catch (const std::exception& bad) {
        // Keep the evidence for a post-mortem; start empty rather than not at all.
        return unexpected(file_.string() + " is not a silence file (" + bad.what() + "); " +
                          set_aside(file_) + ", starting with no silences");
    }
}

Expected<> SilenceStore::add(Silence silence, TimePoint now) {
    if (silences_.size() >= limit_) {
        return unexpected("there are already " + std::to_string(silences_.size()) +
                          " silences (at most " + std::to_string(limit_) +
                          ", expired ones included for a day): expire some first");
    }
    silence.id = new_id();
    silence.created = now;
    auto next = silences_;
    next.push_back(std::move(silence));
    forget_old(next, now);
    auto saved = save(next);
    if (saved) silences_ = std::move(next);
    return saved;
}

Expected<bool> SilenceStore::expire(std::string_view id, TimePoint now) {
    auto next = silences_;
    const auto found = std::find_if(next.begin(), next.end(), [&](const Silence& s) { return s.id == id; });
    if (found == next.end()) return false;
    if (found->end > now) found->end = std::max(now, found->start);
    forget_old(next, now);
    const auto saved = save(next);
    if (!saved) return unexpected(saved.error());
    silences_ = std::move(next);
    return true;
}

std::vector<MaintenanceWindow> SilenceStore::windows() const {
    std::vector<MaintenanceWindow> windows;
    windows.reserve(silences_.size());
    for (const auto& silence : silences_) {
        windows.push_back({silence.match, silence.start, silence.end,
                           "silence " + silence.id + " by " + silence.author + ": " + silence.comment, {}});
    }
    return windows;
}

Expected<> SilenceStore::save(const std::vector<Silence>& silences) const {
    json::array list;
    const auto now = std::chrono::system_clock::now();
    for (const auto& silence : silences) {
        auto object = silence_to_json(silence, now);
        object.erase("state");  // derived from the times on every read
        list.push_back(std::move(object));
    }
    const std::string text = json::serialize(json::object{{"version", 1}, {"silences", std::move(list)}}) + "\n";
    if (const auto saved = replace_file_durably(file_, text); !saved)
        return unexpected("cannot save silences to " + file_.string() + ": " + saved.error());
    return {};
}

void SilenceStore::forget_old(std::vector<Silence>& silences, TimePoint now) const {
    // now - a day, not end + a day: an end near the clock's limit has no day after it.
    std::erase_if(silences, [&](const Silence& s) { return s.end < now - expired_kept_for; });
}

}  // namespace tierwatch

// alarms.json: saved whole after each change through a durable replace, read back at start (see alarm_state.hpp).
#include "daemon/alarms/alarm_state.hpp"

#include <boost/json.hpp>

#include "config/time_range.hpp"
#include "daemon/storage/durable_file.hpp"

namespace tierwatch {

namespace json = boost::json;

namespace {

constexpr int format_version = 1;

std::int64_t millis(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_millis(std::int64_t ms) {
    const auto t = time_point_in_range(std::chrono::milliseconds(ms));
    if (!t) throw std::out_of_range("time stamp " + std::to_string(ms) + " ms is outside the clock's range");
    return *t;
}
json::value optional_time(const std::optional<TimePoint>& t) {
    return t ? json::value(millis(*t)) : json::value(nullptr);
}
std::optional<TimePoint> read_optional_time(const json::value& v) {
    return v.is_null() ? std::nullopt : std::optional(from_millis(v.to_number<std::int64_t>()));
}

// Label fields in a fixed order, by member, so save and load cannot drift apart.
constexpr std::array<std::pair<const char*, std::string AlarmLabels::*>, 7> label_fields{{
    {"node", &AlarmLabels::node},
    {"zone", &AlarmLabels::zone},
    {"role", &AlarmLabels::role},
    {"check", &AlarmLabels::check},
    {"nlb", &AlarmLabels::nlb},
    {"address", &AlarmLabels::address},
    {"group", &AlarmLabels::group},
}};

json::object labels_to_json(const AlarmLabels& labels) {
    json::object out;
    for (const auto& [name, member] : label_fields) {
        if (!(labels.*member).empty()) out[name] = labels.*member;
    }
    return out;
}
AlarmLabels labels_from_json(const json::value& v) {
    AlarmLabels labels;
    const auto& o = v.as_object();
    for (const auto& [name, member] : label_fields) {
        if (const auto* value = o.if_contains(name)) labels.*member = json::value_to<std::string>(*value);
    }
    return labels;
}

json::object to_json(const Alarm& alarm) {
    const AlarmCondition& c = alarm.condition;
    json::array notified;
    for (const auto& receiver : alarm.notified) notified.emplace_back(receiver);
    json::object told;
    for (const auto& [receiver, identity] : alarm.told) {
        told[receiver] = json::array{static_cast<int>(identity.severity), identity.tier,
                                     labels_to_json(identity.labels)};
    }
    json::array last_sent;
    for (const auto& t : alarm.last_sent) last_sent.push_back(optional_time(t));
    return {{"key", c.key},
            {"target", c.target},
            {"kind", static_cast<int>(c.kind)},
            {"severity", static_cast<int>(c.severity)},
            {"cause", static_cast<int>(c.cause)},
            {"summary", c.summary},
            {"labels", labels_to_json(c.labels)},
            {"started", millis(alarm.started)},
            {"critical_since", optional_time(alarm.critical_since)},
            {"tier", alarm.tier},
            {"escalated", alarm.escalated},
            {"notified", std::move(notified)},
            {"last_sent", std::move(last_sent)},
            {"sent_severity", static_cast<int>(alarm.sent_severity)},
            {"told", std::move(told)}};
}

template <typename Enum>
Enum enum_in_range(const json::value& v, Enum last) {
    const auto n = v.to_number<int>();
    if (n < 0 || n > static_cast<int>(last)) throw std::out_of_range("enum value out of range");
    return static_cast<Enum>(n);
}

Alarm from_json(const json::object& o) {
    Alarm alarm;
    AlarmCondition& c = alarm.condition;
    c.key = json::value_to<std::string>(o.at("key"));
    // Absent from older state files: the next evaluation sets it again.
    if (const auto* target = o.if_contains("target")) c.target = json::value_to<std::string>(*target);
    c.kind = enum_in_range(o.at("kind"), AlarmKind::flapping);
    c.severity = enum_in_range(o.at("severity"), Grade::critical);
    c.cause = enum_in_range(o.at("cause"), GradeCause::certificate);
    c.summary = json::value_to<std::string>(o.at("summary"));
    c.labels = labels_from_json(o.at("labels"));
    alarm.started = from_millis(o.at("started").to_number<std::int64_t>());
    alarm.critical_since = read_optional_time(o.at("critical_since"));
    alarm.tier = o.at("tier").to_number<int>();
    alarm.escalated = o.at("escalated").as_bool();
    alarm.notified = json::value_to<std::vector<std::string>>(o.at("notified"));
    const auto& last_sent = o.at("last_sent").as_array();
    for (std::size_t i = 0; i < alarm.last_sent.size() && i < last_sent.size(); ++i) {
        alarm.last_sent[i] = read_optional_time(last_sent[i]);
    }
    alarm.sent_severity = enum_in_range(o.at("sent_severity"), Grade::critical);
    // Absent from state files written before identities were kept: resolves then use the alarm's.
    if (const auto* told = o.if_contains("told")) {
        for (const auto& [receiver, identity] : told->as_object()) {
            const auto& fields = identity.as_array();
            // Files written before labels were kept there: the alarm's labels were the ones told.
            alarm.told.emplace_back(
                std::string(receiver),
                SentIdentity{enum_in_range(fields.at(0), Grade::critical), fields.at(1).to_number<int>(),
                             fields.size() > 2 ? labels_from_json(fields.at(2)) : c.labels});
        }
    }
    return alarm;
}

}  // namespace

Expected<> save_alarm_state(const std::filesystem::path& file, const AlarmBook& book) {
    json::array alarms;
    for (const auto& [key, alarm] : book.alarms()) {
        if (!alarm.notified.empty()) alarms.push_back(to_json(alarm));
    }
    const auto text =
        json::serialize(json::object{{"version", format_version}, {"alarms", std::move(alarms)}}) + "\n";
    if (const auto saved = replace_file_durably(file, text); !saved)
        return unexpected("cannot save alarm state to " + file.string() + ": " + saved.error());
    return {};
}

Expected<std::vector<Alarm>> load_alarm_state(const std::filesystem::path& file) {
    std::vector<Alarm> alarms;
    std::error_code missing;
    if (!std::filesystem::exists(file, missing)) return alarms;
    const std::string consequence = "alarms that cleared while tierwatchd was down get no resolve";
    const auto text = read_file(file);
    if (!text && text.error().too_large)
        return unexpected(file.string() + " is " + text.error().text + "; " + set_aside(file) +
                          ", starting without it: " + consequence);
    if (!text) return unexpected(file.string() + ": " + text.error().text);
    try {
        const auto document = json::parse(*text);
        if (document.at("version").to_number<int>() != format_version) {
            throw std::runtime_error("unknown format version");
        }
        for (const auto& item : document.at("alarms").as_array()) alarms.push_back(from_json(item.as_object()));
    } catch (const std::exception& bad) {
        // Set aside, so the next save does not destroy the evidence and the next start does not trip again.
        return unexpected(file.string() + " is not an alarm state file (" + bad.what() + "); " +
                          set_aside(file) + ", starting without it: " + consequence);
    }
    return alarms;
}

}  // namespace tierwatch

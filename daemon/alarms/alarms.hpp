// Alarm lifecycle and paging decisions, sans-io: conditions in, page events out, time injected.
// The book decides what to page, to whom (tiers, coverage schedule, escalation, repeats) and
// when to resolve; delivering the events (pagers, durable outbox) is the paging layer's job.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/alerting.hpp"
#include "daemon/alarms/grading.hpp"

namespace tierwatch {

enum class AlarmKind : std::uint8_t { target, group, zone_down, nlb_down, flapping };
std::string_view to_string(AlarmKind kind) noexcept;

// What an alarm is about; empty fields do not apply. Never holds time or counters.
struct AlarmLabels {
    std::string node;
    std::string zone;
    std::string role;
    std::string check;
    std::string nlb;
    std::string address;
    std::string group;

    // Calls visit(name, value) for each label that applies, in this order: node, zone, role,
    // check, nlb, address, group.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        const std::pair<std::string_view, const std::string*> fields[] = {
            {"node", &node}, {"zone", &zone},       {"role", &role},   {"check", &check},
            {"nlb", &nlb},   {"address", &address}, {"group", &group},
        };
        for (const auto& [name, value] : fields) {
            if (!value->empty()) visit(name, *value);
        }
    }
    bool operator==(const AlarmLabels&) const = default;
};

// One alarm that should be firing now, as the roll-up sees it.
struct AlarmCondition {
    AlarmKind kind = AlarmKind::target;
    std::string key;  // dedup key: kind and subject, stable across restarts
    // Target and flapping alarms: the target's identity as a value, so that surfaces link an
    // alarm to its target without parsing the key back. Empty for every other kind.
    std::string target;
    Grade severity = Grade::warning;
    GradeCause cause = GradeCause::none;
    std::string summary;
    AlarmLabels labels;
    bool suppressed = false;  // explained by a zone or NLB address that is down
    bool silenced = false;
    bool maintenance = false;

    bool pageable() const noexcept { return !suppressed && !silenced && !maintenance; }
};

// The key for `kind` about `subject` (a target identity, group, zone, "nlb/address").
std::string alarm_key(AlarmKind kind, std::string_view subject);

enum class PageAction : std::uint8_t { trigger, repeat, escalate, resolve };
std::string_view to_string(PageAction action) noexcept;

// What a receiver was told about an alarm: Alertmanager identifies an alert by its label set
// (severity, tier and the alarm's labels, which a reload may rename), so a resolve must repeat
// exactly these.
struct SentIdentity {
    Grade severity = Grade::warning;
    int tier = 1;
    AlarmLabels labels;
    bool operator==(const SentIdentity&) const = default;
};

// One message for one receiver; the paging layer delivers it (and keeps it until accepted).
struct PageEvent {
    PageAction action = PageAction::trigger;
    std::string receiver;  // a [[pager]] name
    std::string dedup_key;
    Grade severity = Grade::warning;
    int tier = 1;  // the alarm's tier: 1 warning, 2 critical, 3 escalated or routed
    AlarmKind kind = AlarmKind::target;
    std::string summary;
    AlarmLabels labels;
    TimePoint starts_at;  // when the alarm started firing
    TimePoint at;         // when this event was decided
    // Set when this receiver was last told another severity or tier: label-identified receivers
    // resolve that identity along with this event; dedup-key receivers update under the same key.
    std::optional<SentIdentity> replaces;

    // alarm, severity, tier, node, zone, role, check, nlb, address, group; empty ones left out.
    std::vector<std::pair<std::string_view, std::string>> label_pairs() const;
    SentIdentity identity() const { return {severity, tier, labels}; }
    // Takes on an identity told earlier (a resolve or an ended alert names what was told).
    void assume(const SentIdentity& told) {
        severity = told.severity;
        tier = told.tier;
        labels = told.labels;
    }
};

// A firing alarm, for the status page and metrics.
struct Alarm {
    AlarmCondition condition;
    TimePoint started;  // first seen firing
    std::optional<TimePoint> critical_since;
    int tier = 1;
    bool escalated = false;             // tier3 paged after tiers.tier3.after
    std::vector<std::string> notified;  // receivers that got the trigger: they get the resolve
    // Per receiver, the identity it was last told: its resolve carries exactly that.
    std::vector<std::pair<std::string, SentIdentity>> told;
    std::array<std::optional<TimePoint>, 3> last_sent{};  // per tier, for `repeat`
    Grade sent_severity = Grade::ok;                      // severity the receivers last heard
    // Restored from state_dir at start: kept without firing until then, while the targets are
    // graded again, so a restart neither resolves nor re-pages what is still wrong.
    std::optional<TimePoint> held_until;
};

class AlarmBook {
public:
    // Keeps a reference: the configuration outlives the book (a reload builds a new one).
    explicit AlarmBook(const AlertingConfig& alerting) : alerting_(&alerting) {}

    // A reload: the firing alarms, their tiers and who was notified stay; the next update()
    // applies the new tiers, receivers and schedules.
    void reconfigure(const AlertingConfig& alerting) noexcept { alerting_ = &alerting; }

    // Makes the book match `firing` (every alarm that should fire at `now`) and returns the
    // events to deliver: triggers, repeats, escalations, and resolves for alarms that cleared.
    std::vector<PageEvent> update(std::vector<AlarmCondition> firing, TimePoint now);

    const std::unordered_map<std::string, Alarm>& alarms() const noexcept { return alarms_; }
    // Alarms escalated to Tier III after tiers.tier3.after since the book was made.
    std::uint64_t escalations() const noexcept { return escalations_; }

    // Alarms saved before a restart. Each is kept as it was until `hold_until` even when nothing
    // fires it; then, if it still does not fire, its receivers get the resolve. One that fires
    // again continues where it was: no new trigger, repeats on the old schedule.
    void restore(std::vector<Alarm> alarms, TimePoint hold_until);
    const Alarm* find(std::string_view key) const;

private:
    bool routed_to_tier3(const AlarmCondition& condition) const;
    void page(Alarm& alarm, TimePoint now, std::vector<PageEvent>& out);
    PageEvent event(const Alarm& alarm, PageAction action, std::string receiver,
                    TimePoint now) const;
    // The resolve for `receiver`: it names exactly the identity that receiver was told.
    PageEvent resolve(const Alarm& alarm, std::string receiver, TimePoint now) const;
    // Receivers told of `alarm` that no tier in `audience` routes to any more (it went down a
    // tier, or a reload moved them) get their resolve now and are forgotten.
    void resolve_unrouted(Alarm& alarm, const std::array<bool, 3>& audience, TimePoint now,
                          std::vector<PageEvent>& out) const;

    const AlertingConfig* alerting_;
    std::unordered_map<std::string, Alarm> alarms_;
    std::uint64_t escalations_ = 0;
};

}  // namespace tierwatch

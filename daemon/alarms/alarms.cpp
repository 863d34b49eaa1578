// Alarm lifecycle and paging decisions (see alarms.hpp).
#include "daemon/alarms/alarms.hpp"

#include <algorithm>
#include <unordered_set>

namespace tierwatch {

std::string_view to_string(AlarmKind kind) noexcept {
    switch (kind) {
        case AlarmKind::target:
            return "target";
        case AlarmKind::group:
            return "group";
        case AlarmKind::zone_down:
            return "zone_down";
        case AlarmKind::nlb_down:
            return "nlb_down";
        case AlarmKind::flapping:
            return "flapping";
    }
    return "unknown";
}

std::string_view to_string(GradeCause cause) noexcept {
    switch (cause) {
        case GradeCause::none:
            return "none";
        case GradeCause::failure:
            return "failure";
        case GradeCause::latency:
            return "latency";
        case GradeCause::certificate:
            return "certificate";
    }
    return "unknown";
}

std::string_view to_string(PageAction action) noexcept {
    switch (action) {
        case PageAction::trigger:
            return "trigger";
        case PageAction::repeat:
            return "repeat";
        case PageAction::escalate:
            return "escalate";
        case PageAction::resolve:
            return "resolve";
    }
    return "unknown";
}

std::string alarm_key(AlarmKind kind, std::string_view subject) {
    std::string key = "tierwatch/";
    key += to_string(kind);
    key += '/';
    key += subject;
    return key;
}

std::vector<std::pair<std::string_view, std::string>> PageEvent::label_pairs() const {
    std::vector<std::pair<std::string_view, std::string>> out{
        {"alarm", std::string(to_string(kind))},
        {"severity", std::string(to_string(severity))},
        {"tier", std::to_string(tier)},
    };
    labels.for_each([&](std::string_view name, const std::string& value) { out.emplace_back(name, value); });
    return out;
}

const Alarm* AlarmBook::find(std::string_view key) const {
    const auto it = alarms_.find(std::string(key));
    return it == alarms_.end() ? nullptr : &it->second;
}

bool AlarmBook::routed_to_tier3(const AlarmCondition& condition) const {
    const auto& classes = alerting_->tier(3).classes;
    return std::any_of(classes.begin(), classes.end(), [&](const std::string& c) {
        return c == to_string(condition.kind) ||
               (!condition.labels.check.empty() && c == condition.labels.check) ||
               (condition.cause != GradeCause::none && c == to_string(condition.cause));
    });
}

namespace {
// The identity `receiver` was last told about `alarm`, or null (state files from before it).
template <typename A>
auto told_identity(A& alarm, std::string_view receiver) {
    const auto it = std::find_if(alarm.told.begin(), alarm.told.end(),
                                 [&](const auto& entry) { return entry.first == receiver; });
    return it == alarm.told.end() ? nullptr : &it->second;
}
}  // namespace

PageEvent AlarmBook::event(const Alarm& alarm, PageAction action, std::string receiver,
                           TimePoint now) const {
    const AlarmCondition& c = alarm.condition;
    return PageEvent{
        .action = action,
        .receiver = std::move(receiver),
        .dedup_key = c.key,
        .severity = c.severity,
        .tier = alarm.tier,
        .kind = c.kind,
        .summary = c.summary,
        .labels = c.labels,
        .starts_at = alarm.started,
        .at = now,
        .replaces = std::nullopt,
    };
}

PageEvent AlarmBook::resolve(const Alarm& alarm, std::string receiver, TimePoint now) const {
    PageEvent resolve = event(alarm, PageAction::resolve, std::move(receiver), now);
    if (const SentIdentity* told = told_identity(alarm, resolve.receiver)) resolve.assume(*told);
    return resolve;
}

void AlarmBook::resolve_unrouted(Alarm& alarm, const std::array<bool, 3>& audience, TimePoint now,
                                 std::vector<PageEvent>& out) const {
    // Routed by configuration, whatever the hour: a coverage hand-over is not a resolve.
    const auto routed = [&](const std::string& receiver) {
        const auto listed = [&](const std::vector<std::string>& names) {
            return std::find(names.begin(), names.end(), receiver) != names.end();
        };
        for (int number = 1; number <= 3; ++number) {
            if (!audience[static_cast<std::size_t>(number - 1)]) continue;
            const TierConfig& tier = alerting_->tier(number);
            if (listed(tier.receivers) ||
                std::any_of(tier.coverage.begin(), tier.coverage.end(),
                            [&](const CoverageWindow& w) { return listed(w.receivers); })) {
                return true;
            }
        }
        return false;
    };
    for (auto it = alarm.notified.begin(); it != alarm.notified.end();) {
        if (routed(*it)) {
            ++it;
            continue;
        }
        out.push_back(resolve(alarm, *it, now));
        std::erase_if(alarm.told, [&](const auto& entry) { return entry.first == *it; });
        it = alarm.notified.erase(it);
    }
}

void AlarmBook::page(Alarm& alarm, TimePoint now, std::vector<PageEvent>& out) {
    const AlarmCondition& c = alarm.condition;
    const bool critical = c.severity == Grade::critical;
    if (!critical) {
        alarm.critical_since.reset();
    } else if (!alarm.critical_since) {
        alarm.critical_since = now;
    }
    // Suppressed, silenced and unsettled alarms are shown with their tier but page nobody.
    const bool may_page = c.pageable() && now - alarm.started >= alerting_->settle;
    const auto& after = alerting_->tier(3).after;
    if (may_page && !alarm.escalated && alarm.critical_since && after &&
        now - *alarm.critical_since >= *after) {
        alarm.escalated = true;
        ++escalations_;
    }
    const bool routed = routed_to_tier3(c);
    alarm.tier = (alarm.escalated || routed) ? 3 : critical ? 2 : 1;
    if (!may_page) {
        return;
    }

    const bool severity_changed =
        alarm.sent_severity != Grade::ok && alarm.sent_severity != c.severity;
    const std::array<bool, 3> audience{true, critical, alarm.escalated || routed};
    resolve_unrouted(alarm, audience, now, out);
    const SentIdentity current{c.severity, alarm.tier, c.labels};
    // A receiver listed in several tiers hears about the alarm once per update.
    std::vector<std::string_view> addressed;
    for (int number = 1; number <= 3; ++number) {
        const auto index = static_cast<std::size_t>(number - 1);
        if (!audience[index]) {
            continue;
        }
        const TierConfig& tier = alerting_->tier(number);
        const auto& last = alarm.last_sent[index];
        const bool due = !last || severity_changed || (tier.repeat && now - *last >= *tier.repeat);
        for (const std::string& receiver : tier.receivers_at(now)) {
            if (std::find(addressed.begin(), addressed.end(), receiver) != addressed.end()) {
                continue;
            }
            SentIdentity* before = told_identity(alarm, receiver);
            const bool told = std::find(alarm.notified.begin(), alarm.notified.end(),
                                        receiver) != alarm.notified.end();
            // Not told yet (a reload or coverage hand-over routed it here), or told another tier
            // or labels (an escalation, a reload): now, not at the next repeat, so no receiver
            // misses the alarm or keeps an identity the alarm no longer has.
            if (!due && told && !(before && *before != current)) {
                continue;
            }
            addressed.push_back(receiver);
            PageAction action = PageAction::repeat;
            if (!told) {
                alarm.notified.push_back(receiver);
                action = (number == 3 && !routed) ? PageAction::escalate : PageAction::trigger;
            }
            PageEvent next = event(alarm, action, receiver, now);
            if (before) {
                if (*before != current) next.replaces = *before;
                *before = current;
            } else {
                alarm.told.emplace_back(receiver, current);
            }
            out.push_back(std::move(next));
        }
        if (due) alarm.last_sent[index] = now;
    }
    alarm.sent_severity = c.severity;
}

void AlarmBook::restore(std::vector<Alarm> alarms, TimePoint hold_until) {
    for (Alarm& alarm : alarms) {
        alarm.held_until = hold_until;
        auto key = alarm.condition.key;
        alarms_.insert_or_assign(std::move(key), std::move(alarm));
    }
}

std::vector<PageEvent> AlarmBook::update(std::vector<AlarmCondition> firing, TimePoint now) {
    std::vector<PageEvent> out;
    std::unordered_set<std::string_view> seen;
    seen.reserve(firing.size());
    // Input order keeps the output deterministic.
    std::vector<Alarm*> order;
    order.reserve(firing.size());
    for (AlarmCondition& condition : firing) {
        auto [it, added] = alarms_.try_emplace(condition.key);
        if (!seen.insert(it->first).second) {
            continue;  // the roll-up names each alarm once; a duplicate would double-page
        }
        if (added) {
            it->second.started = now;
        }
        it->second.held_until.reset();
        it->second.condition = std::move(condition);
        order.push_back(&it->second);
    }

    std::vector<std::string> cleared;
    for (const auto& [key, alarm] : alarms_) {
        if (!seen.contains(key) && !(alarm.held_until && now < *alarm.held_until)) {
            cleared.push_back(key);
        }
    }
    std::sort(cleared.begin(), cleared.end());
    for (const std::string& key : cleared) {
        const auto it = alarms_.find(key);
        // Every receiver that was told it fired is told it cleared, whatever the schedule says now.
        for (const std::string& receiver : it->second.notified) {
            out.push_back(resolve(it->second, receiver, now));
        }
        alarms_.erase(it);
    }

    for (Alarm* alarm : order) {
        page(*alarm, now, out);
    }
    return out;
}

}  // namespace tierwatch

// Target grades, groups, dependencies and flapping, turned into alarm conditions (see rollup.hpp).
#include "daemon/alarms/rollup.hpp"

#include <algorithm>
#include <map>

namespace tierwatch {

// ---------------------------------------------------------------------------------------------
// One target

Transition TargetGrader::observe(const Graded& graded, std::uint32_t rise, std::uint32_t fall,
                                 Duration flap_window, TimePoint now) {
    const GradeCause cause = graded.cause;
    const Grade g = graded.grade;
    if (g == grade_) {
        run_ = 0;
        if (g != Grade::ok) {
            why_ = graded.why;  // keep the reason current ("latency 2.4s" → "latency 3.1s")
            cause_ = cause;
        }
        return Transition::unchanged;
    }
    const bool worse = g > grade_;
    if (run_ == 0 || run_worse_ != worse) {
        run_ = 0;
        run_worse_ = worse;
        run_grade_ = g;
    }
    ++run_;
    // The mildest of a worse run, the worst of a better run: the grade every result in it
    // justifies.
    if (worse ? g <= run_grade_ : g >= run_grade_) {
        run_grade_ = g;
        run_why_ = graded.why;
        run_cause_ = cause;
    }
    if (run_ < std::max<std::uint32_t>(worse ? fall : rise, 1)) {
        return Transition::pending;
    }
    const Grade from = grade_;
    grade_ = run_grade_;
    why_ = std::move(run_why_);
    cause_ = grade_ == Grade::ok ? GradeCause::none : run_cause_;
    run_why_.clear();
    run_ = 0;
    ++transitions_;
    record_change(from, flap_window, now);
    return Transition::changed;
}

void TargetGrader::record_change(Grade from, Duration flap_window, TimePoint now) {
    if (max_changes_ == 0) {
        return;
    }
    if (changes_.empty()) {
        changes_.resize(max_changes_);
    }
    const bool was_flapping = flapping(now);
    changes_[next_change_] = now;
    next_change_ = (next_change_ + 1) % changes_.size();
    recorded_ = std::min(recorded_ + 1, changes_.size());
    // After the write, next_change_ points at the oldest of the last max_changes changes.
    const bool too_many =
        recorded_ == changes_.size() && now - changes_[next_change_] <= flap_window;
    if (!was_flapping && !too_many) {
        return;
    }
    if (!was_flapping) {
        flap_worst_ = from;
    }
    flap_worst_ = std::max({flap_worst_, from, grade_});
    flapping_until_ = now + flap_window;
}

// ---------------------------------------------------------------------------------------------
// Set-up

namespace {

Grade capped_at_warning(Grade grade, bool capped) {
    return capped ? std::min(grade, Grade::warning) : grade;
}

std::string member_name(const RollupTarget& target) {
    return target.node ? target.node->name : target.nlb->name + "/" + target.address;
}

std::string describe(const RollupTarget& target) {
    const std::string where = target.node ? " on " + target.node->name : " via " + target.nlb->name;
    return target.check->name + where + " (" +
           (target.label.empty() ? target.address : target.label) + ")";
}

AlarmLabels target_labels(const RollupTarget& target) {
    AlarmLabels labels;
    labels.check = target.check->name;
    labels.address = target.address;
    if (target.node) {
        labels.node = target.node->name;
        labels.zone = target.node->zone;
        labels.role = target.node->role;
    } else {
        labels.nlb = target.nlb->name;
    }
    return labels;
}

template <class Windows>
bool any_active(const std::vector<std::uint32_t>& indices, const Windows& windows, TimePoint now) {
    return std::any_of(indices.begin(), indices.end(),
                       [&](std::uint32_t i) { return windows[i].active(now); });
}

template <class Windows>
std::vector<std::uint32_t> matching(const Windows& windows, const RollupTarget& target) {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < windows.size(); ++i) {
        if (windows[i].match.matches(*target.check, target.node, target.nlb)) {
            out.push_back(static_cast<std::uint32_t>(i));
        }
    }
    return out;
}

}  // namespace

Rollup::Rollup(const AlertingConfig& alerting) : alerting_(&alerting) { configure_groups(); }

void Rollup::reconfigure(const AlertingConfig& alerting) {
    alerting_ = &alerting;
    groups_.clear();
    configure_groups();
}

void Rollup::configure_groups() {
    for (const GroupConfig& group : alerting_->groups) {
        Group g;
        g.kind = GroupKind::configured;
        g.name = group.name;
        g.config = &group;
        g.key = alarm_key(AlarmKind::group, group.name);
        g.labels.group = group.name;
        // A single role or zone is worth a label: Alertmanager routes on it.
        g.labels.role = group.match.roles.size() == 1 ? group.match.roles.front() : "";
        g.labels.zone = group.match.zones.size() == 1 ? group.match.zones.front() : "";
        groups_.push_back(std::move(g));
    }
}

void Rollup::set_targets(std::span<const RollupTarget> targets) {
    // Implicit groups follow the targets (NLB addresses come and go with DNS); rebuild them all.
    groups_.resize(alerting_->groups.size());
    for (Group& group : groups_) {
        group.members.clear();
    }
    for (Slot& slot : slots_) {
        slot.present = false;
    }
    // Build-time indexes, so that a large fleet's re-sync stays linear in its targets.
    std::map<std::pair<GroupKind, std::string>, std::uint32_t> implicit;
    std::map<std::pair<std::uint32_t, std::string>, std::size_t> member_at;
    auto implicit_group = [&](GroupKind kind, const std::string& name) {
        const auto [it, added] =
            implicit.try_emplace({kind, name}, static_cast<std::uint32_t>(groups_.size()));
        if (added) {
            Group g;
            g.kind = kind;
            g.name = name;
            g.key = alarm_key(kind == GroupKind::zone ? AlarmKind::zone_down : AlarmKind::nlb_down,
                              name);
            if (kind == GroupKind::zone) {
                g.labels.zone = name;  // NLB labels are set by the caller, which knows the parts
            }
            groups_.push_back(std::move(g));
        }
        return it->second;
    };
    // Sized once to the largest id: growing by doubling would leave up to half the slots unused.
    std::size_t slot_count = slots_.size();
    for (const RollupTarget& target : targets) {
        slot_count = std::max<std::size_t>(slot_count, target.id + 1);
    }
    slots_.resize(slot_count);
    for (const RollupTarget& target : targets) {
        Slot& slot = slots_[target.id];
        if (slot.target.identity != target.identity || !slot.target.check) {
            slot.grader = TargetGrader(alerting_->flapping);
        }
        slot.present = true;
        slot.target = target;
        slot.maintenance = matching(alerting_->maintenance, target);
        slot.silences = matching(silences_, target);
        slot.capped = false;
        slot.zone = none;
        slot.nlb_address = none;

        const std::string member = member_name(target);
        auto join = [&](std::uint32_t index) {
            auto& members = groups_[index].members;
            const auto [it, added] = member_at.try_emplace({index, member}, members.size());
            if (added) {
                members.push_back(Member{member, {}});
            }
            members[it->second].targets.push_back(target.id);
        };
        for (std::size_t i = 0; i < alerting_->groups.size(); ++i) {
            if (alerting_->groups[i].contains(*target.check, target.node, target.nlb)) {
                join(static_cast<std::uint32_t>(i));
                slot.capped = true;
            }
        }
        if (target.node) {
            slot.zone = implicit_group(GroupKind::zone, target.node->zone);
            join(slot.zone);
        } else {
            const std::string name =
                target.nlb->name + "/" + (target.address.empty() ? "dns" : target.address);
            slot.nlb_address = implicit_group(GroupKind::nlb_address, name);
            Group& group = groups_[slot.nlb_address];
            group.labels.nlb = target.nlb->name;
            group.labels.address = target.address;
            join(slot.nlb_address);
        }
    }
    states_.assign(groups_.size(), GroupState{});
    group_down_.assign(groups_.size(), false);
}

void Rollup::set_silences(std::vector<MaintenanceWindow> silences) {
    silences_ = std::move(silences);
    for (Slot& slot : slots_) {
        if (slot.present) {
            slot.silences = matching(silences_, slot.target);
        }
    }
}

const TargetGrader* Rollup::grader(std::uint32_t id) const {
    return id < slots_.size() && slots_[id].present ? &slots_[id].grader : nullptr;
}

Transition Rollup::observe(std::uint32_t id, const ProbeResult& result, TimePoint now) {
    if (id >= slots_.size() || !slots_[id].present) {
        return Transition::unchanged;  // a result for a target removed while it was in flight
    }
    Slot& slot = slots_[id];
    const Check& check = *slot.target.check;
    const Graded graded = grade_result(result, check, now);
    return slot.grader.observe(graded, check.rise, check.fall,
                               alerting_->flapping.window, now);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

bool Rollup::in_maintenance(const Slot& slot, TimePoint now) const {
    return any_active(slot.maintenance, alerting_->maintenance, now);
}

bool Rollup::silenced(const Slot& slot, TimePoint now) const {
    return any_active(slot.silences, silences_, now);
}

bool Rollup::explained(const Slot& slot) const {
    return (slot.zone != none && group_down_[slot.zone]) ||
           (slot.nlb_address != none && group_down_[slot.nlb_address]);
}

Rollup::Flags Rollup::flags_of(const Group& group, TimePoint now) const {
    // A roll-up alarm is quiet only when every target that makes it fire is quiet: losing a
    // second MTA while the first is in maintenance must still page.
    Flags flags;
    for (const Member& member : group.members) {
        for (std::uint32_t id : member.targets) {
            const Slot& slot = slots_[id];
            if (!slot.grader.down()) {
                continue;
            }
            ++flags.down_targets;
            flags.suppressed = flags.suppressed && explained(slot);
            flags.silenced = flags.silenced && silenced(slot, now);
            flags.maintenance = flags.maintenance && in_maintenance(slot, now);
        }
    }
    if (flags.down_targets == 0) {
        flags = Flags{false, false, false, 0};
    }
    return flags;
}

void Rollup::target_conditions(const Slot& slot, TimePoint now,
                               std::vector<AlarmCondition>& out) const {
    const TargetGrader& grader = slot.grader;
    const bool flapping = grader.flapping(now);
    if (!flapping && grader.grade() == Grade::ok) {
        return;
    }
    AlarmCondition c;
    c.target = slot.target.identity;
    c.labels = target_labels(slot.target);
    c.suppressed = explained(slot);
    c.silenced = silenced(slot, now);
    c.maintenance = in_maintenance(slot, now);
    if (flapping) {
        // One alarm for the whole episode instead of one page per change.
        c.kind = AlarmKind::flapping;
        c.key = alarm_key(AlarmKind::flapping, slot.target.identity);
        c.severity = capped_at_warning(grader.flap_worst(), slot.capped);
        c.summary = describe(slot.target) +
                    " is flapping: " + std::to_string(alerting_->flapping.max_changes) +
                    " or more grade changes within " + format_duration(alerting_->flapping.window) +
                    ", now " + std::string(to_string(grader.grade()));
    } else {
        c.kind = AlarmKind::target;
        c.key = alarm_key(AlarmKind::target, slot.target.identity);
        c.severity = capped_at_warning(grader.grade(), slot.capped);
        c.cause = grader.cause();
        c.summary = describe(slot.target) + ": " + grader.why();
    }
    out.push_back(std::move(c));
}

void Rollup::group_condition(std::size_t index, TimePoint now, std::vector<AlarmCondition>& out) {
    const Group& group = groups_[index];
    GroupState& state = states_[index];
    if (state.grade == Grade::ok) {
        return;
    }
    const Flags flags = flags_of(group, now);
    AlarmCondition c;
    c.key = group.key;
    c.labels = group.labels;
    c.severity = state.grade;
    c.silenced = flags.silenced;
    c.maintenance = flags.maintenance;
    switch (group.kind) {
        case GroupKind::configured: {
            c.kind = AlarmKind::group;
            c.suppressed = flags.suppressed;
            std::string down_names;
            for (const Member& member : group.members) {
                const bool down =
                    std::any_of(member.targets.begin(), member.targets.end(),
                                [&](std::uint32_t id) { return slots_[id].grader.down(); });
                if (down) {
                    down_names += (down_names.empty() ? "" : ", ") + member.name;
                }
            }
            c.summary = "group " + group.name + ": " + std::to_string(state.down) + " of " +
                        std::to_string(state.members) + " down" +
                        (down_names.empty() ? "" : " (" + down_names + ")") + ", " +
                        std::to_string(state.up) + " up";
            break;
        }
        case GroupKind::zone:
            c.kind = AlarmKind::zone_down;
            c.summary = "zone " + group.name + " down: all " + std::to_string(flags.down_targets) +
                        " targets on its " + std::to_string(state.members) + " nodes failing";
            break;
        case GroupKind::nlb_address: {
            c.kind = AlarmKind::nlb_down;
            std::string checks;
            for (std::uint32_t id : group.members.front().targets) {
                checks += (checks.empty() ? "" : ", ") + slots_[id].target.check->name;
            }
            c.summary = "NLB " + group.labels.nlb + " address " +
                        (group.labels.address.empty() ? std::string("(unresolved)")
                                                      : group.labels.address) +
                        " down: every check failing (" + checks + ")";
            break;
        }
    }
    out.push_back(std::move(c));
}

std::vector<AlarmCondition> Rollup::evaluate(TimePoint now) {
    // Groups first: target alarms need to know which zones and NLB addresses are down.
    for (std::size_t i = 0; i < groups_.size(); ++i) {
        const Group& group = groups_[i];
        GroupState& state = states_[i];
        state = GroupState{group.kind, group.name, static_cast<std::uint32_t>(group.members.size()),
                           0,          0,          Grade::ok};
        bool all_down = !group.members.empty();
        for (const Member& member : group.members) {
            std::size_t down = 0;
            for (std::uint32_t id : member.targets) {
                down += slots_[id].grader.down() ? 1 : 0;
            }
            // A member with any target down is not healthy; a zone or address is down when all are.
            (down > 0 ? state.down : state.up) += 1;
            all_down = all_down && down == member.targets.size();
        }
        group_down_[i] = group.kind != GroupKind::configured && all_down;
        if (group.kind != GroupKind::configured) {
            state.grade = all_down ? Grade::critical : Grade::ok;
            continue;
        }
        const GroupConfig& config = *group.config;
        if (config.critical_when_up_below && state.up < *config.critical_when_up_below) {
            state.grade = Grade::critical;
        } else if (config.warning_when_down && state.down >= *config.warning_when_down) {
            state.grade = Grade::warning;
        }
    }
    std::vector<AlarmCondition> out;
    for (const Slot& slot : slots_) {
        if (slot.present) {
            target_conditions(slot, now, out);
        }
    }
    for (std::size_t i = 0; i < groups_.size(); ++i) {
        group_condition(i, now, out);
    }
    return out;
}

}  // namespace tierwatch

// Per-target grades with rise/fall and flapping, rolled up into groups, zones and NLB addresses
// with dependencies, producing the alarm conditions the alarm book pages on. Sans-io, time
// injected.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/alerting.hpp"
#include "daemon/alarms/alarms.hpp"
#include "daemon/alarms/grading.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

// What the roll-up needs to know about one target (the daemon builds it from its TargetTable,
// which keeps Asio types out of here). `id` indexes the roll-up's state, like the table's ids.
struct RollupTarget {
    std::uint32_t id = 0;
    const Check* check = nullptr;
    const Node* node = nullptr;  // exactly one of node and nlb is set
    const Nlb* nlb = nullptr;
    std::string address;   // the probed address; empty for an NLB name that does not resolve
    std::string identity;  // TargetSpec::identity: stable across restarts
    std::string label;     // "address:port", for summaries
};

enum class Transition : std::uint8_t { unchanged, changed, pending };

// The grade of one target over its results: the grade changes after `fall` consecutive results
// worse than it (to the mildest of them) or `rise` consecutive results better than it (to the
// worst of them), so one bad probe is not an alarm and one good probe is not a recovery.
class TargetGrader {
public:
    TargetGrader() = default;
    explicit TargetGrader(const FlappingConfig& flapping) : max_changes_(flapping.max_changes) {}

    Transition observe(const Graded& graded, std::uint32_t rise, std::uint32_t fall,
                       Duration flap_window, TimePoint now);

    Grade grade() const noexcept { return grade_; }
    bool down() const noexcept { return grade_ == Grade::critical; }
    const std::string& why() const noexcept { return why_; }
    GradeCause cause() const noexcept { return cause_; }
    std::uint64_t transitions() const noexcept { return transitions_; }
    // Flapping from `max_changes` changes inside the window until a whole window without one.
    bool flapping(TimePoint now) const noexcept { return now < flapping_until_; }
    Grade flap_worst() const noexcept { return flap_worst_; }

private:
    void record_change(Grade from, Duration flap_window, TimePoint now);

    Grade grade_ = Grade::ok;
    std::string why_;
    GradeCause cause_ = GradeCause::none;

    // The run of consecutive results on one side of grade_.
    std::uint32_t run_ = 0;
    bool run_worse_ = false;
    Grade run_grade_ = Grade::ok;
    std::string run_why_;
    GradeCause run_cause_ = GradeCause::none;

    std::uint64_t transitions_ = 0;
    // Ring of the latest max_changes change times, allocated at the first change: most targets
    // never change grade, and a fleet of 100,000 would hold 5 MB of empty rings.
    std::uint32_t max_changes_ = 0;
    std::vector<TimePoint> changes_;
    std::size_t next_change_ = 0;
    std::size_t recorded_ = 0;
    TimePoint flapping_until_{};
    Grade flap_worst_ = Grade::ok;
};

enum class GroupKind : std::uint8_t { configured, zone, nlb_address };

// A group's state at the last evaluation, for the status page and metrics.
struct GroupState {
    GroupKind kind = GroupKind::configured;
    std::string name;  // group name, zone, or "nlb/address"
    std::uint32_t members = 0;
    std::uint32_t up = 0;
    std::uint32_t down = 0;
    Grade grade = Grade::ok;
};

class Rollup {
public:
    // Keeps a reference: the configuration outlives the roll-up (a reload builds a new one).
    explicit Rollup(const AlertingConfig& alerting);

    // A reload: groups are rebuilt from `alerting`; per-target grades and flapping history stay.
    // Call set_targets() next, with targets that point into the new configuration.
    void reconfigure(const AlertingConfig& alerting);

    // Replaces the target set; state is kept for ids that stay (ids are stable per identity).
    void set_targets(std::span<const RollupTarget> targets);
    // Silences from state_dir: same shape as maintenance windows, flagged as silenced.
    void set_silences(std::vector<MaintenanceWindow> silences);

    // The per-probe hot path: indexed by id, no look-ups by name.
    Transition observe(std::uint32_t id, const ProbeResult& result, TimePoint now);

    // Every alarm that should be firing at `now`, with dependencies applied; updates groups().
    std::vector<AlarmCondition> evaluate(TimePoint now);

    const TargetGrader* grader(std::uint32_t id) const;
    const std::vector<GroupState>& groups() const noexcept { return states_; }

private:
    struct Slot {
        bool present = false;
        RollupTarget target;
        TargetGrader grader;
        std::uint32_t zone = none;         // index into groups_, implicit zone group
        std::uint32_t nlb_address = none;  // index into groups_, implicit NLB address group
        bool capped = false;  // in a quorum group: the group pages, the target alarm is a warning
        std::vector<std::uint32_t> maintenance;  // indices into alerting.maintenance
        std::vector<std::uint32_t> silences;     // indices into silences_
        // No alarm keys kept: they are built from the identity for the few targets that alarm.
    };
    // A group member: a node or an NLB address, and its targets in the group.
    struct Member {
        std::string name;
        std::vector<std::uint32_t> targets;
    };
    struct Group {
        GroupKind kind = GroupKind::configured;
        std::string name;
        const GroupConfig* config = nullptr;
        std::vector<Member> members;
        std::string key;
        AlarmLabels labels;
    };
    // Flags of a group alarm from its down targets.
    struct Flags {
        bool suppressed = true;
        bool silenced = true;
        bool maintenance = true;
        std::uint32_t down_targets = 0;
    };

    static constexpr std::uint32_t none = UINT32_MAX;

    void configure_groups();
    Flags flags_of(const Group& group, TimePoint now) const;
    bool in_maintenance(const Slot& slot, TimePoint now) const;
    bool silenced(const Slot& slot, TimePoint now) const;
    bool explained(const Slot& slot) const;
    void target_conditions(const Slot& slot, TimePoint now, std::vector<AlarmCondition>& out) const;
    void group_condition(std::size_t index, TimePoint now, std::vector<AlarmCondition>& out);

    const AlertingConfig* alerting_;
    std::vector<MaintenanceWindow> silences_;
    std::vector<Slot> slots_;  // by target id
    std::vector<Group> groups_;
    std::vector<GroupState> states_;  // parallel to groups_
    std::vector<bool> group_down_;    // implicit groups whose every target is down
};

}  // namespace tierwatch

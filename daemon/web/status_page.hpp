// The NOC status page, rendered server-side as one self-contained HTML document: the zones × roles
// grid, one row per NLB address, the firing alarms worst first, the targets not ok, and a
// drill-down per target. Pure: it renders from a snapshot (status_routes fills it from the
// running engine), so tests need no sockets and no clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/alarms/alarms.hpp"
#include "daemon/alarms/grading.hpp"
#include "daemon/alarms/rollup.hpp"
#include "daemon/scheduling/targets.hpp"

namespace tierwatch {

// `text` made safe for HTML element content and quoted attribute values. Node names, details
// and summaries come from servers and configuration files: everything shown goes through this.
std::string html_escape(std::string_view text);
void append_html_escaped(std::string& out, std::string_view text);

// The targets of one grid cell or NLB address. A target without a graded result yet is pending.
struct GridCell {
    std::uint32_t total = 0;
    std::uint32_t up = 0;  // graded ok or warning (not down)
    std::uint32_t warning = 0;
    std::uint32_t critical = 0;
    std::uint32_t pending = 0;
    std::uint32_t flapping = 0;

    // nullopt: pending.
    void add(std::optional<Grade> grade, bool is_flapping);
    bool empty() const noexcept { return total == 0; }
    // The worst grade of the graded targets; nullopt when none is graded yet.
    std::optional<Grade> worst() const noexcept;
};

// Zones × roles from the node targets and one row per NLB address. Rows and columns keep the
// order they were first declared in (configuration order), so a refresh never reshuffles them.
class StatusGrid {
public:
    struct NlbRow {
        std::string nlb;
        std::string address;  // empty: the name does not resolve
        GridCell cell;
        std::vector<std::string>
            failing_checks;  // checks with a target not ok, in first-seen order
    };

    void declare_zone(std::string_view zone);
    void declare_role(std::string_view role);
    void add_node_target(std::string_view zone, std::string_view role, std::optional<Grade> grade,
                         bool flapping);
    void add_nlb_target(std::string_view nlb, std::string_view address, std::string_view check,
                        std::optional<Grade> grade, bool flapping);

    const std::vector<std::string>& zones() const noexcept { return zones_; }
    const std::vector<std::string>& roles() const noexcept { return roles_; }
    const GridCell& cell(std::size_t zone, std::size_t role) const {
        return cells_[zone * roles_.size() + role];
    }
    const std::vector<NlbRow>& nlb_rows() const noexcept { return nlb_rows_; }
    // Every target added, by grade.
    const GridCell& totals() const noexcept { return totals_; }

private:
    std::size_t index_of(std::vector<std::string>& names,
                         std::map<std::string, std::size_t, std::less<>>& index,
                         std::string_view name, bool is_zone);

    std::vector<std::string> zones_;
    std::vector<std::string> roles_;
    std::map<std::string, std::size_t, std::less<>> zone_index_;
    std::map<std::string, std::size_t, std::less<>> role_index_;
    std::vector<GridCell> cells_;  // zones_ × roles_, row-major
    std::vector<NlbRow> nlb_rows_;
    std::map<std::string, std::size_t, std::less<>> nlb_index_;  // "nlb\0address"
    std::string nlb_key_;                                        // reused for look-ups
    GridCell totals_;
};

// Why a firing alarm pages or does not.
enum class AlarmState : std::uint8_t { paging, suppressed, silenced, maintenance };
std::string_view to_string(AlarmState state) noexcept;
AlarmState alarm_state(const AlarmCondition& condition) noexcept;

// Worst first: critical before warning, paging before held back, higher tier, longer firing, key.
bool alarm_worse(const Alarm& a, const Alarm& b) noexcept;
// The `limit` worst alarms of `alarms`, worst first.
std::vector<const Alarm*> worst_alarms(const std::unordered_map<std::string, Alarm>& alarms,
                                       std::size_t limit);

// A target that is not ok, for the page's list (links to its drill-down).
struct TargetRow {
    std::uint32_t id = 0;
    std::string check;
    std::string target;   // the `target` label
    std::string subject;  // node name, or "nlb NAME"
    std::string zone;
    std::string role;
    Grade grade = Grade::ok;
    bool flapping = false;
    std::string why;
};

// A target whose prober reports labelled state measurements (a mail domain's records), for the
// page's panel of them: one row per target, each labelled value as "label" and its grade.
struct StateRow {
    std::uint32_t id = 0;
    std::string check;
    std::string target;  // the `target` label (a mail domain's name)
    std::vector<std::pair<std::string, Grade>> states;
};

struct StatusSnapshot {
    TimePoint now;
    std::string version;
    std::size_t targets = 0;
    StatusGrid grid;
    std::vector<const Alarm*> alarms;  // worst first, bounded
    // Parallel to alarms (or shorter): the target whose drill-down an alarm links to.
    std::vector<std::optional<std::uint32_t>> alarm_targets;
    std::size_t alarms_total = 0;     // all firing, shown or not
    std::vector<TargetRow> problems;  // worst first, bounded
    std::size_t problems_total = 0;
    std::vector<StateRow> state_rows;  // in target order, bounded; no panel when empty
    int refresh_seconds = 10;
};

std::string render_status_page(const StatusSnapshot& snapshot);

// The drill-down of one target. `grader` may be null (not graded yet).
std::string render_target_page(const Target& target, const TargetGrader* grader, TimePoint now,
                               std::string_view version, int refresh_seconds = 10);

// "404" page in the same style, for an unknown target id.
std::string render_not_found_page(std::string_view what, TimePoint now, std::string_view version);

// "45s", "12m3s", "3h5m", "2d4h": precise where it matters, short where it does not.
std::string format_age(std::chrono::seconds age);

}  // namespace tierwatch

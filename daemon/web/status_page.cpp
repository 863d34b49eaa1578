// The NOC status page: aggregation for the grid, alarm order, and the HTML (see status_page.hpp).
// Every dynamic string reaches the document through append_html_escaped; only literals and
// numbers are written raw.
#include "daemon/web/status_page.hpp"
#include "daemon/clock/rfc3339.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>


namespace tierwatch {

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_html_escaped(out, text);
    return out;
}

void append_html_escaped(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            // NUL is not allowed in HTML text; other controls are shown by the browser as is.
            case '\0':
                out += "\xEF\xBF\xBD";
                break;
            default:
                out += c;
        }
    }
}

// ---- aggregation ------------------------------------------------------------------------------

void GridCell::add(std::optional<Grade> grade, bool is_flapping) {
    ++total;
    if (is_flapping) ++flapping;
    if (!grade) {
        ++pending;
        return;
    }
    if (*grade != Grade::critical) ++up;
    if (*grade == Grade::warning) ++warning;
    if (*grade == Grade::critical) ++critical;
}

std::optional<Grade> GridCell::worst() const noexcept {
    if (critical > 0) return Grade::critical;
    if (warning > 0) return Grade::warning;
    if (total > pending) return Grade::ok;
    return std::nullopt;
}

std::size_t StatusGrid::index_of(std::vector<std::string>& names,
                                 std::map<std::string, std::size_t, std::less<>>& index,
                                 std::string_view name, bool is_zone) {
    if (const auto it = index.find(name); it != index.end()) return it->second;
    const std::size_t at = names.size();
    // Grow the row-major cell matrix: a new zone appends a row, a new role widens every row.
    std::vector<GridCell> grown((zones_.size() + (is_zone ? 1 : 0)) *
                                (roles_.size() + (is_zone ? 0 : 1)));
    const std::size_t new_width = roles_.size() + (is_zone ? 0 : 1);
    for (std::size_t z = 0; z < zones_.size(); ++z) {
        for (std::size_t r = 0; r < roles_.size(); ++r)
            grown[z * new_width + r] = cells_[z * roles_.size() + r];
    }
    cells_ = std::move(grown);
    names.emplace_back(name);
    index.emplace(std::string(name), at);
    return at;
}

void StatusGrid::declare_zone(std::string_view zone) {
    index_of(zones_, zone_index_, zone, true);
}
void StatusGrid::declare_role(std::string_view role) {
    index_of(roles_, role_index_, role, false);
}

void StatusGrid::add_node_target(std::string_view zone, std::string_view role,
                                 std::optional<Grade> grade, bool flapping) {
    const std::size_t z = index_of(zones_, zone_index_, zone, true);
    const std::size_t r = index_of(roles_, role_index_, role, false);
    cells_[z * roles_.size() + r].add(grade, flapping);
    totals_.add(grade, flapping);
}

void StatusGrid::add_nlb_target(std::string_view nlb, std::string_view address,
                                std::string_view check, std::optional<Grade> grade, bool flapping) {
    nlb_key_.assign(nlb);
    nlb_key_ += '\0';
    nlb_key_ += address;
    auto it = nlb_index_.find(nlb_key_);
    if (it == nlb_index_.end()) {
        it = nlb_index_.emplace(nlb_key_, nlb_rows_.size()).first;
        nlb_rows_.push_back({std::string(nlb), std::string(address), {}, {}});
    }
    NlbRow& row = nlb_rows_[it->second];
    row.cell.add(grade, flapping);
    totals_.add(grade, flapping);
    if (grade && *grade != Grade::ok &&
        std::find(row.failing_checks.begin(), row.failing_checks.end(), check) ==
            row.failing_checks.end()) {
        row.failing_checks.emplace_back(check);
    }
}

std::string_view to_string(AlarmState state) noexcept {
    switch (state) {
        case AlarmState::paging:
            return "paging";
        case AlarmState::suppressed:
            return "suppressed";
        case AlarmState::silenced:
            return "silenced";
        case AlarmState::maintenance:
            return "maintenance";
    }
    return "unknown";
}

AlarmState alarm_state(const AlarmCondition& condition) noexcept {
    // Same precedence as the tierwatch_alarms metric's `state` label.
    if (condition.suppressed) return AlarmState::suppressed;
    if (condition.silenced) return AlarmState::silenced;
    if (condition.maintenance) return AlarmState::maintenance;
    return AlarmState::paging;
}

bool alarm_worse(const Alarm& a, const Alarm& b) noexcept {
    const auto rank = [](const Alarm& alarm) {
        return std::tuple{static_cast<int>(alarm.condition.severity), alarm.condition.pageable(),
                          alarm.tier};
    };
    if (rank(a) != rank(b)) return rank(a) > rank(b);
    if (a.started != b.started) return a.started < b.started;
    return a.condition.key < b.condition.key;
}

std::vector<const Alarm*> worst_alarms(const std::unordered_map<std::string, Alarm>& alarms,
                                       std::size_t limit) {
    std::vector<const Alarm*> all;
    all.reserve(alarms.size());
    for (const auto& [key, alarm] : alarms) all.push_back(&alarm);
    const auto worse = [](const Alarm* a, const Alarm* b) { return alarm_worse(*a, *b); };
    const std::size_t shown = std::min(limit, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(shown), all.end(),
                      worse);
    all.resize(shown);
    return all;
}

std::string format_age(std::chrono::seconds age) {
    using namespace std::chrono;
    if (age < seconds::zero()) age = seconds::zero();
    if (age >= days(1)) return format_duration(duration_cast<Duration>(floor<hours>(age)));
    if (age >= hours(1)) return format_duration(duration_cast<Duration>(floor<minutes>(age)));
    return format_duration(duration_cast<Duration>(age));
}

// ---- HTML -------------------------------------------------------------------------------------

namespace {

// Colour is never the only cue: each grade also has a shape and a word.
struct Look {
    std::string_view css;
    std::string_view mark;
    std::string_view word;
};

Look look_of(std::optional<Grade> grade) {
    if (!grade) return {"pending", "\u2026", "PENDING"};
    switch (*grade) {
        case Grade::ok:
            return {"ok", "\u2713", "OK"};
        case Grade::warning:
            return {"warning", "\u25B2", "WARN"};
        case Grade::critical:
            return {"critical", "\u2716", "CRIT"};
    }
    return {"pending", "?", "?"};
}

constexpr std::string_view stylesheet = R"css(
:root{color-scheme:dark}
*{box-sizing:border-box}
body{margin:0;background:#0b0d10;color:#f4f4f4;font:clamp(15px,0.9vw + 9px,30px)/1.35 "DejaVu Sans",system-ui,sans-serif}
a{color:#8cc8ff}
header{display:flex;flex-wrap:wrap;gap:.3em 1.5em;align-items:baseline;padding:.5em 1em;background:#1a1d23;border-bottom:2px solid #3a3f47}
header h1{font-size:1.35em;margin:0}
header .meta{color:#c8c8c8}
main{padding:0 1em 2em}
h2{font-size:1.15em;margin:1.1em 0 .4em;border-bottom:1px solid #3a3f47}
.banner{margin:.6em 0;padding:.45em .8em;font-size:1.5em;font-weight:bold;border-radius:.2em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:.35em .55em;text-align:left;vertical-align:top;border-bottom:1px solid #2c3038}
th{color:#c8c8c8;font-weight:normal}
table.grid td.cell{text-align:center;font-weight:bold;border:3px solid #0b0d10;min-width:4.5em}
table.grid th{white-space:nowrap}
table.grid th[scope=row]{font-weight:bold;color:#f4f4f4}
.ok{background:#1d6b35;color:#fff}
.warning{background:#ffc400;color:#000}
.critical{background:#c4161c;color:#fff}
td.cell.critical,.banner.critical{background:repeating-linear-gradient(135deg,#c4161c 0 14px,#9e0f14 14px 28px)}
.pending{background:#4a505a;color:#fff}
.empty{color:#777;text-align:center}
.badge{display:inline-block;padding:0 .35em;border-radius:.2em;font-weight:bold;white-space:nowrap}
.state-paging{border:2px solid #fff}
.state-suppressed,.state-silenced,.state-maintenance{background:#30343b;color:#d8d8d8;border:2px dashed #8a8f98}
.count{display:block;font-weight:normal;font-size:.85em}
.sub{font-size:.8em}
.nowrap{white-space:nowrap}
tr.alarm a{color:inherit;text-decoration:none}
tr.alarm a:hover,tr.alarm a:focus{text-decoration:underline}
.dim{color:#a8a8a8}
.bar{display:inline-block;height:.8em;background:#8cc8ff;vertical-align:middle}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.92em;word-break:break-all}
table.facts th{width:11em}
@media (min-width:1500px){
  .columns{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 1.5em;align-items:start}
}
@media (max-width:720px){
  table.grid td.cell{min-width:0}
  th,td{padding:.3em .3em}
  body{font-size:16px}
  header{padding:.4em .6em} main{padding:0 .5em 1em}
  table.list thead{display:none}
  table.list tr{display:block;border-bottom:2px solid #3a3f47;padding:.3em 0}
  table.list td{display:block;border:0;padding:.1em .3em}
  table.list td[data-label]::before{content:attr(data-label) ": ";color:#a8a8a8}
}
)css";

void open_page(std::string& out, std::string_view title, TimePoint now, std::string_view version,
               int refresh_seconds) {
    out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
    out += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
    if (refresh_seconds > 0) {
        out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
    }
    out += "<title>";
    append_html_escaped(out, title);
    out += "</title><style>";
    out += stylesheet;
    out += "</style></head><body><header><h1>";
    append_html_escaped(out, title);
    // "2026-11-23T02:39:47.287Z" for machines, "2026-11-23 02:39:47 UTC" for people.
    const std::string stamp = format_rfc3339(now);
    out += "</h1><span class=\"meta\">updated <time datetime=\"" + stamp + "\">" +
           stamp.substr(0, 10) + " " + stamp.substr(11, 8) + " UTC</time>";
    if (refresh_seconds > 0)
        out += " \u00B7 refreshes every " + std::to_string(refresh_seconds) + " s";
    out += "</span><span class=\"meta\">tierwatch ";
    append_html_escaped(out, version);
    out += "</span></header><main>";
}

// The bell for an alarm someone was paged for; a firing one that paged nobody (still settling,
// or its tier has no receivers) says so, so the NOC never reads "paging" when no one was called;
// a pause sign and the reason for one held back.
std::string state_mark(const Alarm& alarm, AlarmState state) {
    switch (state) {
        case AlarmState::paging:
            return alarm.notified.empty() ? std::string("\u25CF NOT PAGED")
                                          : "\u260E PAGED " + std::to_string(alarm.notified.size());
        case AlarmState::suppressed:
            return "\u2298 SUPPRESSED";
        case AlarmState::silenced:
            return "\u2298 SILENCED";
        case AlarmState::maintenance:
            return "\u2298 MAINTENANCE";
    }
    return "?";
}

void close_page(std::string& out) {
    out += "</main></body></html>\n";
}

void grade_badge(std::string& out, std::optional<Grade> grade) {
    const Look look = look_of(grade);
    out += "<span class=\"badge ";
    out += look.css;
    out += "\">";
    out += look.mark;
    out += ' ';
    out += look.word;
    out += "</span>";
}

void cell_html(std::string& out, const GridCell& cell, std::string_view data_attributes) {
    if (cell.empty()) {
        out += "<td class=\"empty\">\u2014</td>";
        return;
    }
    const Look look = look_of(cell.worst());
    out += "<td class=\"cell ";
    out += look.css;
    out += "\" data-grade=\"";
    out += look.css;
    out += "\"";
    out += data_attributes;
    out += '>';
    out += look.mark;
    out += ' ';
    out += look.word;
    out += "<span class=\"count\">" + std::to_string(cell.up) + "/" + std::to_string(cell.total) +
           " up";
    if (cell.warning > 0) out += ", " + std::to_string(cell.warning) + " warn";
    if (cell.pending > 0) out += ", " + std::to_string(cell.pending) + " pending";
    if (cell.flapping > 0) out += ", " + std::to_string(cell.flapping) + " flapping";
    out += "</span></td>";
}

std::string attribute(std::string_view name, std::string_view value) {
    std::string out = " ";
    out += name;
    out += "=\"";
    append_html_escaped(out, value);
    out += '"';
    return out;
}

void banner(std::string& out, const StatusSnapshot& s) {
    const auto paged = std::count_if(s.alarms.begin(), s.alarms.end(), [](const Alarm* alarm) {
        return alarm->condition.pageable() && !alarm->notified.empty();
    });
    const GridCell& totals = s.grid.totals();
    std::optional<Grade> worst = totals.worst();
    out += "<div class=\"banner ";
    out += look_of(worst).css;
    out += "\" id=\"overall\">";
    out += look_of(worst).mark;
    out += ' ';
    if (!worst) {
        out += "Waiting for the first results";
    } else {
        out += look_of(worst).word;
        if (*worst == Grade::ok && s.alarms_total == 0) {
            out += " \u00B7 all " + std::to_string(totals.total) + " targets OK";
        } else {
            out += " \u00B7 " + std::to_string(s.alarms_total) + " alarms firing (" +
                   std::to_string(paged) + " paged" +
                   (s.alarms.size() < s.alarms_total ? " among the worst shown" : "") +
                   ") \u00B7 " + std::to_string(totals.critical) + " of " +
                   std::to_string(totals.total) + " targets critical";
            if (totals.warning > 0) out += ", " + std::to_string(totals.warning) + " warning";
        }
    }
    out += "</div>";
}

void grid_html(std::string& out, const StatusGrid& grid) {
    out += "<h2>Zones \u00D7 roles</h2>";
    if (grid.zones().empty()) {
        out += "<p class=\"dim\">No node targets.</p>";
        return;
    }
    out += "<div class=\"scroll\"><table class=\"grid\" id=\"grid\"><thead><tr><th>zone</th>";
    for (const auto& role : grid.roles()) {
        out += "<th scope=\"col\">";
        append_html_escaped(out, role);
        out += "</th>";
    }
    out += "</tr></thead><tbody>";
    for (std::size_t z = 0; z < grid.zones().size(); ++z) {
        out += "<tr><th scope=\"row\">";
        append_html_escaped(out, grid.zones()[z]);
        out += "</th>";
        for (std::size_t r = 0; r < grid.roles().size(); ++r) {
            cell_html(
                out, grid.cell(z, r),
                attribute("data-zone", grid.zones()[z]) + attribute("data-role", grid.roles()[r]));
        }
        out += "</tr>";
    }
    out += "</tbody></table></div>";
}

void nlb_html(std::string& out, const StatusGrid& grid) {
    if (grid.nlb_rows().empty()) return;
    out +=
        "<h2>Load balancer addresses</h2><table class=\"grid list\" "
        "id=\"nlbs\"><thead><tr><th>NLB</th>"
        "<th>address</th><th>state</th><th>checks not OK</th></tr></thead><tbody>";
    for (const auto& row : grid.nlb_rows()) {
        out += "<tr><th scope=\"row\" data-label=\"NLB\">";
        append_html_escaped(out, row.nlb);
        out += "</th><td data-label=\"address\">";
        if (row.address.empty()) {
            out += "<span class=\"dim\">does not resolve</span>";
        } else {
            append_html_escaped(out, row.address);
        }
        out += "</td>";
        cell_html(out, row.cell,
                  attribute("data-nlb", row.nlb) + attribute("data-address", row.address));
        out += "<td data-label=\"not OK\">";
        for (std::size_t i = 0; i < row.failing_checks.size(); ++i) {
            if (i > 0) out += ", ";
            append_html_escaped(out, row.failing_checks[i]);
        }
        if (row.failing_checks.empty()) out += "<span class=\"dim\">none</span>";
        out += "</td></tr>";
    }
    out += "</tbody></table>";
}

void labels_html(std::string& out, const AlarmLabels& labels) {
    bool first = true;
    labels.for_each([&](std::string_view name, const std::string& value) {
        out += first ? "" : " \u00B7 ";
        first = false;
        out += "<span class=\"dim\">";
        out += name;
        out += "</span> ";
        append_html_escaped(out, value);
    });
}

void alarms_html(std::string& out, const StatusSnapshot& s) {
    out += "<h2>Alarms firing (" + std::to_string(s.alarms_total) + ")</h2>";
    if (s.alarms_total == 0) {
        out += "<p id=\"alarms\" class=\"dim\">No alarm is firing.</p>";
        return;
    }
    out +=
        "<table class=\"list\" id=\"alarms\"><thead><tr><th>severity</th><th>state</th>"
        "<th>age</th><th>alarm</th></tr></thead><tbody>";
    for (std::size_t i = 0; i < s.alarms.size(); ++i) {
        const Alarm* alarm = s.alarms[i];
        const auto& c = alarm->condition;
        const auto state = alarm_state(c);
        // The opening tag of the link to the alarm's target, or nothing.
        std::string link;
        if (i < s.alarm_targets.size() && s.alarm_targets[i].has_value()) {
            link = "<a href=\"/status/target/" + std::to_string(s.alarm_targets[i].value()) + "\">";
        }
        out += "<tr class=\"alarm\"" + attribute("data-key", c.key) + " data-state=\"";
        out += to_string(state);
        out += "\" data-severity=\"";
        out += to_string(c.severity);
        out += "\"><td data-label=\"severity\" class=\"nowrap\">";
        grade_badge(out, c.severity);
        out += " T" + std::to_string(alarm->tier);
        if (alarm->escalated) out += " <span class=\"badge state-paging\">\u2191 escalated</span>";
        out += "</td><td data-label=\"state\"><span class=\"badge state-";
        out += to_string(state);
        out += "\">";
        out += state_mark(*alarm, state);
        out += "</span></td><td data-label=\"age\">";
        out += format_age(std::chrono::duration_cast<std::chrono::seconds>(s.now - alarm->started));
        out += "</td><td data-label=\"alarm\"><strong>";
        out += link;
        append_html_escaped(out, c.summary);
        if (!link.empty()) out += "</a>";
        out += "</strong><br><span class=\"sub\"><span class=\"dim\">";
        out += to_string(c.kind);
        if (c.cause != GradeCause::none) {
            out += " \u00B7 ";
            out += to_string(c.cause);
        }
        out += "</span> ";
        labels_html(out, c.labels);
        out += "</span></td></tr>";
    }
    out += "</tbody></table>";
    if (s.alarms.size() < s.alarms_total) {
        out += "<p class=\"dim\">and " + std::to_string(s.alarms_total - s.alarms.size()) +
               " more, less severe (all in <a href=\"/api/v1/alarms\">/api/v1/alarms</a>)</p>";
    }
}

void problems_html(std::string& out, const StatusSnapshot& s) {
    out += "<h2>Targets not OK (" + std::to_string(s.problems_total) + ")</h2>";
    if (s.problems.empty()) {
        out += "<p class=\"dim\">Every graded target is OK.</p>";
        return;
    }
    out +=
        "<table class=\"list\" "
        "id=\"problems\"><thead><tr><th>grade</th><th>check</th><th>where</th>"
        "<th>target</th><th>why</th></tr></thead><tbody>";
    for (const auto& row : s.problems) {
        out += "<tr><td data-label=\"grade\">";
        grade_badge(out, row.grade);
        if (row.flapping) out += " <span class=\"badge pending\">\u21C5 flapping</span>";
        out += "</td><td data-label=\"check\"><a href=\"/status/target/" + std::to_string(row.id) +
               "\">";
        append_html_escaped(out, row.check);
        out += "</a></td><td data-label=\"where\">";
        append_html_escaped(out, row.subject);
        if (!row.zone.empty()) {
            out += " <span class=\"dim\">";
            append_html_escaped(out, row.role);
            out += " \u00B7 ";
            append_html_escaped(out, row.zone);
            out += "</span>";
        }
        out += "</td><td data-label=\"target\"><code>";
        append_html_escaped(out, row.target);
        out += "</code></td><td data-label=\"why\">";
        append_html_escaped(out, row.why);
        out += "</td></tr>";
    }
    out += "</tbody></table>";
    if (s.problems.size() < s.problems_total) {
        out += "<p class=\"dim\">and " + std::to_string(s.problems_total - s.problems.size()) +
               " more (all in <a href=\"/api/v1/targets\">/api/v1/targets</a>)</p>";
    }
}

// Records x state: the labelled state measurements of each target that has them.
void states_html(std::string& out, const StatusSnapshot& s) {
    if (s.state_rows.empty()) return;
    out += "<h2>Record states</h2><table class=\"list\" id=\"states\"><thead><tr><th>check</th>"
           "<th>target</th><th>states</th></tr></thead><tbody>";
    for (const auto& row : s.state_rows) {
        out += "<tr><td data-label=\"check\"><a href=\"/status/target/" + std::to_string(row.id) + "\">";
        append_html_escaped(out, row.check);
        out += "</a></td><td data-label=\"target\"><code>";
        append_html_escaped(out, row.target);
        out += "</code></td><td data-label=\"states\">";
        for (const auto& [label, grade] : row.states) {
            out += "<span class=\"state\">";
            append_html_escaped(out, label);
            out += ' ';
            grade_badge(out, grade);
            out += "</span> ";
        }
        out += "</td></tr>";
    }
    out += "</tbody></table>";
}

std::string milliseconds_text(std::chrono::nanoseconds d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f ms",
                  std::chrono::duration<double, std::milli>(d).count());
    return text;
}

void row(std::string& out, std::string_view name, std::string_view escaped_value) {
    out += "<tr><th scope=\"row\">";
    out += name;
    out += "</th><td>";
    out += escaped_value;
    out += "</td></tr>";
}

void text_row(std::string& out, std::string_view name, std::string_view value) {
    row(out, name, html_escape(value));
}

}  // namespace

std::string render_status_page(const StatusSnapshot& snapshot) {
    std::string out;
    out.reserve(64 * 1024);
    open_page(out, "tierwatch status", snapshot.now, snapshot.version, snapshot.refresh_seconds);
    banner(out, snapshot);
    // Side by side on a wall screen (the alarms above the fold), one column on anything smaller.
    out += "<div class=\"columns\"><section>";
    grid_html(out, snapshot.grid);
    nlb_html(out, snapshot.grid);
    out += "</section><section>";
    alarms_html(out, snapshot);
    problems_html(out, snapshot);
    states_html(out, snapshot);
    out += "</section></div>";
    out +=
        "<p class=\"dim\">JSON: <a href=\"/api/v1/targets\">targets</a> \u00B7 <a "
        "href=\"/api/v1/alarms\">"
        "alarms</a> \u00B7 <a href=\"/api/v1/groups\">groups</a> \u00B7 <a "
        "href=\"/metrics\">metrics</a></p>";
    close_page(out);
    return out;
}

std::string render_target_page(const Target& target, const TargetGrader* grader, TimePoint now,
                               std::string_view version, int refresh_seconds) {
    const Check& check = *target.spec.check;
    const ProbeResult& last = target.last;
    std::string out;
    out.reserve(16 * 1024);
    std::string title = check.name + " \u00B7 " + target.label;
    open_page(out, title, now, version, refresh_seconds);
    out += "<p><a href=\"/status\">\u2190 status</a></p>";

    const std::optional<Grade> grade =
        grader && target.has_result ? std::optional<Grade>(grader->grade()) : std::nullopt;
    out += "<div class=\"banner ";
    out += look_of(grade).css;
    out += "\" id=\"grade\">";
    out += look_of(grade).mark;
    out += ' ';
    out += look_of(grade).word;
    if (grader && !grader->why().empty()) {
        out += " \u00B7 ";
        append_html_escaped(out, grader->why());
    }
    out += "</div><h2>Target</h2><table class=\"list facts\" id=\"facts\"><tbody>";
    text_row(out, "check", check.name);
    text_row(out, "protocol", to_string(check.protocol));
    row(out, "target", "<code>" + html_escape(target.label) + "</code>");
    if (target.spec.node) {
        text_row(out, "node", target.spec.node->name);
        text_row(out, "role", target.spec.node->role);
        text_row(out, "zone", target.spec.node->zone);
    } else {
        text_row(out, "NLB", target.spec.nlb->name);
        text_row(out, "address",
                 target.spec.dns_error.empty() ? target.spec.address.to_string()
                                               : "does not resolve: " + target.spec.dns_error);
    }
    if (!target.server_name().empty()) text_row(out, "server name", target.server_name());
    if (grader && grader->flapping(now))
        row(out, "flapping", "<span class=\"badge pending\">\u21C5 yes</span>");
    row(out, "probes",
        std::to_string(target.probes) + " (" + std::to_string(target.failures) + " failed)");
    out += "</tbody></table>";

    out += "<h2>Last result</h2>";
    if (!target.has_result) {
        out += "<p class=\"dim\" id=\"last\">No result yet.</p>";
    } else {
        out += "<table class=\"list facts\" id=\"last\"><tbody>";
        row(out, "result",
            last.ok() ? std::string("<span class=\"badge ok\">\u2713 ok</span>")
                      : "<span class=\"badge critical\">\u2716 " +
                            std::string(to_string(last.reason)) + "</span>");
        if (!last.detail.empty()) text_row(out, "detail", last.detail);
        if (target.history.size() > 0) {
            text_row(out, "when", format_rfc3339(target.history.newest(0).at()));
        }
        text_row(out, "duration", milliseconds_text(last.total));
        for (const auto& m : last.measurements) {
            if (m.kind->page_row.empty()) continue;
            std::string name(m.kind->page_row);
            if (!m.kind->label.empty()) name += " " + html_escape(m.label);  // row names are written raw
            text_row(out, name, format_measurement(m));
        }
        out += "</tbody></table>";

        out += "<h2>Phases</h2><table class=\"list facts\" id=\"phases\"><tbody>";
        const double total_ms =
            std::max(1e-6, std::chrono::duration<double, std::milli>(last.total).count());
        for (std::size_t p = 0; p < phase_count; ++p) {
            const auto phase = static_cast<Phase>(p);
            const auto d = last.phase(phase);
            if (d.count() == 0) continue;
            const double share = std::clamp(
                std::chrono::duration<double, std::milli>(d).count() / total_ms, 0.0, 1.0);
            char bar[96];
            std::snprintf(bar, sizeof bar, "<span class=\"bar\" style=\"width:%.1f%%\"></span> ",
                          share * 60);
            row(out, to_string(phase), bar + milliseconds_text(d));
        }
        out += "</tbody></table>";

        if (last.certificate) {
            const auto& cert = *last.certificate;
            out +=
                "<h2>TLS and certificate</h2><table class=\"list facts\" "
                "id=\"certificate\"><tbody>";
            text_row(out, "TLS version", cert.tls_version);
            if (!cert.cipher.empty()) text_row(out, "cipher", cert.cipher);
            if (cert.earliest_not_after != 0) {
                const auto not_after = TimePoint(std::chrono::seconds(cert.earliest_not_after));
                const auto left = not_after - now;
                const double days_left = std::chrono::duration<double>(left).count() / 86400;
                const std::optional<Grade> expiry = left <= check.cert_critical  ? Grade::critical
                                                    : left <= check.cert_warning ? Grade::warning
                                                                                 : Grade::ok;
                std::string value;
                grade_badge(value, expiry);
                char text[64];
                std::snprintf(text, sizeof text, " %.1f days left \u00B7 ", days_left);
                value += text + format_rfc3339(not_after);
                row(out, "expires", value);
            }
            text_row(out, "subject", cert.subject);
            text_row(out, "issuer", cert.issuer);
            std::string names;
            for (const auto& name : cert.subject_alt_names)
                names += (names.empty() ? "" : ", ") + name;
            if (!names.empty()) text_row(out, "names", names);
            out += "</tbody></table>";
        }
    }

    out += "<h2>History</h2>";
    if (target.history.size() == 0) {
        out += "<p class=\"dim\">No result yet.</p>";
    } else {
        out +=
            "<table class=\"list\" "
            "id=\"history\"><thead><tr><th>when</th><th>result</th><th>duration</th>"
            "</tr></thead><tbody>";
        for (std::size_t i = 0; i < target.history.size(); ++i) {
            const auto& entry = target.history.newest(i);
            out += "<tr><td data-label=\"when\">" + format_rfc3339(entry.at()) +
                   "</td><td data-label=\"result\">";
            out += entry.reason == FailureReason::none
                       ? std::string("<span class=\"badge ok\">\u2713 ok</span>")
                       : "<span class=\"badge critical\">\u2716 " +
                             std::string(to_string(entry.reason)) + "</span>";
            out += "</td><td data-label=\"duration\">" +
                   milliseconds_text(std::chrono::microseconds(entry.duration_us)) + "</td></tr>";
        }
        out += "</tbody></table>";
    }
    out += "<p class=\"dim\">JSON: <a href=\"/api/v1/targets?id=" + std::to_string(target.id) +
           "\">this target</a></p>";
    close_page(out);
    return out;
}

std::string render_not_found_page(std::string_view what, TimePoint now, std::string_view version) {
    std::string out;
    open_page(out, "tierwatch: not found", now, version, 0);
    out += "<p><a href=\"/status\">\u2190 status</a></p><div class=\"banner pending\">";
    append_html_escaped(out, what);
    out += "</div>";
    close_page(out);
    return out;
}

}  // namespace tierwatch

// The NOC page and the read side of the JSON API (see status_routes.hpp).
#include "daemon/web/status_routes.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <unordered_map>

#include "daemon/clock/rfc3339.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/web/result_json.hpp"
#include "daemon/web/status_page.hpp"

namespace tierwatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// Items per slice between yields, each slice a few milliseconds of the event loop: the page
// only counts a target (about 0.5 µs), the API serializes one (about 15 µs).
constexpr std::size_t page_targets_per_slice = 4096;
constexpr std::size_t api_targets_per_slice = 256;
constexpr std::size_t alarms_per_slice = 256;
// The page stays readable (and cheap) in a large outage; the API has the rest.
constexpr std::size_t page_alarm_limit = 500;
constexpr std::size_t page_problem_limit = 200;

std::optional<Grade> graded(const Target& target, const TargetGrader* grader) {
    if (!grader || !target.has_result) return std::nullopt;
    return grader->grade();
}

std::string_view grade_name(std::optional<Grade> grade) {
    return grade ? to_string(*grade) : "pending";
}

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

std::string group_kind_name(GroupKind kind) {
    switch (kind) {
        case GroupKind::configured:
            return "group";
        case GroupKind::zone:
            return "zone";
        case GroupKind::nlb_address:
            return "nlb_address";
    }
    return "unknown";
}

void respond(HttpResponse& response, http::status status, std::string body,
             std::string_view content_type) {
    response.result(status);
    response.set(http::field::content_type, content_type);
    response.set(http::field::cache_control, "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    if (content_type.starts_with("text/html")) {
        // The page needs no script, no fetch and no outside asset: forbid them all, so even an
        // escaping slip could not run anything.
        response.set(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
    }
    response.body() = std::move(body);
}

void respond_json(HttpResponse& response, http::status status, std::string body) {
    respond(response, status, std::move(body), "application/json");
}

void respond_error(HttpResponse& response, http::status status, std::string_view message) {
    respond_json(response, status, json::serialize(json::object{{"error", message}}) + "\n");
}

// "%41b+c" -> "Ab c"; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%') {
            unsigned value = 0;
            if (i + 2 >= text.size()) return std::nullopt;
            const auto [end, error] =
                std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
            if (error != std::errc() || end != text.data() + i + 3) return std::nullopt;
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Builds the page's snapshot over the whole table, yielding between slices.
// The target's labelled state measurements as a row of the page's panel; none, no row.
void add_state_row(const Target& target, std::vector<StateRow>& rows) {
    if (!target.has_result || rows.size() >= page_problem_limit) return;
    StateRow row;
    for (const Measurement& m : target.last.measurements) {
        if (m.kind->unit != MeasurementUnit::state || m.kind->label.empty()) continue;
        row.states.emplace_back(m.label, grade_of_state(m.value));
    }
    if (row.states.empty()) return;
    row.id = target.id;
    row.check = target.spec.check->name;
    row.target = target.label;
    rows.push_back(std::move(row));
}

asio::awaitable<void> collect_snapshot(const Engine& engine, StatusSnapshot& snapshot) {
    const auto executor = co_await asio::this_coro::executor;
    const Config& config = engine.config();
    const TargetTable& table = engine.targets();
    const Rollup& rollup = engine.rollup();
    snapshot.now = std::chrono::system_clock::now();
    snapshot.version = TIERWATCH_VERSION;
    for (const Node& node : config.nodes) {
        snapshot.grid.declare_zone(node.zone);
        snapshot.grid.declare_role(node.role);
    }
    struct Problem {
        std::uint32_t id;
        Grade grade;
        bool flapping;
    };
    std::vector<Problem> problems;
    for (std::uint32_t id = 0; id < table.size(); ++id) {  // size re-read: DNS may add targets
        const Target& target = table.at(id);
        if (target.active) {
            const TargetGrader* grader = rollup.grader(id);
            const auto grade = graded(target, grader);
            const bool flapping = grader && grader->flapping(snapshot.now);
            ++snapshot.targets;
            if (target.spec.node) {
                snapshot.grid.add_node_target(target.spec.node->zone, target.spec.node->role, grade,
                                              flapping);
            } else {
                snapshot.grid.add_nlb_target(
                    target.spec.nlb->name,
                    target.spec.dns_error.empty() ? target.spec.address.to_string() : "",
                    target.spec.check->name, grade, flapping);
            }
            if (grade && (*grade != Grade::ok || flapping))
                problems.push_back({id, *grade, flapping});
            add_state_row(target, snapshot.state_rows);
        }
        if ((id + 1) % page_targets_per_slice == 0)
            co_await asio::post(executor, asio::use_awaitable);
    }

    // From here on no yield: the alarm pointers and graders stay valid while the page is built.
    snapshot.alarms_total = engine.alarms().alarms().size();
    snapshot.alarms = worst_alarms(engine.alarms().alarms(), page_alarm_limit);
    // Target and flapping alarms link to their target: only targets not OK can have one.
    std::unordered_map<std::string_view, std::uint32_t> by_identity;
    for (const Problem& problem : problems)
        by_identity.emplace(table.at(problem.id).spec.identity, problem.id);
    for (const Alarm* alarm : snapshot.alarms) {
        std::optional<std::uint32_t> id;
        if (const auto it = by_identity.find(alarm->condition.target); it != by_identity.end())
            id = it->second;
        snapshot.alarm_targets.push_back(id);
    }
    snapshot.problems_total = problems.size();
    const std::size_t shown = std::min(problems.size(), page_problem_limit);
    std::partial_sort(
        problems.begin(), problems.begin() + static_cast<std::ptrdiff_t>(shown), problems.end(),
        [](const Problem& a, const Problem& b) {
            return std::tuple{a.grade, a.flapping, b.id} > std::tuple{b.grade, b.flapping, a.id};
        });
    for (std::size_t i = 0; i < shown; ++i) {
        if (problems[i].id >= table.size()) continue;
        const Target& target = table.at(problems[i].id);
        const TargetGrader* grader = rollup.grader(target.id);
        TargetRow row;
        row.id = target.id;
        row.check = target.spec.check->name;
        row.target = target.label;
        if (target.spec.node) {
            row.subject = target.spec.node->name;
            row.zone = target.spec.node->zone;
            row.role = target.spec.node->role;
        } else {
            row.subject = "nlb " + target.spec.nlb->name;
        }
        row.grade = grader ? grader->grade() : problems[i].grade;
        row.flapping = problems[i].flapping;
        row.why = grader ? grader->why() : std::string();
        snapshot.problems.push_back(std::move(row));
    }
}

asio::awaitable<void> serve_status(const Engine& engine, HttpResponse& response) {
    StatusSnapshot snapshot;
    co_await collect_snapshot(engine, snapshot);
    respond(response, http::status::ok, render_status_page(snapshot), "text/html; charset=utf-8");
}

void serve_target_page(const Engine& engine, std::string_view id_text, HttpResponse& response) {
    const auto now = std::chrono::system_clock::now();
    std::uint32_t id = 0;
    const auto [end, error] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    const bool parsed =
        error == std::errc() && end == id_text.data() + id_text.size() && !id_text.empty();
    if (!parsed || id >= engine.targets().size() || !engine.targets().at(id).active) {
        respond(response, http::status::not_found,
                render_not_found_page(
                    "No target " + std::string(id_text) + " (it may have left with a DNS change).",
                    now, TIERWATCH_VERSION),
                "text/html; charset=utf-8");
        return;
    }
    respond(response, http::status::ok,
            render_target_page(engine.targets().at(id), engine.rollup().grader(id), now,
                               TIERWATCH_VERSION),
            "text/html; charset=utf-8");
}

asio::awaitable<void> serve_targets(const Engine& engine, std::string_view query,
                                    HttpResponse& response) {
    const auto filter = parse_target_filter(query);
    if (!filter) {
        respond_error(response, http::status::bad_request, filter.error());
        co_return;
    }
    const auto executor = co_await asio::this_coro::executor;
    const auto now = std::chrono::system_clock::now();
    const TargetTable& table = engine.targets();
    std::string body;
    // A target is about 0.5-1 kB: growing a 50 MB string by doubling would copy it all again.
    body.reserve(filter->id ? 4096 : table.active_count() * 768);
    body += "{\"generated\":\"" + format_rfc3339(now) + "\",\"targets\":[";
    std::size_t count = 0;
    for (std::uint32_t id = 0; id < table.size(); ++id) {
        const Target& target = table.at(id);
        if (target.active) {
            const TargetGrader* grader = engine.rollup().grader(id);
            if (filter->matches(target, grade_name(graded(target, grader)))) {
                if (count++ > 0) body += ',';
                body += json::serialize(target_json(target, grader, now));
            }
        }
        if ((id + 1) % api_targets_per_slice == 0)
            co_await asio::post(executor, asio::use_awaitable);
    }
    body += "],\"count\":" + std::to_string(count) + "}\n";
    respond_json(response, http::status::ok, std::move(body));
}

asio::awaitable<void> serve_alarms(const Engine& engine, HttpResponse& response) {
    const auto executor = co_await asio::this_coro::executor;
    const auto now = std::chrono::system_clock::now();
    // Keys, not pointers: the alarm book may change while this yields.
    std::vector<std::string> keys;
    for (const Alarm* alarm : worst_alarms(engine.alarms().alarms(), SIZE_MAX))
        keys.push_back(alarm->condition.key);
    std::string body = "{\"generated\":\"" + format_rfc3339(now) + "\",\"alarms\":[";
    std::size_t count = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (const Alarm* alarm = engine.alarms().find(keys[i])) {
            if (count++ > 0) body += ',';
            body += json::serialize(alarm_json(*alarm, now));
        }
        if ((i + 1) % alarms_per_slice == 0) co_await asio::post(executor, asio::use_awaitable);
    }
    body += "],\"count\":" + std::to_string(count) + "}\n";
    respond_json(response, http::status::ok, std::move(body));
}

void serve_groups(const Engine& engine, HttpResponse& response) {
    json::array groups;
    for (const GroupState& group : engine.rollup().groups()) groups.emplace_back(group_json(group));
    json::object document{{"generated", format_rfc3339(std::chrono::system_clock::now())},
                          {"count", groups.size()},
                          {"groups", std::move(groups)}};
    respond_json(response, http::status::ok, json::serialize(document) + "\n");
}

}  // namespace

json::object target_json(const Target& target, const TargetGrader* grader, TimePoint now) {
    const Check& check = *target.spec.check;
    json::object out{{"id", target.id},
                     {"check", check.name},
                     {"protocol", to_string(check.protocol)},
                     {"target", target.label}};
    append_placement_json(out, target.spec);
    if (!target.spec.node) {
        if (target.spec.dns_error.empty()) {
            out["address"] = target.spec.address.to_string();
        } else {
            out["dns_error"] = target.spec.dns_error;
        }
    }
    out["grade"] = grade_name(graded(target, grader));
    out["why"] = grader ? grader->why() : "";
    out["flapping"] = grader && grader->flapping(now);
    out["probes"] = target.probes;
    out["failures"] = target.failures;
    if (!target.has_result) {
        out["last"] = nullptr;
    } else {
        json::object last;
        if (target.history.size() > 0) last["at"] = format_rfc3339(target.history.newest(0).at());
        append_result_json(last, target.last);
        if (target.last.certificate && target.last.certificate->earliest_not_after != 0) {
            const auto not_after =
                TimePoint(std::chrono::seconds(target.last.certificate->earliest_not_after));
            auto& tls = last["tls"].as_object();
            tls["not_after"] = format_rfc3339(not_after);
            tls["days_left"] = seconds(not_after - now) / 86400;
        }
        out["last"] = std::move(last);
    }
    json::array history;
    for (std::size_t i = 0; i < target.history.size(); ++i) {
        const auto& entry = target.history.newest(i);
        history.emplace_back(json::object{
            {"at", format_rfc3339(entry.at())},
            {"result", entry.reason == FailureReason::none ? "ok" : to_string(entry.reason)},
            {"duration_seconds", static_cast<double>(entry.duration_us) / 1e6}});
    }
    out["history"] = std::move(history);
    return out;
}

json::object alarm_json(const Alarm& alarm, TimePoint now) {
    const auto& c = alarm.condition;
    json::object labels;
    c.labels.for_each(
        [&](std::string_view name, const std::string& value) { labels[name] = value; });
    json::array notified;
    for (const auto& receiver : alarm.notified) notified.emplace_back(receiver);
    json::object out{
        {"key", c.key},
        {"kind", to_string(c.kind)},
        {"severity", to_string(c.severity)},
        {"tier", alarm.tier},
        {"summary", c.summary},
        {"cause", to_string(c.cause)},
        {"labels", std::move(labels)},
        {"started", format_rfc3339(alarm.started)},
        {"age_seconds",
         std::chrono::duration_cast<std::chrono::seconds>(now - alarm.started).count()},
        {"state", to_string(alarm_state(c))},
        {"escalated", alarm.escalated},
        {"notified", std::move(notified)}};
    if (alarm.critical_since) out["critical_since"] = format_rfc3339(*alarm.critical_since);
    return out;
}

json::object group_json(const GroupState& group) {
    return json::object{{"name", group.name},       {"kind", group_kind_name(group.kind)},
                        {"members", group.members}, {"up", group.up},
                        {"down", group.down},       {"grade", to_string(group.grade)}};
}

bool TargetFilter::matches(const Target& target, std::string_view target_grade) const {
    if (id && *id != target.id) return false;
    if (!check.empty() && check != target.spec.check->name) return false;
    if (!zone.empty() || !role.empty()) {
        if (!target.spec.node) return false;
        if (!zone.empty() && zone != target.spec.node->zone) return false;
        if (!role.empty() && role != target.spec.node->role) return false;
    }
    if (!nlb.empty() && (!target.spec.nlb || nlb != target.spec.nlb->name)) return false;
    return grade.empty() || grade == target_grade;
}

Expected<TargetFilter> parse_target_filter(std::string_view query) {
    TargetFilter filter;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!value) {
            return unexpected("query parameter '" + std::string(key) + "': malformed %-escape");
        }
        if (key == "zone") {
            filter.zone = *value;
        } else if (key == "role") {
            filter.role = *value;
        } else if (key == "check") {
            filter.check = *value;
        } else if (key == "nlb") {
            filter.nlb = *value;
        } else if (key == "grade") {
            if (*value != "ok" && *value != "warning" && *value != "critical" &&
                *value != "pending") {
                return unexpected("query parameter 'grade': '" + *value +
                        "' is not ok, warning, critical or pending");
            }
            filter.grade = *value;
        } else if (key == "id") {
            std::uint32_t id = 0;
            const auto [end, parse_error] =
                std::from_chars(value->data(), value->data() + value->size(), id);
            if (parse_error != std::errc() || end != value->data() + value->size() ||
                value->empty()) {
                return unexpected("query parameter 'id': '" + *value + "' is not a target id");
            }
            filter.id = id;
        } else {
            return unexpected("unknown query parameter '" + std::string(key) +
                    "' (use id, zone, role, check, nlb, grade)");
        }
    }
    return filter;
}

asio::awaitable<bool> serve_status_routes(const Engine& engine, const HttpRequest& request,
                                          HttpResponse& response) {
    const std::string_view target = request.target();
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? "" : target.substr(question + 1);
    constexpr std::string_view target_prefix = "/status/target/";
    const bool ours = path == "/status" || path == "/status/" || path.starts_with(target_prefix) ||
                      path == "/api/v1/targets" || path == "/api/v1/alarms" ||
                      path == "/api/v1/groups";
    if (!ours) co_return false;
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
        respond(response, http::status::method_not_allowed, "use GET\n",
                "text/plain; charset=utf-8");
        response.set(http::field::allow, "GET, HEAD");
        co_return true;
    }
    if (path == "/status" || path == "/status/") {
        co_await serve_status(engine, response);
    } else if (path.starts_with(target_prefix)) {
        serve_target_page(engine, path.substr(target_prefix.size()), response);
    } else if (path == "/api/v1/targets") {
        co_await serve_targets(engine, query, response);
    } else if (path == "/api/v1/alarms") {
        co_await serve_alarms(engine, response);
    } else {
        serve_groups(engine, response);
    }
    co_return true;
}

}  // namespace tierwatch

// --once: resolve, probe every target once under the configured limits, print, grade.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "daemon/cli/commands.hpp"
#include "daemon/scheduling/dns_resolver.hpp"
#include "daemon/alarms/grading.hpp"
#include "daemon/web/result_json.hpp"
#include "daemon/scheduling/scheduler.hpp"
#include "daemon/scheduling/probe_target.hpp"
#include "daemon/scheduling/targets.hpp"
#include "probes/net/probe.hpp"
#include "probes/net/tls_context.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

struct OnceRow {
    const Target* target;
    Graded graded;
};

asio::awaitable<void> resolve_names(DnsResolver& resolver, const Config& config, ResolvedNames& out) {
    for (const auto& name : names_to_resolve(config)) {
        auto answer = co_await resolver.resolve(name);
        out[name] = Resolution{std::move(answer.addresses), std::move(answer.error)};
    }
}

std::string format_expiry(const ProbeResult& result) {
    if (!result.certificate || result.certificate->earliest_not_after == 0) return "-";
    const std::time_t when = result.certificate->earliest_not_after;
    std::tm tm{};
    gmtime_r(&when, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
    const auto days = (when - std::time(nullptr)) / 86400;
    return std::string(text) + " (" + std::to_string(days) + "d)";
}

std::string where(const Target& target) {
    return target.spec.node ? target.spec.node->name : "nlb " + target.spec.nlb->name;
}

std::string milliseconds(const ProbeResult& result) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f",
                  std::chrono::duration<double, std::milli>(result.total).count());
    return text;
}

void print_table(const std::vector<OnceRow>& rows) {
    std::vector<std::array<std::string, 7>> cells;
    cells.push_back({"TARGET", "CHECK", "NODE/NLB", "GRADE", "MS", "TLS EXPIRY", "REASON"});
    for (const auto& row : rows) {
        const auto& result = row.target->last;
        cells.push_back({row.target->label, row.target->spec.check->name, where(*row.target),
                         std::string(to_string(row.graded.grade)), milliseconds(result),
                         format_expiry(result), row.graded.why.empty() ? "ok" : row.graded.why});
    }
    std::array<std::size_t, 7> widths{};
    for (const auto& line : cells) {
        for (std::size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
    }
    for (const auto& line : cells) {
        std::string text;
        for (std::size_t i = 0; i < line.size(); ++i) {
            text += line[i];
            if (i + 1 < line.size()) text += std::string(widths[i] - line[i].size() + 2, ' ');
        }
        std::cout << text << '\n';
    }
}

void print_json(const std::vector<OnceRow>& rows, Grade worst) {
    boost::json::array targets;
    for (const auto& row : rows) {
        const Target& target = *row.target;
        const ProbeResult& result = target.last;
        boost::json::object entry{
            {"target", target.label},
            {"check", target.spec.check->name},
            {"protocol", to_string(target.spec.check->protocol)},
            {"grade", to_string(row.graded.grade)},
            {"why", row.graded.why},
        };
        append_result_json(entry, result);
        append_placement_json(entry, target.spec);
        targets.emplace_back(std::move(entry));
    }
    boost::json::object document{{"grade", to_string(worst)}, {"targets", std::move(targets)}};
    std::cout << boost::json::serialize(document) << '\n';
}

}  // namespace

int run_once(std::shared_ptr<const Config> config, bool json) {
    raise_file_limit();
    asio::io_context io(1);
    TlsContextCache tls_contexts;
    ProbeContext context{io.get_executor(), &tls_contexts, config->daemon.nameservers};
    DnsResolver resolver(io.get_executor(), config->daemon.nameservers);
    ResolvedNames resolved;
    asio::co_spawn(io, resolve_names(resolver, *config, resolved), asio::detached);
    io.run();
    io.restart();

    TargetTable table;
    table.sync(expand_targets(*config, resolved));

    // The scheduler's limiter, with every target due at once: the same global and per-host
    // limits as the daemon, so --once never hammers a server the daemon would spare.
    Scheduler limiter({config->daemon.max_in_flight, config->daemon.per_host_max_in_flight}, 0);
    const SteadyTime epoch{};
    for (std::uint32_t id = 0; id < table.size(); ++id) {
        limiter.add(id, table.at(id).host, std::chrono::hours(24), 0, epoch);
    }
    std::vector<Scheduler::Launch> launches;
    std::function<void()> launch_all;
    launch_all = [&] {
        std::vector<Scheduler::Launch> now_launching;
        now_launching.swap(launches);
        for (const auto& launch : now_launching) {
            asio::co_spawn(io, [&, id = launch.target]() -> asio::awaitable<void> {
                Target& target = table.at(id);
                target.last = co_await probe_target(
                    target.spec, probe_request(*target.spec.check, target.spec.address, target.server_name()),
                    context);
                target.has_result = true;
                limiter.complete(id, epoch + std::chrono::seconds(2), launches);
                launch_all();
            }, asio::detached);
        }
    };
    limiter.advance(epoch + std::chrono::seconds(2), launches);
    launch_all();
    io.run();

    std::vector<OnceRow> rows;
    Grade worst = Grade::ok;
    const auto now = std::chrono::system_clock::now();
    table.for_each_active([&](const Target& target) {
        auto graded = grade_result(target.last, *target.spec.check, now);
        worst = std::max(worst, graded.grade);
        rows.push_back({&target, std::move(graded)});
    });
    std::sort(rows.begin(), rows.end(), [](const OnceRow& a, const OnceRow& b) {
        return std::tie(a.target->spec.check->name, a.target->label) <
               std::tie(b.target->spec.check->name, b.target->label);
    });
    if (json) {
        print_json(rows, worst);
    } else {
        print_table(rows);
    }
    return static_cast<int>(worst);
}

}  // namespace tierwatch

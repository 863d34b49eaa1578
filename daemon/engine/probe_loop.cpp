// ProbeLoop: DNS refresh, the scheduling loop, probe launches and result recording.
#include "daemon/engine/probe_loop.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "daemon/scheduling/probe_target.hpp"
#include "probes/net/use_tuple.hpp"

namespace tierwatch {

namespace asio = boost::asio;

namespace {

// One wake-up launches every probe due within this window (up to this much before its slot):
// at thousands of probes a second, waking for each one re-armed the event loop's timer twice
// per probe. Ten milliseconds early is nothing beside an interval of a second or more.
constexpr SteadyDuration launch_window = std::chrono::milliseconds(10);

std::string join_addresses(const std::vector<asio::ip::address>& addresses) {
    std::string text;
    for (const auto& address : addresses) {
        if (!text.empty()) text += ", ";
        text += address.to_string();
    }
    return text.empty() ? "none" : text;
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

ProbeCounts zero_counts(std::size_t checks) {
    return {std::vector<std::array<std::uint64_t, failure_reason_count>>(checks),
            std::vector<std::uint64_t>(checks)};
}

}  // namespace

ProbeLoop::ProbeLoop(asio::any_io_executor executor, std::shared_ptr<const Config> config,
                     Rollup& rollup, metrics::Registry& registry)
    : executor_(executor),
      config_(std::move(config)),
      rollup_(rollup),
      probe_context_{executor, &tls_contexts_, config_->daemon.nameservers},
      resolver_(executor, config_->daemon.nameservers),
      scheduler_({config_->daemon.max_in_flight, config_->daemon.per_host_max_in_flight}),
      wake_(executor),
      dns_timer_(executor),
      scheduler_lag_(registry
                         .histogram("tierwatch_scheduler_lag_seconds",
                                    "Delay from a target's due time to its probe's start, "
                                    "queueing behind in-flight limits included.",
                                    std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5, 1, 2.5, 5, 10, 30})
                         .with({})),
      dns_failures_(registry.counter("tierwatch_dns_failures_total",
                                     "Resolutions of an NLB or node name that failed.", {"name"})),
      counts_(zero_counts(config_->checks.size())) {}

void ProbeLoop::start() {
    asio::co_spawn(executor_, dns_loop(), asio::detached);
    asio::co_spawn(executor_, schedule_loop(), asio::detached);
}

void ProbeLoop::stop() {
    stopping_ = true;
    wake_.cancel();
    dns_timer_.cancel();
}

ProbeLoop::Change ProbeLoop::reconfigure(std::shared_ptr<const Config> next) {
    ProbeCounts counts = zero_counts(next->checks.size());
    for (std::size_t c = 0; c < next->checks.size(); ++c) {
        for (std::size_t old = 0; old < config_->checks.size(); ++old) {
            if (config_->checks[old].name != next->checks[c].name) continue;
            counts.by_result[c] = counts_.by_result[old];
            counts.tls_resumed[c] = counts_.tls_resumed[old];
        }
    }
    std::map<std::uint32_t, Duration> intervals;
    table_.for_each_active([&](const Target& t) { intervals[t.id] = t.spec.check->interval; });
    // Probes in flight keep the previous configuration alive (run_target holds it).
    config_ = std::move(next);
    counts_ = std::move(counts);

    const auto change = table_.sync(expand_targets(*config_, resolved_));
    const auto now = std::chrono::steady_clock::now();
    for (const auto id : change.removed) scheduler_.remove(id);
    std::vector<std::uint32_t> rescheduled = change.added;
    for (const auto& [id, interval] : intervals) {
        const Target& target = table_.at(id);
        if (target.active && target.spec.check->interval != interval) {
            scheduler_.remove(id);
            rescheduled.push_back(id);
        }
    }
    for (const auto id : rescheduled) {
        const Target& target = table_.at(id);
        scheduler_.add(id, target.host, target.spec.check->interval,
                       stable_hash(target.spec.identity), now);
    }
    sync_rollup();
    wake_.cancel();
    dns_timer_.cancel();  // new names resolve now, not at the next refresh
    return {change.added.size(), change.removed.size()};
}

asio::awaitable<void> ProbeLoop::dns_loop() {
    while (!stopping_) {
        co_await resolve_all();
        if (!ready_) {
            ready_ = true;
            spdlog::info("probing {} targets of {} checks", table_.active_count(),
                         config_->checks.size());
        }
        dns_timer_.expires_after(config_->daemon.dns_refresh);
        co_await dns_timer_.async_wait(use_tuple);
    }
}

asio::awaitable<void> ProbeLoop::resolve_all() {
    // Rebuilding the table walks every target (100,000 identity strings hashed, on the event loop):
    // only when a resolution changed, or to build it the first time.
    bool changed = !ready_;
    for (const auto& name : names_to_resolve(*config_)) {
        auto answer = co_await resolver_.resolve(name);
        if (stopping_) co_return;
        Resolution resolution{std::move(answer.addresses), std::move(answer.error)};
        auto& previous = resolved_[name];
        if (!resolution.error.empty()) {
            dns_failures_.with({name}).inc();
            if (previous.error != resolution.error) {
                spdlog::warn("{} does not resolve: {}", name, resolution.error);
            }
        } else if (previous.addresses != resolution.addresses) {
            spdlog::info("{} resolves to {}{}", name, join_addresses(resolution.addresses),
                         previous.addresses.empty() ? ""
                                                    : " (was " + join_addresses(previous.addresses) + ")");
        }
        if (previous.addresses != resolution.addresses || previous.error != resolution.error) {
            changed = true;
        }
        previous = std::move(resolution);
    }
    if (!changed) co_return;

    const auto change = table_.sync(expand_targets(*config_, resolved_));
    const auto now = std::chrono::steady_clock::now();
    for (const auto id : change.removed) scheduler_.remove(id);
    for (const auto id : change.added) {
        const Target& target = table_.at(id);
        scheduler_.add(id, target.host, target.spec.check->interval,
                       stable_hash(target.spec.identity), now);
    }
    if (!change.added.empty() || !change.removed.empty()) {
        sync_rollup();
        wake_.cancel();
    }
}

asio::awaitable<void> ProbeLoop::schedule_loop() {
    while (!stopping_) {
        const auto due = scheduler_.next_due();
        wake_.expires_at(due ? *due : SteadyTime::max());
        co_await wake_.async_wait(use_tuple);
        if (stopping_) break;
        scheduler_.advance(std::chrono::steady_clock::now(), launches_, launch_window);
        launch_pending();
    }
}

void ProbeLoop::launch_pending() {
    // co_spawn may run a coroutine inline up to its first suspension, and that coroutine may
    // finish and launch again: work on a private copy so nothing is launched twice.
    std::vector<Scheduler::Launch> launching;
    launching.swap(launches_);
    for (const auto& launch : launching) {
        scheduler_lag_.observe(seconds(launch.lag));
        asio::co_spawn(executor_, run_target(launch.target), asio::detached);
    }
    launching.clear();
    if (launches_.empty()) launches_.swap(launching);  // reuse the capacity
}

asio::awaitable<void> ProbeLoop::run_target(std::uint32_t id) {
    Target& target = table_.at(id);
    // A reload may swap the configuration while this probe runs: keep the one it probes with,
    // and record the result only if the target still belongs to the running configuration.
    const auto config_in_use = config_;
    const Check* const probed_check = target.spec.check;
    ProbeResult result = co_await probe_target(
        target.spec,
        probe_request(*probed_check, target.spec.address, target.server_name(), target.tls_session.get()),
        probe_context_);
    if (stopping_) co_return;
    if (target.active && target.spec.check == probed_check) record(target, std::move(result));
    scheduler_.complete(id, std::chrono::steady_clock::now(), launches_);
    launch_pending();
}

void ProbeLoop::record(Target& target, ProbeResult&& result) {
    const bool changed = !target.has_result || target.last.reason != result.reason;
    if (changed && (target.has_result || !result.ok())) {
        // Transitions only: a healthy fleet logs nothing per probe.
        const auto level = result.ok() ? spdlog::level::info : spdlog::level::warn;
        spdlog::log(level, "{} {}: {} -> {}{}{}", target.spec.check->name, target.label,
                    target.has_result ? to_string(target.last.reason) : "unknown",
                    result.ok() ? "ok" : to_string(result.reason), result.detail.empty() ? "" : ": ",
                    result.detail);
    }
    ++target.probes;
    if (!result.ok()) ++target.failures;
    ++counts_.by_result[check_index(target.spec.check)][static_cast<std::size_t>(result.reason)];
    if (target.tls_session && target.tls_session->take_resumption()) {
        ++counts_.tls_resumed[check_index(target.spec.check)];
    }
    const auto now = std::chrono::system_clock::now();
    rollup_.observe(target.id, result, now);
    target.history.push(now, result);
    target.last = std::move(result);
    target.has_result = true;
}

void ProbeLoop::sync_rollup() {
    std::vector<RollupTarget> targets;
    targets.reserve(table_.active_count());
    table_.for_each_active([&](const Target& target) {
        targets.push_back({target.id, target.spec.check, target.spec.node, target.spec.nlb,
                           target.spec.dns_error.empty() ? target.spec.address.to_string() : std::string(),
                           target.spec.identity, target.label});
    });
    rollup_.set_targets(targets);
}

std::size_t ProbeLoop::check_index(const Check* check) const {
    return static_cast<std::size_t>(check - config_->checks.data());
}

}  // namespace tierwatch

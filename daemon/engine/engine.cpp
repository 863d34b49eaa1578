// Engine: DNS refresh, scheduling loop, probe launches, result recording; /metrics from daemon/metrics.
#include "daemon/engine/engine.hpp"
#include "daemon/alarms/alarm_state.hpp"
#include "daemon/clock/rfc3339.hpp"
#include "daemon/paging/pagers.hpp"
#include "daemon/metrics/probe_metrics.hpp"
#include "daemon/scheduling/probe_target.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tierwatch {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string join_addresses(const std::vector<asio::ip::address>& addresses) {
    std::string text;
    for (const auto& address : addresses) {
        if (!text.empty()) text += ", ";
        text += address.to_string();
    }
    return text.empty() ? "none" : text;
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Engine::Engine(asio::any_io_executor executor, std::shared_ptr<const Config> config)
    : executor_(executor),
      config_(std::move(config)),
      probe_context_{executor, &tls_contexts_},
      resolver_(executor, config_->daemon.nameservers),
      scheduler_({config_->daemon.max_in_flight, config_->daemon.per_host_max_in_flight}),
      wake_(executor),
      dns_timer_(executor),
      alarm_timer_(executor),
      scheduler_lag_(registry_
                         .histogram("tierwatch_scheduler_lag_seconds",
                                    "Delay from a target's due time to its probe's start, "
                                    "queueing behind in-flight limits included.",
                                    std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5, 1, 2.5, 5, 10, 30})
                         .with({})),
      dns_failures_(registry_.counter("tierwatch_dns_failures_total",
                                      "Resolutions of an NLB or node name that failed.", {"name"})),
      probe_counts_{std::vector<std::array<std::uint64_t, failure_reason_count>>(config_->checks.size()),
                    std::vector<std::uint64_t>(config_->checks.size())},
      rollup_(*config_->alerting),
      alarm_book_(*config_->alerting),
      silences_(config_->daemon.state_dir / "silences.json"),
      reload_successful_(registry_
                             .gauge("tierwatch_config_last_reload_successful",
                                    "Whether the last configuration reload succeeded (1 at start).")
                             .with({})),
      reload_timestamp_(registry_
                            .gauge("tierwatch_config_last_reload_success_timestamp_seconds",
                                   "When the configuration was last loaded successfully.")
                            .with({})),
      reloads_(registry_.counter("tierwatch_config_reloads_total",
                                 "Configuration reloads (SIGHUP, POST /-/reload), by result.",
                                 {"result"})) {
    registry_.gauge("tierwatch_build_info", "tierwatch's version.", {"version"})
        .with({TIERWATCH_VERSION})
        .set(1);
    reload_successful_.set(1);
    reload_timestamp_.set(std::chrono::duration<double>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
    if (auto error = silences_.load(std::chrono::system_clock::now()); !error.empty()) {
        spdlog::error("silences: {}", error);
    }
    rollup_.set_silences(silences_.windows());
    start_dispatcher();
    restore_alarms();
}

void Engine::restore_alarms() {
    if (!dispatcher_) return;  // with no receivers nobody is owed a resolve
    std::string error;
    auto alarms = load_alarm_state(alarm_state_file(), error);
    if (!error.empty()) spdlog::error("alarm state: {}", error);
    if (alarms.empty()) return;
    // Long enough for every target to be probed `fall` times and an alarm to settle: a restored
    // alarm that is still wrong fires again by then, one that cleared is resolved then.
    // One interval more for the first slot's phase, two seconds for the alarm loop's ticks.
    Duration warm_up{};
    for (const Check& check : config_->checks) {
        warm_up = std::max(warm_up, check.interval * (check.fall + 1) + check.timeout);
    }
    warm_up += config_->alerting->settle + std::chrono::seconds(2);
    spdlog::info("restored {} alarm(s) that receivers were told about; those still clear in {} get their resolve",
                 alarms.size(), format_duration(warm_up));
    alarm_book_.restore(std::move(alarms),
                        std::chrono::system_clock::now() +
                            std::chrono::duration_cast<std::chrono::system_clock::duration>(warm_up));
}

std::filesystem::path Engine::alarm_state_file() const { return config_->daemon.state_dir / "alarms.json"; }

void Engine::start_dispatcher() {
    if (config_->alerting->pagers.empty()) return;
    if (!outbox_) {
        const auto outbox_dir = config_->daemon.state_dir / "outbox";
        std::error_code error;
        std::filesystem::create_directories(outbox_dir, error);
        if (error) {
            throw std::runtime_error("cannot create the page outbox " + outbox_dir.string() + ": " +
                                     error.message());
        }
        outbox_ = std::make_unique<Outbox>(outbox_dir, OutboxLimits{}, registry_);
    }
    DispatcherOptions options;
    options.pager.generator_url = "http://" + config_->daemon.listen + "/status";
    dispatcher_ = std::make_unique<Dispatcher>(executor_, *config_->alerting, *outbox_, registry_,
                                               std::move(options));
}

namespace {

// Settings read once at start; a reload names them rather than half-applying them.
std::vector<std::string> restart_only_changes(const Config& before, const Config& after) {
    std::vector<std::string> changed;
    const auto& a = before.daemon;
    const auto& b = after.daemon;
    if (a.listen != b.listen) changed.emplace_back("listen");
    if (a.state_dir != b.state_dir) changed.emplace_back("state_dir");
    if (a.nameservers != b.nameservers) changed.emplace_back("nameservers");
    if (a.max_in_flight != b.max_in_flight) changed.emplace_back("max_in_flight");
    if (a.per_host_max_in_flight != b.per_host_max_in_flight) changed.emplace_back("per_host_max_in_flight");
    return changed;
}

bool same_pagers(const AlertingConfig& a, const AlertingConfig& b) {
    if (a.pagers.size() != b.pagers.size()) return false;
    for (std::size_t i = 0; i < a.pagers.size(); ++i) {
        if (a.pagers[i].table != b.pagers[i].table) return false;
    }
    return true;
}

}  // namespace

std::string Engine::reload(const std::function<std::shared_ptr<const Config>()>& load) {
    std::shared_ptr<const Config> next;
    try {
        next = load();
        apply(next);
    } catch (const std::exception& error) {
        reload_successful_.set(0);
        reloads_.with({"failure"}).inc();
        spdlog::error("reload failed, still running the previous configuration: {}", error.what());
        return error.what();
    }
    reload_successful_.set(1);
    reload_timestamp_.set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    reloads_.with({"success"}).inc();
    return {};
}

void Engine::apply(std::shared_ptr<const Config> next) {
    const auto restart_only = restart_only_changes(*config_, *next);
    // Pagers are rebuilt first: it re-reads their secret files, the one step that may fail.
    std::unique_ptr<Dispatcher> next_dispatcher;
    const bool pagers_changed = !same_pagers(*config_->alerting, *next->alerting);
    if (pagers_changed && !next->alerting->pagers.empty()) {
        if (!outbox_) {
            throw std::runtime_error("[[pager]]s added: the outbox is set up at start, restart tierwatchd");
        }
        DispatcherOptions options;
        options.pager.generator_url = "http://" + config_->daemon.listen + "/status";
        next_dispatcher = std::make_unique<Dispatcher>(executor_, *next->alerting, *outbox_, registry_,
                                                       std::move(options));
    }

    // Nothing below throws: the swap is whole.
    ProbeCounts counts{std::vector<std::array<std::uint64_t, failure_reason_count>>(next->checks.size()),
                       std::vector<std::uint64_t>(next->checks.size())};
    for (std::size_t c = 0; c < next->checks.size(); ++c) {
        for (std::size_t old = 0; old < config_->checks.size(); ++old) {
            if (config_->checks[old].name != next->checks[c].name) continue;
            counts.by_result[c] = probe_counts_.by_result[old];
            counts.tls_resumed[c] = probe_counts_.tls_resumed[old];
        }
    }
    std::map<std::uint32_t, Duration> intervals;
    table_.for_each_active([&](const Target& t) { intervals[t.id] = t.spec.check->interval; });

    // Probes in flight hold the previous configuration (run_target keeps a reference); a scrape
    // or status page rendering in slices may still read it, so it stays a while longer.
    const auto steady_now = std::chrono::steady_clock::now();
    std::erase_if(retired_configs_, [&](const auto& retired) {
        return steady_now - retired.first > std::chrono::minutes(10);
    });
    retired_configs_.emplace_back(steady_now, std::move(config_));
    config_ = std::move(next);
    probe_counts_ = std::move(counts);
    rollup_.reconfigure(*config_->alerting);
    alarm_book_.reconfigure(*config_->alerting);
    if (pagers_changed && dispatcher_) {
        dispatcher_->stop();
        retired_dispatchers_.push_back(std::move(dispatcher_));
    }
    if (next_dispatcher) {
        dispatcher_ = std::move(next_dispatcher);
        dispatcher_->start();
    }

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
    spdlog::info("configuration reloaded from {}: {} targets of {} checks ({} added, {} removed){}",
                 config_->file.string(), table_.active_count(), config_->checks.size(),
                 change.added.size(), change.removed.size(),
                 restart_only.empty() ? "" : "; takes effect at restart: " + [&] {
                     std::string names;
                     for (const auto& name : restart_only) names += (names.empty() ? "" : ", ") + name;
                     return names;
                 }());
}

std::string Engine::add_silence(Silence silence) {
    const auto now = std::chrono::system_clock::now();
    std::error_code error;
    std::filesystem::create_directories(silences_.file().parent_path(), error);
    if (error) return "cannot create " + silences_.file().parent_path().string() + ": " + error.message();
    auto failure = silences_.add(std::move(silence), now);
    if (!failure.empty()) return failure;
    const Silence& added = silences_.silences().back();
    spdlog::info("silence {} added by {} until {}: {}", added.id, added.author,
                 format_rfc3339(added.end), added.comment);
    rollup_.set_silences(silences_.windows());
    return {};
}

std::optional<std::string> Engine::expire_silence(std::string_view id) {
    auto result = silences_.expire(id, std::chrono::system_clock::now());
    if (result && result->empty()) {
        spdlog::info("silence {} expired", id);
        rollup_.set_silences(silences_.windows());
    }
    return result;
}

Engine::~Engine() = default;

std::size_t Engine::check_index(const Check* check) const {
    return static_cast<std::size_t>(check - config_->checks.data());
}

void Engine::start() {
    if (dispatcher_) dispatcher_->start();
    asio::co_spawn(executor_, dns_loop(), asio::detached);
    asio::co_spawn(executor_, schedule_loop(), asio::detached);
    asio::co_spawn(executor_, alarm_loop(), asio::detached);
}

void Engine::stop() {
    stopping_ = true;
    wake_.cancel();
    dns_timer_.cancel();
    alarm_timer_.cancel();
    if (dispatcher_) dispatcher_->stop();
}

void Engine::sync_rollup() {
    std::vector<RollupTarget> targets;
    targets.reserve(table_.active_count());
    table_.for_each_active([&](const Target& target) {
        targets.push_back({target.id, target.spec.check, target.spec.node, target.spec.nlb,
                           target.spec.dns_error.empty() ? target.spec.address.to_string() : std::string(),
                           target.spec.identity, target.label});
    });
    rollup_.set_targets(targets);
}

asio::awaitable<void> Engine::alarm_loop() {
    while (!stopping_) {
        alarm_timer_.expires_after(std::chrono::seconds(1));
        co_await alarm_timer_.async_wait(use_tuple);
        if (stopping_ || !ready_) continue;
        evaluate_alarms();
    }
}

void Engine::evaluate_alarms() {
    const auto now = std::chrono::system_clock::now();
    auto events = alarm_book_.update(rollup_.evaluate(now), now);
    for (const auto& event : events) {
        // Pages are rare and each matters at 3 a.m.: every one is logged.
        spdlog::log(event.action == PageAction::resolve ? spdlog::level::info : spdlog::level::warn,
                    "page {} to {} (tier {}, {}): {} [{}]", to_string(event.action), event.receiver,
                    event.tier, to_string(event.severity), event.summary, event.dedup_key);
    }
    if (!dispatcher_ || events.empty()) return;
    dispatcher_->submit(std::move(events));
    // After the outbox has the events: a crash in between re-pages under the same dedup key at
    // worst, where saving first could record a trigger that was never queued.
    if (auto error = save_alarm_state(alarm_state_file(), alarm_book_); !error.empty()) {
        if (!alarm_state_error_logged_) spdlog::error("{}", error);
        alarm_state_error_logged_ = true;
    } else {
        alarm_state_error_logged_ = false;
    }
}

asio::awaitable<void> Engine::dns_loop() {
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

asio::awaitable<void> Engine::resolve_all() {
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

asio::awaitable<void> Engine::schedule_loop() {
    while (!stopping_) {
        const auto due = scheduler_.next_due();
        wake_.expires_at(due ? *due : SteadyTime::max());
        co_await wake_.async_wait(use_tuple);
        if (stopping_) break;
        scheduler_.advance(std::chrono::steady_clock::now(), launches_);
        launch_pending();
    }
}

void Engine::launch_pending() {
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

asio::awaitable<void> Engine::run_target(std::uint32_t id) {
    Target& target = table_.at(id);
    // A reload may swap the configuration while this probe runs: keep the one it probes with,
    // and record the result only if the target still belongs to the running configuration.
    const auto config_in_use = config_;
    const Check* const probed_check = target.spec.check;
    ProbeResult result = co_await probe_target(
        target.spec,
        probe_request(*probed_check, target.spec.address, target.server_name, target.tls_session.get()),
        probe_context_);
    if (stopping_) co_return;
    if (target.active && target.spec.check == probed_check) record(target, std::move(result));
    scheduler_.complete(id, std::chrono::steady_clock::now(), launches_);
    launch_pending();
}

void Engine::record(Target& target, ProbeResult&& result) {
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
    ++probe_counts_.by_result[check_index(target.spec.check)][static_cast<std::size_t>(result.reason)];
    if (target.tls_session && target.tls_session->take_resumption()) {
        ++probe_counts_.tls_resumed[check_index(target.spec.check)];
    }
    const auto now = std::chrono::system_clock::now();
    rollup_.observe(target.id, result, now);
    target.history.push(now, result);
    target.last = std::move(result);
    target.has_result = true;
}

asio::awaitable<void> Engine::render_metrics(std::string& out) const {
    // Sized from the previous scrape: growing a 50 MB string by doubling copies tens of MB at once,
    // on the event loop, between two yields.
    const std::size_t start_size = out.size();
    out.reserve(start_size + metrics_size_hint_ + metrics_size_hint_ / 16);
    metrics::TextWriter writer(out);
    write_fleet_metrics(writer, {*config_, table_, rollup_, alarm_book_, silences_, probe_counts_,
                                 scheduler_.stats(), std::chrono::system_clock::now()});
    registry_.render(out);
    // Per-target families last, in slices that yield to the event loop: with 100,000 targets a
    // scrape must not hold every due probe for a second.
    constexpr std::size_t targets_per_slice = 4096;
    ProbeMetricsRenderer targets(table_, rollup_);
    while (targets.render_slice(out, targets_per_slice)) co_await asio::post(executor_, asio::use_awaitable);
    metrics_size_hint_ = out.size() - start_size;
}

}  // namespace tierwatch

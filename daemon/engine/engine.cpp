// Engine: start and stop, reload, the alarm loop and pages, silences; /metrics from daemon/metrics.
#include "daemon/engine/engine.hpp"
#include "daemon/alarms/alarm_state.hpp"
#include "daemon/clock/rfc3339.hpp"
#include "daemon/paging/pagers.hpp"
#include "daemon/metrics/probe_metrics.hpp"
#include "probes/net/use_tuple.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tierwatch {

namespace asio = boost::asio;

Engine::Engine(asio::any_io_executor executor, std::shared_ptr<const Config> config)
    : executor_(executor),
      config_(std::move(config)),
      alarm_timer_(executor),
      rollup_(*config_->alerting),
      probe_loop_(executor, config_, rollup_, registry_),
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
    if (const auto loaded = silences_.load(std::chrono::system_clock::now()); !loaded) {
        spdlog::error("silences: {}", loaded.error());
    }
    rollup_.set_silences(silences_.windows());
    start_dispatcher();
    restore_alarms();
}

void Engine::restore_alarms() {
    if (!dispatcher_) return;  // with no receivers nobody is owed a resolve
    auto loaded = load_alarm_state(alarm_state_file());
    if (!loaded) spdlog::error("alarm state: {}", loaded.error());
    if (!loaded || loaded->empty()) return;
    std::vector<Alarm> alarms = std::move(loaded).value();
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
        if (!a.pagers[i].same_settings(b.pagers[i])) return false;
    }
    return true;
}

}  // namespace

Expected<> Engine::reload(const std::function<std::shared_ptr<const Config>()>& load) {
    std::shared_ptr<const Config> next;
    try {
        next = load();
        apply(next);
    } catch (const std::exception& error) {
        reload_successful_.set(0);
        reloads_.with({"failure"}).inc();
        spdlog::error("reload failed, still running the previous configuration: {}", error.what());
        return unexpected(error.what());
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
    // Probes in flight hold the previous configuration (run_target keeps a reference); a scrape
    // or status page rendering in slices may still read it, so it stays a while longer.
    const auto steady_now = std::chrono::steady_clock::now();
    std::erase_if(retired_configs_, [&](const auto& retired) {
        return steady_now - retired.first > std::chrono::minutes(10);
    });
    retired_configs_.emplace_back(steady_now, std::move(config_));
    config_ = std::move(next);
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

    const auto change = probe_loop_.reconfigure(config_);
    spdlog::info("configuration reloaded from {}: {} targets of {} checks ({} added, {} removed){}",
                 config_->file.string(), probe_loop_.targets().active_count(), config_->checks.size(),
                 change.added, change.removed,
                 restart_only.empty() ? "" : "; takes effect at restart: " + [&] {
                     std::string names;
                     for (const auto& name : restart_only) names += (names.empty() ? "" : ", ") + name;
                     return names;
                 }());
}

Expected<> Engine::add_silence(Silence silence) {
    const auto now = std::chrono::system_clock::now();
    std::error_code error;
    std::filesystem::create_directories(silences_.file().parent_path(), error);
    if (error)
        return unexpected("cannot create " + silences_.file().parent_path().string() + ": " +
                          error.message());
    if (auto added = silences_.add(std::move(silence), now); !added) return added;
    const Silence& added = silences_.silences().back();
    spdlog::info("silence {} added by {} until {}: {}", added.id, added.author,
                 format_rfc3339(added.end), added.comment);
    rollup_.set_silences(silences_.windows());
    return {};
}

Expected<bool> Engine::expire_silence(std::string_view id) {
    auto expired = silences_.expire(id, std::chrono::system_clock::now());
    if (expired && *expired) {
        spdlog::info("silence {} expired", id);
        rollup_.set_silences(silences_.windows());
    }
    return expired;
}

Engine::~Engine() = default;

void Engine::start() {
    if (dispatcher_) dispatcher_->start();
    probe_loop_.start();
    asio::co_spawn(executor_, alarm_loop(), asio::detached);
}

void Engine::stop() {
    stopping_ = true;
    probe_loop_.stop();
    alarm_timer_.cancel();
    if (dispatcher_) dispatcher_->stop();
}

asio::awaitable<void> Engine::alarm_loop() {
    while (!stopping_) {
        alarm_timer_.expires_after(std::chrono::seconds(1));
        co_await alarm_timer_.async_wait(use_tuple);
        if (stopping_ || !probe_loop_.ready()) continue;
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
    if (const auto saved = save_alarm_state(alarm_state_file(), alarm_book_); !saved) {
        if (!alarm_state_error_logged_) spdlog::error("{}", saved.error());
        alarm_state_error_logged_ = true;
    } else {
        alarm_state_error_logged_ = false;
    }
}

asio::awaitable<void> Engine::render_metrics(std::string& out) const {
    // Sized from the previous scrape: growing a 50 MB string by doubling copies tens of MB at once,
    // on the event loop, between two yields (the first scrape of 100,000 targets held probes for
    // 100 ms so). The first scrape guesses a generous 1 kB per target: pages never written cost
    // address space, not memory.
    const std::size_t start_size = out.size();
    const std::size_t expected = metrics_size_hint_ != 0
                                     ? metrics_size_hint_ + metrics_size_hint_ / 16
                                     : probe_loop_.targets().active_count() * 1024;
    out.reserve(start_size + expected);
    metrics::TextWriter writer(out);
    write_fleet_metrics(writer, {*config_, probe_loop_.targets(), rollup_, alarm_book_, silences_,
                                 probe_loop_.counts(), probe_loop_.scheduler_stats(),
                                 std::chrono::system_clock::now()});
    registry_.render(out);
    // Per-target families last, in slices that yield to the event loop: with 100,000 targets a
    // scrape must not hold every due probe for a second.
    constexpr std::size_t targets_per_slice = 4096;
    ProbeMetricsRenderer targets(probe_loop_.targets(), rollup_);
    while (targets.render_slice(out, targets_per_slice)) co_await asio::post(executor_, asio::use_awaitable);
    metrics_size_hint_ = out.size() - start_size;
}

}  // namespace tierwatch

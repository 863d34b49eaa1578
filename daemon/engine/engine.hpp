// The daemon's engine on one event loop: starts and stops the probe loop, swaps a reloaded
// configuration in whole, turns grades into alarms and pages, keeps silences, and serves /metrics.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/alerting.hpp"
#include "config/config.hpp"
#include "daemon/alarms/alarms.hpp"
#include "daemon/base/expected.hpp"
#include "daemon/paging/dispatcher.hpp"
#include "daemon/paging/outbox.hpp"
#include "daemon/alarms/rollup.hpp"
#include "daemon/metrics/exposition.hpp"
#include "daemon/engine/probe_loop.hpp"
#include "daemon/metrics/probe_metrics.hpp"
#include "daemon/alarms/silences.hpp"
#include "daemon/scheduling/targets.hpp"

namespace tierwatch {

class Engine {
public:
    Engine(boost::asio::any_io_executor executor, std::shared_ptr<const Config> config);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Resolves names, builds the targets and starts probing.
    void start();
    // Stops scheduling and paging; probes still in flight end with the event loop. Pages not yet
    // accepted stay in the outbox for the next start.
    void stop();
    // True once the first resolution has built the target table.
    bool ready() const noexcept { return probe_loop_.ready(); }

    // Appends the Prometheus exposition of every target and daemon metric, yielding to the event
    // loop between slices of targets so probes keep their schedule during a large scrape.
    boost::asio::awaitable<void> render_metrics(std::string& out) const;

    // Loads a new configuration through `load` (which throws on a bad file) and swaps it in at
    // once: targets whose identity stays keep their grade, history and alarms; firing alarms
    // stay. On failure the running configuration stays. Returns the error (empty on success).
    Expected<> reload(const std::function<std::shared_ptr<const Config>()>& load);

    // Silences kept in state_dir; each change is saved before it applies. Errors as text.
    const SilenceStore& silences() const noexcept { return silences_; }
    Expected<> add_silence(Silence silence);
    Expected<bool> expire_silence(std::string_view id);  // false: no silence has that id

    const TargetTable& targets() const noexcept { return probe_loop_.targets(); }
    const Config& config() const noexcept { return *config_; }
    const Scheduler::Stats& scheduler_stats() const noexcept { return probe_loop_.scheduler_stats(); }
    const AlarmBook& alarms() const noexcept { return alarm_book_; }
    // Grades, flapping and groups as of the last evaluation, for the status page and API.
    const Rollup& rollup() const noexcept { return rollup_; }

private:
    // tests/unit/outputs_golden_test.cpp fills the table with fixed results to pin /metrics.
    friend struct EngineTestAccess;

    // Rolls grades up into alarms every second and hands the page events to the dispatcher.
    boost::asio::awaitable<void> alarm_loop();
    void evaluate_alarms();
    void apply(std::shared_ptr<const Config> next);
    void start_dispatcher();
    void restore_alarms();
    std::filesystem::path alarm_state_file() const;

    boost::asio::any_io_executor executor_;
    std::shared_ptr<const Config> config_;
    boost::asio::steady_timer alarm_timer_;
    // Before the probe loop, which registers its families first (the /metrics order).
    metrics::Registry registry_;
    Rollup rollup_;
    ProbeLoop probe_loop_;
    AlarmBook alarm_book_;
    // Only with [[pager]]s: the outbox lives in state_dir, which a probe-only setup may not have.
    std::unique_ptr<Outbox> outbox_;
    std::unique_ptr<Dispatcher> dispatcher_;
    // Dispatchers replaced by a reload: stopped, kept until the loop ends (their coroutines may
    // still be suspended on them).
    std::vector<std::unique_ptr<Dispatcher>> retired_dispatchers_;
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const Config>>>
        retired_configs_;
    SilenceStore silences_;
    bool alarm_state_error_logged_ = false;
    metrics::Gauge& reload_successful_;
    metrics::Gauge& reload_timestamp_;
    metrics::Family<metrics::Counter>& reloads_;
    mutable std::size_t metrics_size_hint_ = 0;  // bytes of the last /metrics, to reserve the next
    bool stopping_ = false;
};

}  // namespace tierwatch

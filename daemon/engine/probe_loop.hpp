// The probe loop: keeps the target table in step with DNS, runs the scheduler's launches as probe
// coroutines on the event loop, and records each result (counts, history, the roll-up's grade).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "daemon/alarms/rollup.hpp"
#include "daemon/metrics/exposition.hpp"
#include "daemon/metrics/probe_metrics.hpp"
#include "daemon/scheduling/dns_resolver.hpp"
#include "daemon/scheduling/scheduler.hpp"
#include "daemon/scheduling/targets.hpp"
#include "probes/net/probe.hpp"
#include "probes/net/tls_context.hpp"

namespace tierwatch {

class ProbeLoop {
public:
    // Registers the scheduler's and DNS's metric families in `registry`; keeps `rollup`, which
    // must outlive it, up to date with the targets and their results.
    ProbeLoop(boost::asio::any_io_executor executor, std::shared_ptr<const Config> config,
              Rollup& rollup, metrics::Registry& registry);
    ProbeLoop(const ProbeLoop&) = delete;
    ProbeLoop& operator=(const ProbeLoop&) = delete;

    // Resolves names, builds the targets and starts probing.
    void start();
    // Stops scheduling; probes in flight end with the event loop and record nothing.
    void stop();
    // True once the first resolution has built the target table.
    bool ready() const noexcept { return ready_; }

    struct Change {
        std::size_t added = 0;
        std::size_t removed = 0;
    };
    // Swaps in `next` (the roll-up already reconfigured): counts kept by check name, targets
    // re-synced, changed intervals rescheduled, names resolved now. Nothing throws.
    Change reconfigure(std::shared_ptr<const Config> next);

    const TargetTable& targets() const noexcept { return table_; }
    const Scheduler::Stats& scheduler_stats() const noexcept { return scheduler_.stats(); }
    const ProbeCounts& counts() const noexcept { return counts_; }

private:
    // tests/unit/outputs_golden_test.cpp fills the table with fixed results to pin /metrics.
    friend struct EngineTestAccess;

    boost::asio::awaitable<void> dns_loop();
    boost::asio::awaitable<void> resolve_all();
    boost::asio::awaitable<void> schedule_loop();
    boost::asio::awaitable<void> run_target(std::uint32_t id);
    void launch_pending();
    void record(Target& target, ProbeResult&& result);
    void sync_rollup();
    std::size_t check_index(const Check* check) const;

    boost::asio::any_io_executor executor_;
    std::shared_ptr<const Config> config_;
    Rollup& rollup_;
    TlsContextCache tls_contexts_;
    ProbeContext probe_context_;
    DnsResolver resolver_;
    ResolvedNames resolved_;
    TargetTable table_;
    Scheduler scheduler_;
    boost::asio::steady_timer wake_;
    boost::asio::steady_timer dns_timer_;
    std::vector<Scheduler::Launch> launches_;
    metrics::Histogram& scheduler_lag_;
    metrics::Family<metrics::Counter>& dns_failures_;
    // By check index and reason: counted without string look-ups on the hot path.
    ProbeCounts counts_;
    bool stopping_ = false;
    bool ready_ = false;
};

}  // namespace tierwatch

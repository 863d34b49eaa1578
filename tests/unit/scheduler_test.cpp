// Scheduler under an injected clock: exact slots, skips, limits, and an hour of 10,000 targets.
#include "daemon/scheduling/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <queue>
#include <random>
#include <string>

namespace tierwatch {
namespace {

using namespace std::chrono_literals;
using Launches = std::vector<Scheduler::Launch>;

SteadyTime at(SteadyDuration d) { return SteadyTime{} + d; }

TEST(Scheduler, FirstSlotKeepsItsPhaseAcrossRestarts) {
    const SteadyDuration interval = 15s;
    const std::uint64_t hash = 7'000'000'000ull;  // 7 s phase in nanoseconds modulo 15 s
    EXPECT_EQ(Scheduler::first_slot(hash, interval, at(100s)), at(112s));
    EXPECT_EQ(Scheduler::first_slot(hash, interval, at(112s)), at(112s));
    EXPECT_EQ(Scheduler::first_slot(hash, interval, at(113s)), at(127s));
}

TEST(Scheduler, RunsEveryIntervalAndSkipsWhileRunning) {
    Scheduler scheduler({10, 10}, 1);
    scheduler.add(0, 0, 10s, 0, at(0s));
    Launches launches;
    ASSERT_TRUE(scheduler.next_due());
    const SteadyTime first = *scheduler.next_due();
    EXPECT_LT(first, at(100ms + 1ns));  // jitter is at most 1% of the interval

    scheduler.advance(first, launches);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(launches[0].lag, 0ns);
    launches.clear();

    // Still running at the next slot: that slot is skipped, not queued.
    scheduler.advance(first + 10s, launches);
    EXPECT_TRUE(launches.empty());
    EXPECT_EQ(scheduler.stats().skipped_slots, 1u);
    scheduler.complete(0, first + 12s, launches);
    EXPECT_TRUE(launches.empty());  // finishing does not replay the skipped slot

    scheduler.advance(first + 20s + 3ms, launches);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(launches[0].lag, 3ms);
}

TEST(Scheduler, StalledLoopCountsEveryMissedSlotOnce) {
    Scheduler scheduler({10, 10}, 1);
    scheduler.add(0, 0, 10s, 0, at(0s));
    const SteadyTime first = *scheduler.next_due();
    Launches launches;
    scheduler.advance(first + 35s, launches);  // slots at +0, +10, +20 passed; +30 is current
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(launches[0].lag, 5s);
    EXPECT_EQ(scheduler.stats().skipped_slots, 3u);
    EXPECT_EQ(*scheduler.next_due(), first + 40s);
}

TEST(Scheduler, EarlyWindowLaunchesSlotsDueWithinItAndKeepsTheirPhase) {
    Scheduler scheduler({10, 10}, 1);
    scheduler.add(0, 0, 10s, 0, at(0s));
    const SteadyTime first = *scheduler.next_due();
    Launches launches;

    scheduler.advance(first - 11ms, launches, 10ms);  // due after the window: not yet
    EXPECT_TRUE(launches.empty());
    scheduler.advance(first - 4ms, launches, 10ms);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(launches[0].lag, 0ns);  // early is no lag
    EXPECT_EQ(*scheduler.next_due(), first + 10s);  // the next slot is the slot's, not the launch's

    // Still running when its next slot comes into the window: that slot is not missed yet.
    launches.clear();
    scheduler.advance(first + 10s - 4ms, launches, 10ms);
    EXPECT_TRUE(launches.empty());
    EXPECT_EQ(scheduler.stats().skipped_slots, 0u);
    EXPECT_EQ(*scheduler.next_due(), first + 10s);
    scheduler.complete(0, first + 10s - 2ms, launches);
    scheduler.advance(first + 10s - 2ms, launches, 10ms);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(scheduler.stats().skipped_slots, 0u);
    EXPECT_EQ(*scheduler.next_due(), first + 20s);
}

TEST(Scheduler, EarlyWindowWiderThanTheIntervalRunsATargetOnceAtATime) {
    Scheduler scheduler({10, 10}, 1);
    scheduler.add(0, 0, 2ms, 0, at(0s));
    const SteadyTime first = *scheduler.next_due();
    Launches launches;
    scheduler.advance(first, launches, 10ms);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(scheduler.stats().skipped_slots, 0u);  // its later slots in the window are not due yet
    EXPECT_EQ(*scheduler.next_due(), first + 2ms);

    // Its first slot taken 8 ms early, four intervals ahead: nothing is behind it.
    Scheduler ahead({10, 10}, 1);
    ahead.add(0, 0, 2ms, 0, at(0s));
    const SteadyTime due = *ahead.next_due();
    Launches early;
    ahead.advance(due - 8ms, early, 10ms);
    ASSERT_EQ(early.size(), 1u);
    EXPECT_EQ(ahead.stats().skipped_slots, 0u);
    EXPECT_EQ(*ahead.next_due(), due + 2ms);
}

TEST(Scheduler, PerHostLimitQueuesInOrderAndNeverDrops) {
    Scheduler scheduler({100, 2}, 1);
    for (Scheduler::TargetId id = 0; id < 5; ++id) scheduler.add(id, 7, 10s, 0, at(0s));
    Launches launches;
    const SteadyTime first = *scheduler.next_due();
    scheduler.advance(first + 200ms, launches);  // every jittered first slot has passed
    ASSERT_EQ(launches.size(), 2u);
    EXPECT_EQ(scheduler.host_in_flight(7), 2u);
    EXPECT_EQ(scheduler.stats().queued, 3u);

    std::vector<Scheduler::TargetId> order;
    for (int round = 0; round < 3; ++round) {
        const auto finished = launches.front().target;
        launches.erase(launches.begin());
        scheduler.complete(finished, first + 1s, launches);
        ASSERT_EQ(launches.size(), 2u);
        order.push_back(launches.back().target);
        EXPECT_GE(launches.back().lag, 800ms);  // the queue wait is lag
    }
    EXPECT_EQ(scheduler.stats().queued, 0u);
    EXPECT_EQ(scheduler.stats().launched, 5u);
}

TEST(Scheduler, RemovedWhileRunningReleasesItsSlotAndNeverRunsAgain) {
    Scheduler scheduler({1, 1}, 1);
    scheduler.add(0, 0, 10s, 0, at(0s));
    scheduler.add(1, 0, 10s, 0, at(0s));
    Launches launches;
    scheduler.advance(at(1s), launches);
    ASSERT_EQ(launches.size(), 1u);
    const auto running = launches[0].target;
    const auto waiting = running == 0 ? 1u : 0u;
    scheduler.remove(running);
    EXPECT_FALSE(scheduler.contains(running));
    launches.clear();
    scheduler.complete(running, at(2s), launches);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(launches[0].target, waiting);
    launches.clear();
    scheduler.complete(waiting, at(3s), launches);
    scheduler.advance(at(60s), launches);
    for (const auto& launch : launches) EXPECT_NE(launch.target, running);
}

// One simulated hour of 10,000 targets on 250 hosts. Probes take random times; eleven targets
// are so slow that their probes outlast the interval and must skip slots.
struct HourOfTargets {
    static constexpr std::uint32_t target_count = 10'000;
    static constexpr std::uint32_t host_count = 250;
    static constexpr SteadyDuration interval = 15s;
    // 997 is prime to the host count, so the slow targets sit on different hosts.
    static bool is_slow(std::uint32_t id) { return id % 997 == 3; }

    std::vector<std::uint32_t> runs = std::vector<std::uint32_t>(target_count, 0);
    std::vector<SteadyTime> first_slot = std::vector<SteadyTime>(target_count);
    std::uint32_t peak_in_flight = 0, peak_host = 0;
    SteadyDuration max_lag{0};
    std::uint64_t skipped = 0;

    void run(SchedulerLimits limits, SteadyTime start) {
        const SteadyTime end = start + 1h;
        Scheduler scheduler(limits, 42);
        for (std::uint32_t id = 0; id < target_count; ++id) {
            const auto identity = "check-" + std::to_string(id % 7) + "/node-" + std::to_string(id);
            scheduler.add(id, id % host_count, interval, stable_hash(identity), start);
        }
        std::mt19937 rng(7);
        std::uniform_int_distribution<int> normal_ms(5, 1500);
        using Completion = std::pair<SteadyTime, Scheduler::TargetId>;
        std::priority_queue<Completion, std::vector<Completion>, std::greater<>> completions;
        std::vector<bool> running(target_count, false);
        std::vector<std::uint32_t> host_running(host_count, 0);
        std::uint32_t in_flight = 0;

        Launches launches;
        auto launch_all = [&](SteadyTime now) {
            for (const auto& launch : launches) {
                const auto id = launch.target;
                ASSERT_FALSE(running[id]) << "target " << id << " overlapped itself";
                running[id] = true;
                if (runs[id]++ == 0) first_slot[id] = now - launch.lag;
                max_lag = std::max(max_lag, launch.lag);
                peak_host = std::max(peak_host, ++host_running[id % host_count]);
                peak_in_flight = std::max(peak_in_flight, ++in_flight);
                const SteadyDuration took =
                    is_slow(id) ? SteadyDuration(20s) : std::chrono::milliseconds(normal_ms(rng));
                completions.push({now + took, id});
            }
            launches.clear();
        };

        for (SteadyTime now = start; now < end;) {
            const auto due = scheduler.next_due().value_or(end);
            const bool completion_first = !completions.empty() && completions.top().first <= due;
            now = completion_first ? completions.top().first : due;
            if (now >= end) break;
            if (completion_first) {
                const auto id = completions.top().second;
                completions.pop();
                running[id] = false;
                --in_flight;
                --host_running[id % host_count];
                scheduler.complete(id, now, launches);
            } else {
                scheduler.advance(now, launches);
            }
            launch_all(now);
        }
        skipped = scheduler.stats().skipped_slots;
    }
};

TEST(Scheduler, TenThousandTargetsForOneSimulatedHour) {
    const SchedulerLimits limits{800, 8};
    const SteadyTime start = at(1000h);
    HourOfTargets hour;
    hour.run(limits, start);

    EXPECT_LE(hour.peak_in_flight, limits.max_in_flight);
    EXPECT_LE(hour.peak_host, limits.per_host_max_in_flight);
    EXPECT_GT(hour.peak_in_flight, limits.max_in_flight / 2) << "the run should press on the limit";

    // First runs spread over the interval: no second gets more than twice the mean.
    std::map<std::int64_t, std::uint32_t> first_runs_per_second;
    for (std::uint32_t id = 0; id < hour.target_count; ++id) {
        ASSERT_GT(hour.runs[id], 0u) << "target " << id << " never ran";
        const auto second = std::chrono::duration_cast<std::chrono::seconds>(hour.first_slot[id] - start);
        ++first_runs_per_second[second.count() % 15];  // jitter may carry a slot past the interval
    }
    EXPECT_EQ(first_runs_per_second.size(), 15u);
    const double mean = double(hour.target_count) / 15.0;
    for (const auto& [second, count] : first_runs_per_second) {
        EXPECT_LT(count, 2.0 * mean) << "second " << second << " of the interval";
    }

    // No starvation: every normal target ran in (nearly) every one of its 240 slots; each run
    // of a slow target covers its slot and skips the next one, and those skips are counted.
    std::uint64_t slow_runs = 0, slow_targets = 0;
    for (std::uint32_t id = 0; id < hour.target_count; ++id) {
        if (hour.is_slow(id)) {
            slow_runs += hour.runs[id];
            ++slow_targets;
            EXPECT_GE(hour.runs[id], 115u);
        } else {
            EXPECT_GE(hour.runs[id], 239u) << "target " << id << " starved";
        }
    }
    EXPECT_GE(hour.skipped, slow_runs - slow_targets);
    EXPECT_LE(hour.skipped, slow_runs + slow_targets);
    EXPECT_LT(hour.max_lag, 3s);
}

TEST(Scheduler, OverloadedGlobalLimitQueuesFairlyAndCountsSkips) {
    // Demand is about 500 probes in flight; the limit of 300 must queue, lag, and skip,
    // while still sharing the capacity fairly between targets.
    const SchedulerLimits limits{300, 8};
    HourOfTargets hour;
    hour.run(limits, at(1000h));

    EXPECT_LE(hour.peak_in_flight, limits.max_in_flight);
    EXPECT_LE(hour.peak_host, limits.per_host_max_in_flight);
    EXPECT_GT(hour.skipped, 10'000u);
    EXPECT_GT(hour.max_lag, 1s);
    const auto [fewest, most] = std::minmax_element(hour.runs.begin(), hour.runs.end());
    EXPECT_GT(*fewest, 60u) << "a target starved";
    EXPECT_LT(*most, 241u);
}

}  // namespace
}  // namespace tierwatch

// The schedule of every target, as a sans-io state machine: the caller supplies the time, the
// scheduler says which targets to launch. It spreads first runs by a stable hash, never lets a
// target overlap itself, skips (and counts) missed slots, and queues work behind the global and
// per-host in-flight limits in FIFO order, so no target starves.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <random>
#include <vector>

namespace tierwatch {

using SteadyTime = std::chrono::steady_clock::time_point;
using SteadyDuration = std::chrono::steady_clock::duration;

struct SchedulerLimits {
    std::uint32_t max_in_flight = 20000;
    std::uint32_t per_host_max_in_flight = 8;
};

class Scheduler {
public:
    using TargetId = std::uint32_t;
    using HostId = std::uint32_t;

    struct Launch {
        TargetId target;
        SteadyDuration lag;  // from the slot's due time to the launch, queueing included
    };

    struct Stats {
        std::uint64_t launched = 0;
        std::uint64_t skipped_slots = 0;
        std::uint32_t in_flight = 0;
        std::size_t queued = 0;
    };

    explicit Scheduler(SchedulerLimits limits, std::uint64_t jitter_seed = std::random_device{}());

    // Adds (or re-adds) a target. Its slots sit at a fixed phase of the interval derived from
    // stable_hash, so a restart or reload keeps every target's rhythm and the load stays spread.
    void add(TargetId id, HostId host, SteadyDuration interval, std::uint64_t stable_hash,
             SteadyTime now);
    // Removes a target; if it is running, its later complete() only releases the limits.
    void remove(TargetId id);
    bool contains(TargetId id) const;

    // Earliest time at which advance() has something to do.
    std::optional<SteadyTime> next_due() const;
    // Processes every slot due at `now`, or within `early` after it; appends what may start now
    // to `launches`. Slots keep their phase: a slot run early is still the slot, and the next one
    // is an interval after it. The loop passes a few milliseconds of `early` so that one wake-up
    // launches every probe due in that window instead of re-arming the timer for each one.
    void advance(SteadyTime now, std::vector<Launch>& launches,
                 SteadyDuration early = SteadyDuration::zero());
    // A launched target finished; frees its limits and appends queued work that may now start.
    void complete(TargetId id, SteadyTime now, std::vector<Launch>& launches);

    const Stats& stats() const noexcept { return stats_; }
    std::uint32_t host_in_flight(HostId host) const;

    // First slot of a target: the next instant >= now at phase (hash mod interval).
    static SteadyTime first_slot(std::uint64_t stable_hash, SteadyDuration interval,
                                 SteadyTime now);

private:
    enum class State : std::uint8_t { absent, idle, queued, running };
    struct Entry {
        State state = State::absent;
        bool removed_while_busy = false;
        HostId host = 0;
        std::uint32_t generation = 0;  // invalidates heap items of a removed/re-added target
        SteadyDuration interval{};
        SteadyTime slot{};  // due time of the slot being queued or run
    };
    struct HeapItem {
        SteadyTime due;
        TargetId target;
        std::uint32_t generation;
        bool operator>(const HeapItem& other) const noexcept { return due > other.due; }
    };

    bool may_start(HostId host) const;
    void start(TargetId id, SteadyTime now, std::vector<Launch>& launches);
    void enqueue(TargetId id);
    void drain_queues(HostId freed_host, SteadyTime now, std::vector<Launch>& launches);
    std::deque<TargetId>& host_queue(HostId host);

    SchedulerLimits limits_;
    std::mt19937_64 jitter_rng_;
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> host_in_flight_;
    std::vector<std::deque<TargetId>> host_queues_;  // blocked by their host's limit only
    std::deque<TargetId> global_queue_;              // blocked by the global limit
    std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<>> heap_;
    Stats stats_;
};

// FNV-1a: a stable 64-bit hash of a target's identity, the same in every process and release.
std::uint64_t stable_hash(std::string_view text) noexcept;

}  // namespace tierwatch

// Scheduler state machine: slots, skips, limits and FIFO queues (see scheduler.hpp).
#include "daemon/scheduling/scheduler.hpp"

#include <algorithm>
#include <string_view>

namespace tierwatch {

std::uint64_t stable_hash(std::string_view text) noexcept {
    std::uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    // FNV's low bits mix poorly for similar names; a final avalanche spreads phases evenly.
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdull;
    hash ^= hash >> 33;
    return hash;
}

Scheduler::Scheduler(SchedulerLimits limits, std::uint64_t jitter_seed)
    : limits_(limits), jitter_rng_(jitter_seed) {
    limits_.max_in_flight = std::max<std::uint32_t>(1, limits_.max_in_flight);
    limits_.per_host_max_in_flight = std::max<std::uint32_t>(1, limits_.per_host_max_in_flight);
}

SteadyTime Scheduler::first_slot(std::uint64_t hash, SteadyDuration interval, SteadyTime now) {
    const auto period = std::max<std::int64_t>(1, interval.count());
    const auto phase = static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(period));
    const auto since_epoch = now.time_since_epoch().count();
    auto into_period = (since_epoch - phase) % period;
    if (into_period < 0) into_period += period;
    const auto wait = into_period == 0 ? 0 : period - into_period;
    return now + SteadyDuration(wait);
}

void Scheduler::add(TargetId id, HostId host, SteadyDuration interval, std::uint64_t hash,
                    SteadyTime now) {
    if (id >= entries_.size()) entries_.resize(id + 1);
    if (host >= host_in_flight_.size()) {
        host_in_flight_.resize(host + 1, 0);
        host_queues_.resize(host + 1);
    }
    Entry& entry = entries_[id];
    if (entry.state != State::absent && !entry.removed_while_busy) remove(id);
    const bool busy = entry.state == State::running || entry.state == State::queued;
    entry.removed_while_busy = false;
    entry.host = busy ? entry.host : host;
    entry.interval = std::max<SteadyDuration>(interval, std::chrono::milliseconds(1));
    ++entry.generation;
    if (!busy) entry.state = State::idle;
    // Small jitter (at most 1% of the interval, capped at 1 s) so hash collisions do not align.
    const auto max_jitter = std::min<SteadyDuration>(entry.interval / 100, std::chrono::seconds(1));
    SteadyDuration jitter{0};
    if (max_jitter.count() > 0) {
        jitter = SteadyDuration(static_cast<SteadyDuration::rep>(
            jitter_rng_() % static_cast<std::uint64_t>(max_jitter.count())));
    }
    heap_.push({first_slot(hash, entry.interval, now) + jitter, id, entry.generation});
}

void Scheduler::remove(TargetId id) {
    if (id >= entries_.size()) return;
    Entry& entry = entries_[id];
    if (entry.state == State::absent) return;
    ++entry.generation;
    if (entry.state == State::running || entry.state == State::queued) {
        // Queues are purged lazily; the running probe still owns its limit slot.
        entry.removed_while_busy = true;
        return;
    }
    entry.state = State::absent;
}

bool Scheduler::contains(TargetId id) const {
    return id < entries_.size() && entries_[id].state != State::absent &&
           !entries_[id].removed_while_busy;
}

std::optional<SteadyTime> Scheduler::next_due() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().due;
}

std::uint32_t Scheduler::host_in_flight(HostId host) const {
    return host < host_in_flight_.size() ? host_in_flight_[host] : 0;
}

bool Scheduler::may_start(HostId host) const {
    return stats_.in_flight < limits_.max_in_flight &&
           host_in_flight_[host] < limits_.per_host_max_in_flight;
}

std::deque<Scheduler::TargetId>& Scheduler::host_queue(HostId host) { return host_queues_[host]; }

void Scheduler::start(TargetId id, SteadyTime now, std::vector<Launch>& launches) {
    Entry& entry = entries_[id];
    entry.state = State::running;
    ++stats_.in_flight;
    ++host_in_flight_[entry.host];
    ++stats_.launched;
    launches.push_back({id, std::max(now - entry.slot, SteadyDuration::zero())});  // early: no lag
}

void Scheduler::enqueue(TargetId id) {
    Entry& entry = entries_[id];
    entry.state = State::queued;
    ++stats_.queued;
    if (host_in_flight_[entry.host] >= limits_.per_host_max_in_flight) {
        host_queue(entry.host).push_back(id);
    } else {
        global_queue_.push_back(id);
    }
}

void Scheduler::advance(SteadyTime now, std::vector<Launch>& launches, SteadyDuration early) {
    std::vector<HeapItem> not_yet;  // early slots of busy targets: not missed before their time
    while (!heap_.empty() && heap_.top().due <= now + early) {
        const HeapItem item = heap_.top();
        heap_.pop();
        Entry& entry = entries_[item.target];
        if (item.generation != entry.generation || entry.state == State::absent) continue;
        if (item.due > now && entry.state != State::idle) {
            not_yet.push_back(item);
            continue;
        }

        // Slots that passed entirely while the loop was away are skipped, not replayed. A slot
        // taken early (due after `now`) has none behind it, however short the interval.
        const auto behind = item.due <= now ? (now - item.due) / entry.interval : 0;
        const SteadyTime slot = item.due + behind * entry.interval;
        stats_.skipped_slots += static_cast<std::uint64_t>(behind);
        heap_.push({slot + entry.interval, item.target, item.generation});

        if (entry.state != State::idle) {
            ++stats_.skipped_slots;  // still running or waiting: never overlap itself
            continue;
        }
        entry.slot = slot;
        if (may_start(entry.host)) {
            start(item.target, now, launches);
        } else {
            enqueue(item.target);
        }
    }
    for (const HeapItem& item : not_yet) heap_.push(item);
}

void Scheduler::complete(TargetId id, SteadyTime now, std::vector<Launch>& launches) {
    if (id >= entries_.size()) return;
    Entry& entry = entries_[id];
    if (entry.state != State::running) return;
    --stats_.in_flight;
    --host_in_flight_[entry.host];
    const HostId host = entry.host;
    if (entry.removed_while_busy) {
        entry.removed_while_busy = false;
        entry.state = State::absent;
    } else {
        entry.state = State::idle;
    }
    drain_queues(host, now, launches);
}

void Scheduler::drain_queues(HostId freed_host, SteadyTime now, std::vector<Launch>& launches) {
    // Returns true when the queued target may be dropped from its queue (launched or gone).
    auto take = [&](TargetId queued) {
        Entry& entry = entries_[queued];
        --stats_.queued;
        if (entry.removed_while_busy) {
            entry.removed_while_busy = false;
            entry.state = State::absent;
            return;
        }
        start(queued, now, launches);
    };

    auto& own = host_queue(freed_host);
    if (!own.empty() && host_in_flight_[freed_host] < limits_.per_host_max_in_flight) {
        const TargetId head = own.front();
        own.pop_front();
        if (stats_.in_flight < limits_.max_in_flight) {
            take(head);
        } else {
            // Only the global limit holds it now: it waits at the front, it has waited longest.
            global_queue_.push_front(head);
        }
    }
    while (!global_queue_.empty() && stats_.in_flight < limits_.max_in_flight) {
        const TargetId head = global_queue_.front();
        global_queue_.pop_front();
        Entry& entry = entries_[head];
        if (!entry.removed_while_busy &&
            host_in_flight_[entry.host] >= limits_.per_host_max_in_flight) {
            host_queue(entry.host).push_back(head);
            continue;
        }
        take(head);
    }
}

}  // namespace tierwatch

// Every probe's deadline on one Asio timer. A timer per probe re-arms Asio's timer queue (a
// timerfd_settime whenever its earliest entry changes) and costs a heap entry, a wait operation
// and a cancellation per probe; here a probe's deadline is a map entry, and the one timer is
// re-armed only when a new deadline is earlier than the armed one or when it fires. A finished
// probe's entry is erased without touching the timer: the timer then fires at a moment nothing
// is due and re-arms to the earliest live deadline, at most once per probe timeout when probes
// end early, as most do.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>

namespace tierwatch {

class DeadlineQueue : public std::enable_shared_from_this<DeadlineQueue> {
public:
    using Clock = std::chrono::steady_clock;
    struct Key {
        Clock::time_point when;
        std::uint64_t sequence = 0;  // orders equal deadlines by arrival
        auto operator<=>(const Key&) const = default;
    };
    using Expire = void (*)(void* target);

    // Shared: sessions keep it alive, and the timer's handler checks it still exists.
    static std::shared_ptr<DeadlineQueue> create(boost::asio::any_io_executor executor);
    DeadlineQueue(const DeadlineQueue&) = delete;
    DeadlineQueue& operator=(const DeadlineQueue&) = delete;

    // Calls expire(target) on the executor once `when` has passed, unless cancelled first.
    Key add(Clock::time_point when, Expire expire, void* target);
    // Forgets a deadline (done or not yet due; a key already fired is ignored).
    void cancel(const Key& key) noexcept;

    std::size_t size() const noexcept { return entries_.size(); }
    // When the timer fires next; Clock::time_point::max() when it is idle.
    Clock::time_point armed_at() const noexcept { return armed_at_; }

private:
    struct Entry {
        Expire expire;
        void* target;
    };
    explicit DeadlineQueue(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}
    void arm(Clock::time_point when);
    void on_timer();

    boost::asio::steady_timer timer_;
    std::map<Key, Entry> entries_;
    std::uint64_t next_sequence_ = 0;
    Clock::time_point armed_at_ = Clock::time_point::max();
};

}  // namespace tierwatch

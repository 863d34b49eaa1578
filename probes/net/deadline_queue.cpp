// The shared deadline timer of every probe (see deadline_queue.hpp).
#include "probes/net/deadline_queue.hpp"

#include <boost/asio/error.hpp>

namespace tierwatch {

std::shared_ptr<DeadlineQueue> DeadlineQueue::create(boost::asio::any_io_executor executor) {
    return std::shared_ptr<DeadlineQueue>(new DeadlineQueue(std::move(executor)));
}

DeadlineQueue::Key DeadlineQueue::add(Clock::time_point when, Expire expire, void* target) {
    const Key key{when, next_sequence_++};
    entries_.emplace(key, Entry{expire, target});
    if (when < armed_at_) arm(when);
    return key;
}

void DeadlineQueue::cancel(const Key& key) noexcept { entries_.erase(key); }

void DeadlineQueue::arm(Clock::time_point when) {
    armed_at_ = when;
    timer_.expires_at(when);  // aborts the wait for the later time, if any
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
        if (error == boost::asio::error::operation_aborted) return;
        if (auto self = weak.lock()) self->on_timer();
    });
}

void DeadlineQueue::on_timer() {
    const auto now = Clock::now();
    while (!entries_.empty() && entries_.begin()->first.when <= now) {
        const Entry due = entries_.begin()->second;
        entries_.erase(entries_.begin());  // first: expiring may end the probe, which cancels it
        due.expire(due.target);
    }
    armed_at_ = Clock::time_point::max();
    if (!entries_.empty()) arm(entries_.begin()->first.when);
}

}  // namespace tierwatch

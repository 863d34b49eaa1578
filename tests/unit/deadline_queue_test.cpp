// The shared probe deadline timer: deadlines fire in order and never before their time, a
// cancelled one never fires, and the one timer is re-armed only as described.
#include "probes/net/deadline_queue.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <vector>

namespace tierwatch {
namespace {

using namespace std::chrono_literals;
using Clock = DeadlineQueue::Clock;

struct Fired {
    int id;
    Clock::time_point due;
    Clock::time_point at;
};

struct Probe {
    int id;
    Clock::time_point due;
    std::vector<Fired>* fired;
    static void expire(void* self) {
        auto& probe = *static_cast<Probe*>(self);
        probe.fired->push_back({probe.id, probe.due, Clock::now()});
    }
};

// Runs `io` until `fired` holds `count` entries (or 30 s pass, which fails the test).
void run_until_fired(boost::asio::io_context& io, const std::vector<Fired>& fired, std::size_t count) {
    const auto give_up = Clock::now() + 30s;
    while (fired.size() < count && Clock::now() < give_up) io.run_one_for(1s);
    ASSERT_EQ(fired.size(), count) << "deadlines still unfired after 30 s";
}

TEST(DeadlineQueue, FiresInDeadlineOrderAndNeverEarly) {
    boost::asio::io_context io;
    auto queue = DeadlineQueue::create(io.get_executor());
    std::vector<Fired> fired;
    const auto now = Clock::now();
    Probe late{3, now + 30ms, &fired}, early{1, now + 10ms, &fired}, middle{2, now + 20ms, &fired};
    for (Probe* probe : {&late, &early, &middle}) queue->add(probe->due, &Probe::expire, probe);
    EXPECT_EQ(queue->armed_at(), early.due);  // re-armed when an earlier deadline came
    run_until_fired(io, fired, 3);
    ASSERT_EQ(fired.size(), 3u);
    for (std::size_t i = 0; i < fired.size(); ++i) {
        EXPECT_EQ(fired[i].id, static_cast<int>(i) + 1);
        EXPECT_GE(fired[i].at, fired[i].due) << "deadline " << fired[i].id << " fired early";
    }
    EXPECT_EQ(queue->size(), 0u);
    EXPECT_EQ(queue->armed_at(), Clock::time_point::max());
}

TEST(DeadlineQueue, ACancelledDeadlineNeverFiresAndTheTimerReArmsLazily) {
    boost::asio::io_context io;
    auto queue = DeadlineQueue::create(io.get_executor());
    std::vector<Fired> fired;
    const auto now = Clock::now();
    Probe done{1, now + 10ms, &fired}, running{2, now + 40ms, &fired};
    const auto done_key = queue->add(done.due, &Probe::expire, &done);
    queue->add(running.due, &Probe::expire, &running);
    queue->cancel(done_key);
    // Cancelling leaves the timer alone: it fires at the finished probe's time with nothing due
    // and re-arms to the live deadline.
    EXPECT_EQ(queue->armed_at(), done.due);
    EXPECT_EQ(queue->size(), 1u);
    const auto give_up = Clock::now() + 30s;
    while (queue->armed_at() == done.due && Clock::now() < give_up) io.run_one_for(1s);
    ASSERT_NE(queue->armed_at(), done.due) << "the timer did not fire within 30 s";
    EXPECT_TRUE(fired.empty());
    EXPECT_EQ(queue->armed_at(), running.due);
    run_until_fired(io, fired, 1);
    ASSERT_EQ(fired.size(), 1u);
    EXPECT_EQ(fired[0].id, 2);
    EXPECT_GE(fired[0].at, running.due);
}

TEST(DeadlineQueue, EqualDeadlinesFireInArrivalOrderAndALaterOneDoesNotReArm) {
    boost::asio::io_context io;
    auto queue = DeadlineQueue::create(io.get_executor());
    std::vector<Fired> fired;
    const auto due = Clock::now() + 5ms;
    Probe first{1, due, &fired}, second{2, due, &fired}, later{3, due + 5ms, &fired};
    queue->add(first.due, &Probe::expire, &first);
    queue->add(second.due, &Probe::expire, &second);
    queue->add(later.due, &Probe::expire, &later);
    EXPECT_EQ(queue->armed_at(), due);
    run_until_fired(io, fired, 3);
    ASSERT_EQ(fired.size(), 3u);
    EXPECT_EQ(fired[0].id, 1);
    EXPECT_EQ(fired[1].id, 2);
    EXPECT_EQ(fired[2].id, 3);
}

TEST(DeadlineQueue, ADeadlineAddedWhileExpiringIsKept) {
    boost::asio::io_context io;
    auto queue = DeadlineQueue::create(io.get_executor());
    std::vector<Fired> fired;
    const auto now = Clock::now();
    struct Chain {
        DeadlineQueue* queue;
        Probe next;
        std::vector<Fired>* fired;
        static void expire(void* self) {
            auto& chain = *static_cast<Chain*>(self);
            chain.fired->push_back({0, {}, Clock::now()});
            chain.queue->add(chain.next.due, &Probe::expire, &chain.next);
        }
    } chain{queue.get(), Probe{1, now + 10ms, &fired}, &fired};
    queue->add(now + 5ms, &Chain::expire, &chain);
    run_until_fired(io, fired, 2);
    ASSERT_EQ(fired.size(), 2u);
    EXPECT_EQ(fired[1].id, 1);
}

TEST(DeadlineQueue, DestroyedWithAPendingWait) {
    boost::asio::io_context io;
    std::vector<Fired> fired;
    Probe never{1, Clock::now() + 1ms, &fired};
    {
        auto queue = DeadlineQueue::create(io.get_executor());
        queue->add(never.due, &Probe::expire, &never);
    }
    io.run_for(50ms);  // the aborted wait's handler finds no queue
    EXPECT_TRUE(fired.empty());
}

}  // namespace
}  // namespace tierwatch

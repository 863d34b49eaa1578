// Delivers the outbox's page events on the event loop: one sender per receiver, so a slow or
// hung receiver only ever delays its own pages; retries with capped exponential backoff and
// jitter; Alertmanager re-posts of firing alarms. Time is injected so tests run in simulated time.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/alerting.hpp"
#include "daemon/alarms/alarms.hpp"
#include "daemon/metrics/exposition.hpp"
#include "daemon/paging/outbox.hpp"
#include "daemon/paging/pagers.hpp"
#include "probes/net/tls_context.hpp"

namespace tierwatch {

struct Backoff {
    std::chrono::milliseconds initial{1000};
    std::chrono::milliseconds max{std::chrono::minutes(5)};
    double jitter = 0.2;  // up to this fraction of each delay is taken off at random

    // The wait before retry number `attempt` (1 for the first retry); `u` is uniform in [0, 1).
    // Jitter only shortens a delay, so the cap holds and receivers are not hit in lockstep.
    std::chrono::milliseconds delay(unsigned attempt, double u) const noexcept;
};

// A [[pager]]'s retry_initial / retry_max over `fallback` (the dispatcher's default). Short
// values let a test run an outage of simulated minutes in seconds of real time.
Backoff pager_backoff(const PagerConfig& config, Backoff fallback);

// Time as the dispatcher sees it: real steady timers in the daemon, simulated in tests.
class DispatchClock {
public:
    virtual ~DispatchClock() = default;
    virtual TimePoint now() const = 0;
    // Completes after `d`, or early (returning false) when cancel_all() is called.
    virtual boost::asio::awaitable<bool> sleep(std::chrono::milliseconds d) = 0;
    virtual void cancel_all() = 0;
};

// DispatchClock over system_clock and steady timers.
class SteadyDispatchClock final : public DispatchClock {
public:
    explicit SteadyDispatchClock(boost::asio::any_io_executor executor)
        : executor_(std::move(executor)) {}
    TimePoint now() const override { return std::chrono::system_clock::now(); }
    boost::asio::awaitable<bool> sleep(std::chrono::milliseconds d) override;
    void cancel_all() override;

private:
    struct State {
        std::list<boost::asio::steady_timer*> sleeping;
        bool cancelled = false;
    };
    boost::asio::any_io_executor executor_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

struct DispatcherOptions {
    Backoff backoff;
    PagerOptions pager;
    DispatchClock* clock = nullptr;  // null: a SteadyDispatchClock owned by the dispatcher
    std::function<double()> random;  // uniform [0, 1) for jitter; null: a seeded engine
};

// Destroy it only once the event loop no longer runs its coroutines (after io_context::stop or
// run() returning), as with every other object on the loop.
class Dispatcher {
public:
    // Builds a pager per [[pager]] (throws std::runtime_error naming an unreadable secret file)
    // and registers the tierwatch_pages_* metrics. The outbox and config must outlive it.
    Dispatcher(boost::asio::any_io_executor executor, const AlertingConfig& alerting,
               Outbox& outbox, metrics::Registry& registry, DispatcherOptions options = {});
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    // Starts one sender per receiver; pages replayed from the outbox go out first.
    void start();
    // Stops sending; requests in flight end with their deadline. Pages stay in the outbox.
    void stop();

    // Where AlarmBook::update()'s events go. Each is written (fsync'd) to the outbox before its
    // receiver's sender sees it; returns at once, never waits for the network.
    void submit(std::vector<PageEvent> events);
    void submit(PageEvent event);

    // Receivers with a sender (tests, status page).
    std::vector<std::string> receivers() const;

private:
    struct Receiver;
    boost::asio::awaitable<void> run_sender(Receiver& receiver);
    boost::asio::awaitable<void> run_reposts(Receiver& receiver);
    void enqueue(Receiver& receiver, PageEvent event, bool durable);
    void count_failure(Receiver& receiver, SendFailure failure);
    void update_queued(Receiver& receiver);
    Receiver* find(const std::string& name);

    boost::asio::any_io_executor executor_;
    Outbox& outbox_;
    DispatcherOptions options_;
    std::unique_ptr<DispatchClock> own_clock_;
    DispatchClock& clock_;
    std::function<double()> random_;
    TlsContextCache tls_contexts_;
    std::map<std::string, std::unique_ptr<Receiver>, std::less<>> receivers_;
    std::shared_ptr<bool> alive_;  // senders check it after every suspension
    bool started_ = false;
    bool stopping_ = false;

    metrics::Family<metrics::Counter>& sent_;
    metrics::Family<metrics::Counter>& failed_;
    metrics::Family<metrics::Gauge>& queued_;
};

}  // namespace tierwatch

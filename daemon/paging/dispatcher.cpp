// Page delivery: per-receiver senders over the outbox, backoff, re-posts and paging metrics.
#include "daemon/paging/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "probes/net/use_tuple.hpp"

namespace tierwatch {

namespace asio = boost::asio;
namespace {
}

std::chrono::milliseconds Backoff::delay(unsigned attempt, double u) const noexcept {
    auto base = std::max(initial, std::chrono::milliseconds(1));
    for (unsigned i = 1; i < attempt && base < max; ++i) base *= 2;
    base = std::min(base, max);
    const double kept = 1.0 - std::clamp(jitter, 0.0, 1.0) * std::clamp(u, 0.0, 1.0);
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(base.count()) * kept));
}

Backoff pager_backoff(const PagerConfig& config, Backoff fallback) {
    // The configuration loader has checked both are positive durations, initial <= max.
    fallback.initial = config.retry_initial.value_or(fallback.initial);
    fallback.max = config.retry_max.value_or(fallback.max);
    fallback.initial = std::min(fallback.initial, fallback.max);
    return fallback;
}

asio::awaitable<bool> SteadyDispatchClock::sleep(std::chrono::milliseconds d) {
    // Holds the shared state, not the clock: a sleep may end after its clock is gone.
    const auto state = state_;
    if (state->cancelled) co_return false;
    asio::steady_timer timer(executor_, d);
    const auto it = state->sleeping.insert(state->sleeping.end(), &timer);
    auto [error] = co_await timer.async_wait(use_tuple);
    state->sleeping.erase(it);
    co_return !error && !state->cancelled;
}

void SteadyDispatchClock::cancel_all() {
    state_->cancelled = true;
    for (auto* timer : state_->sleeping) timer->cancel();
}

struct Dispatcher::Receiver {
    Receiver(asio::any_io_executor executor, std::string receiver_name)
        : name(std::move(receiver_name)), wake(std::move(executor)) {}

    std::string name;
    std::unique_ptr<Pager> pager;  // null: a kind not built yet
    asio::steady_timer wake;       // cancelled when a page arrives for an idle sender
    Backoff backoff;               // the dispatcher's, or the pager's retry_initial/retry_max
    unsigned attempt = 0;          // failed attempts of the current head of the queue
    bool failing = false;          // logged once per outage, not once per retry
    metrics::Counter* sent = nullptr;
    metrics::Gauge* queued = nullptr;
    std::array<metrics::Counter*, send_failure_count> failed{};
    // Alertmanager: the last accepted firing event per dedup key, re-posted until resolved.
    std::map<std::string, PageEvent, std::less<>> firing;
};

Dispatcher::Dispatcher(asio::any_io_executor executor, const AlertingConfig& alerting,
                       Outbox& outbox, metrics::Registry& registry, DispatcherOptions options)
    : executor_(executor),
      outbox_(outbox),
      options_(std::move(options)),
      own_clock_(options_.clock ? nullptr : std::make_unique<SteadyDispatchClock>(executor)),
      clock_(options_.clock ? *options_.clock : *own_clock_),
      alive_(std::make_shared<bool>(true)),
      sent_(registry.counter("tierwatch_pages_sent_total", "Page events the receiver accepted.",
                             {"receiver"})),
      failed_(
          registry.counter("tierwatch_pages_failed_total",
                           "Failed page deliveries by receiver and reason (retried or dropped).",
                           {"receiver", "reason"})),
      queued_(registry.gauge("tierwatch_pages_queued", "Page events waiting for their receiver.",
                             {"receiver"})) {
    if (options_.random) {
        random_ = options_.random;
    } else {
        auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
        random_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
    }
    for (const PagerConfig& config : alerting.pagers) {
        auto receiver = std::make_unique<Receiver>(executor_, config.name);
        receiver->pager = make_pager(config, options_.pager);
        receiver->backoff = pager_backoff(config, options_.backoff);
        receiver->sent = &sent_.with({config.name});
        receiver->queued = &queued_.with({config.name});
        for (std::size_t i = 1; i < send_failure_count; ++i) {
            receiver->failed[i] =
                &failed_.with({config.name, std::string(to_string(static_cast<SendFailure>(i)))});
        }
        receivers_.emplace(config.name, std::move(receiver));
    }
}

Dispatcher::~Dispatcher() {
    *alive_ = false;
    stop();
}

void Dispatcher::start() {
    if (started_) return;
    started_ = true;
    // Pages replayed for receivers that left the configuration can never be delivered.
    for (const std::string& name : outbox_.queue().receivers()) {
        Receiver* receiver = find(name);
        if (receiver != nullptr) continue;
        std::size_t dropped = 0;
        while (OutboxEntry* entry = outbox_.queue().front(name)) {
            outbox_.remove(name, entry->id);
            ++dropped;
        }
        if (dropped == 0) continue;
        spdlog::error("outbox: {} page(s) for receiver {} dropped: no [[pager]] has that name", dropped,
                      name);
        failed_.with({name, std::string(to_string(SendFailure::unknown_receiver))})
            .inc(static_cast<double>(dropped));
    }
    for (auto& [name, receiver] : receivers_) {
        update_queued(*receiver);
        asio::co_spawn(executor_, run_sender(*receiver), asio::detached);
        if (receiver->pager->repost().count() > 0)
            asio::co_spawn(executor_, run_reposts(*receiver), asio::detached);
    }
}

void Dispatcher::stop() {
    if (stopping_) return;
    stopping_ = true;
    clock_.cancel_all();
    for (auto& [name, receiver] : receivers_) receiver->wake.cancel();
}

std::vector<std::string> Dispatcher::receivers() const {
    std::vector<std::string> names;
    for (const auto& [name, receiver] : receivers_) {
        names.push_back(name);
    }
    return names;
}

Dispatcher::Receiver* Dispatcher::find(const std::string& name) {
    const auto it = receivers_.find(name);
    return it == receivers_.end() ? nullptr : it->second.get();
}

void Dispatcher::submit(PageEvent event) {
    std::vector<PageEvent> one;
    one.push_back(std::move(event));
    submit(std::move(one));
}

void Dispatcher::submit(std::vector<PageEvent> events) {
    std::vector<PageEvent> deliverable;
    std::vector<Receiver*> woken;
    for (PageEvent& event : events) {
        Receiver* receiver = find(event.receiver);
        if (receiver == nullptr) {
            const auto failure = SendFailure::unknown_receiver;
            spdlog::error("page {} {} for receiver {} dropped: {}", to_string(event.action),
                          event.dedup_key, event.receiver, to_string(failure));
            failed_.with({event.receiver, std::string(to_string(failure))}).inc();
            continue;
        }
        if (event.action == PageAction::resolve) receiver->firing.erase(event.dedup_key);
        woken.push_back(receiver);
        deliverable.push_back(std::move(event));
    }
    if (deliverable.empty()) return;
    // One write and one fsync for the whole batch; the outbox logs and counts full and disk
    // errors itself, once per episode.
    outbox_.append(std::move(deliverable), true);
    for (Receiver* receiver : woken) {
        receiver->wake.cancel();
        update_queued(*receiver);
    }
}

void Dispatcher::enqueue(Receiver& receiver, PageEvent event, bool durable) {
    const auto appended = outbox_.append(std::move(event), durable);
    // The outbox logs full and disk errors itself (once per episode) and counts them.
    if (appended.status != OutboxWrite::full) receiver.wake.cancel();
    update_queued(receiver);
}

void Dispatcher::update_queued(Receiver& receiver) {
    receiver.queued->set(static_cast<double>(outbox_.queue().size(receiver.name)));
}

void Dispatcher::count_failure(Receiver& receiver, SendFailure failure) {
    if (failure != SendFailure::none) receiver.failed[static_cast<std::size_t>(failure)]->inc();
}

asio::awaitable<void> Dispatcher::run_sender(Receiver& receiver) {
    const auto alive = alive_;
    while (*alive && !stopping_) {
        OutboxEntry* entry = outbox_.queue().front(receiver.name);
        if (entry == nullptr) {
            receiver.wake.expires_at(asio::steady_timer::time_point::max());
            co_await receiver.wake.async_wait(use_tuple);
            continue;
        }
        entry->in_flight = true;
        const std::uint64_t id = entry->id;
        // A copy: other entries may be coalesced away while this one is on the wire.
        const PageEvent event = entry->event;
        const SendResult result = co_await receiver.pager->deliver(executor_, event, tls_contexts_);
        if (!*alive || stopping_) co_return;

        const Delivery delivery = classify(result);
        if (delivery != Delivery::accepted) count_failure(receiver, result.failure);
        if (delivery == Delivery::retry) {
            if (OutboxEntry* still = outbox_.queue().find(receiver.name, id))
                still->in_flight = false;
            ++receiver.attempt;
            auto delay = receiver.backoff.delay(receiver.attempt, random_());
            if (result.retry_after) {
                delay = std::max(delay, std::min<std::chrono::milliseconds>(*result.retry_after,
                                                                            receiver.backoff.max));
            }
            if (!receiver.failing) {
                spdlog::warn("pager {}: {} ({}); retrying with backoff, pages wait in the outbox",
                             receiver.name, receiver.pager->redact(result.detail),
                             to_string(result.failure));
                receiver.failing = true;
            }
            update_queued(receiver);
            const bool slept = co_await clock_.sleep(delay);  // named: the GCC 12 coroutine rule
            if (!slept || !*alive) co_return;
            continue;
        }
        if (delivery == Delivery::drop) {
            spdlog::error("pager {}: {} {} dropped, the receiver refused it: {}", receiver.name,
                          to_string(event.action), event.dedup_key,
                          receiver.pager->redact(result.detail));
        } else {
            receiver.sent->inc();
            if (receiver.failing) spdlog::info("pager {}: accepting pages again", receiver.name);
            receiver.failing = false;
        }
        receiver.attempt = 0;
        outbox_.remove(receiver.name, id);
        if (delivery == Delivery::accepted && receiver.pager->repost().count() > 0) {
            // Only the newest word on a key counts: a queued resolve or update will follow.
            if (event.action == PageAction::resolve) {
                receiver.firing.erase(event.dedup_key);
            } else if (!outbox_.queue().has_pending(receiver.name, event.dedup_key)) {
                receiver.firing.insert_or_assign(event.dedup_key, event);
            }
        }
        update_queued(receiver);
    }
}

asio::awaitable<void> Dispatcher::run_reposts(Receiver& receiver) {
    const auto alive = alive_;
    while (*alive && !stopping_) {
        const bool slept = co_await clock_.sleep(receiver.pager->repost());
        if (!slept || !*alive || stopping_) co_return;
        // Re-posts are derived from live state, so they are not written to disk.
        std::vector<PageEvent> due;
        for (const auto& [key, event] : receiver.firing) {
            if (outbox_.queue().has_pending(receiver.name, key)) continue;
            PageEvent again = event;
            again.action = PageAction::repeat;
            again.replaces.reset();  // the old identity was ended with the accepted post
            again.at = clock_.now();
            due.push_back(std::move(again));
        }
        for (PageEvent& event : due) enqueue(receiver, std::move(event), false);
    }
}

}  // namespace tierwatch

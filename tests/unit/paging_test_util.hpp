// Helpers shared by the outbox and pager tests: page events, a recording HTTP receiver on its
// own thread, a simulated dispatch clock and metric look-ups.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/alarms/alarms.hpp"
#include "daemon/paging/dispatcher.hpp"
#include "daemon/web/http_server.hpp"
#include "daemon/metrics/exposition.hpp"

namespace tierwatch::test {

inline PageEvent make_event(PageAction action, std::string receiver, std::string key,
                            std::string summary = "MTA pool below quorum") {
    PageEvent event;
    event.action = action;
    event.receiver = std::move(receiver);
    event.dedup_key = std::move(key);
    event.severity = Grade::critical;
    event.tier = 2;
    event.kind = AlarmKind::group;
    event.summary = std::move(summary);
    event.labels.zone = "zone-a";
    event.labels.role = "mta";
    event.labels.group = "mta-pool";
    event.starts_at = TimePoint(std::chrono::seconds(1'790'000'000));
    event.at = event.starts_at + std::chrono::seconds(30);
    return event;
}

struct RecordedRequest {
    std::string method;
    std::string target;
    std::string content_type;
    std::string signature;
    std::string body;
};

// An HTTP receiver on 127.0.0.1:0 that records every request and answers with `reply`.
class RecordingServer {
public:
    // Returns the status (and optional body) for one request; called on the server thread.
    using Reply = std::function<std::pair<unsigned, std::string>(const RecordedRequest&)>;

    explicit RecordingServer(Reply reply)
        : reply_(std::move(reply)),
          server_(io_.get_executor(), {boost::asio::ip::make_address("127.0.0.1"), 0},
                  [this](const HttpRequest& request,
                         HttpResponse& response) -> boost::asio::awaitable<void> {
                      handle(request, response);
                      co_return;
                  }) {
        server_.start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~RecordingServer() {
        io_.stop();
        thread_.join();
    }

    std::uint16_t port() const { return server_.local_endpoint().port(); }
    std::string url(std::string_view path = "") const {
        return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
    }
    std::vector<RecordedRequest> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return requests_.size();
    }

private:
    void handle(const HttpRequest& request, HttpResponse& response) {
        RecordedRequest recorded;
        recorded.method = std::string(request.method_string());
        recorded.target = std::string(request.target());
        recorded.content_type = std::string(request[boost::beast::http::field::content_type]);
        recorded.signature = std::string(request["X-Tierwatch-Signature"]);
        recorded.body = request.body();
        auto [status, body] = reply_(recorded);
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(std::move(recorded));
        }
        response.result(status);
        response.set(boost::beast::http::field::content_type, "application/json");
        response.body() = std::move(body);
    }

    Reply reply_;
    boost::asio::io_context io_;
    HttpServer server_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<RecordedRequest> requests_;
};

// Simulated time: sleeps complete only when the test advances the clock past them.
class FakeClock final : public DispatchClock {
public:
    explicit FakeClock(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

    TimePoint now() const override { return now_; }
    boost::asio::awaitable<bool> sleep(std::chrono::milliseconds d) override {
        if (cancelled_) co_return false;
        requested.push_back(d);
        boost::asio::steady_timer timer(executor_, boost::asio::steady_timer::time_point::max());
        const auto it = sleepers_.insert(sleepers_.end(), Sleeper{now_ + d, &timer});
        co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        sleepers_.erase(it);
        co_return !cancelled_;
    }
    void cancel_all() override {
        cancelled_ = true;
        for (auto& s : sleepers_) s.timer->cancel();
    }
    // Moves time forward to the earliest pending sleep and wakes it; false if none is pending.
    bool advance_to_next() {
        if (sleepers_.empty()) return false;
        TimePoint due = TimePoint::max();
        for (const auto& s : sleepers_) due = std::min(due, s.due);
        now_ = std::max(now_, due);
        for (auto& s : sleepers_) {
            if (s.due <= now_) s.timer->cancel();
        }
        return true;
    }
    std::size_t sleeping() const { return sleepers_.size(); }

    std::vector<std::chrono::milliseconds> requested;

private:
    struct Sleeper {
        TimePoint due;
        boost::asio::steady_timer* timer;
    };
    boost::asio::any_io_executor executor_;
    TimePoint now_{std::chrono::seconds(1'790'000'000)};
    std::list<Sleeper> sleepers_;
    bool cancelled_ = false;
};

// Runs `io` until `done` holds or `limit` of real time passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

// The value of one rendered series ("name{label=\"v\"}"), or nullopt if absent.
inline std::optional<double> metric(const metrics::Registry& registry, std::string_view series) {
    std::string text;
    registry.render(text);
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find('\n', at);
        const std::string_view line(text.data() + at,
                                    (end == std::string::npos ? text.size() : end) - at);
        if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
            return std::stod(std::string(line.substr(series.size() + 1)));
        }
        if (end == std::string::npos) break;
        at = end + 1;
    }
    return std::nullopt;
}

}  // namespace tierwatch::test

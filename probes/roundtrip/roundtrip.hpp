// The roundtrip prober: end-to-end mail flow. It submits a message carrying a unique token
// (SMTP submission, STARTTLS, AUTH), polls IMAP until the message is in the INBOX or the deadline
// passes, records the delivery time, then deletes and expunges it together with what earlier
// round trips of the same check left behind and any probe message older than a day. One round
// trip at a time per check, so the probe mailbox never fills.
//
// Deadline: the check's `timeout` covers submit to found; for roundtrip it is not inherited
// from [defaults] but defaults to latency_critical + 30s (config.cpp, roundtrip_timeout), so a
// slow delivery is graded on its time and only a lost one fails as `timeout`. The cleanup after
// a timeout gets a short grace of its own.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <array>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "probes/net/probe.hpp"

namespace tierwatch {

inline MeasurementThresholds latency_thresholds(const Check& check) {
    return {check.latency_warning, check.latency_critical};
}
// Submission accepted to message seen in INBOX; graded instead of the probe's duration.
inline constexpr MeasurementKind roundtrip_delivery_measurement{
    "delivery_seconds", MeasurementUnit::seconds, "", "tierwatch_roundtrip_delivery_seconds",
    "Submission to INBOX of the last round trip's message (roundtrip).", "", "", "delivery",
    &latency_thresholds, true};
inline constexpr std::array<const MeasurementKind*, 1> roundtrip_measurements{
    &roundtrip_delivery_measurement};

boost::asio::awaitable<ProbeResult> probe_roundtrip(const ProbeRequest& target, const RoundtripSettings& settings,
                                                    ProbeContext& context);

// The header that carries the token; IMAP SEARCH HEADER finds messages by it.
inline constexpr std::string_view roundtrip_header = "X-Tierwatch-Roundtrip";

// Every token of one check on one host starts with this ("tw-" and 16 hex digits of a hash of
// both), so a round trip finds what earlier ones of the same check left (a message that arrived
// after its deadline) without touching another host's or another check's messages in flight.
std::string roundtrip_token_prefix(std::string_view host_name, std::string_view check_name);

// The message, CRLF line ends, dot-terminated for DATA; `mailbox` is sender and recipient.
std::string roundtrip_message(std::string_view token, std::string_view mailbox,
                              std::chrono::system_clock::time_point now);

// "Mon, 23 Nov 2026 02:27:39 +0000" (RFC 5322), independent of the locale.
std::string rfc5322_date(std::chrono::system_clock::time_point when);
// "22-Nov-2026" (RFC 3501 date, UTC), for SEARCH BEFORE.
std::string imap_date(std::chrono::system_clock::time_point when);
// "3,7,9": at most `max` of `uids` as an IMAP sequence set.
std::string uid_set(std::span<const std::uint32_t> uids, std::size_t max);

// Turns for round trips: at most one per key (the check's name) at a time, the others waiting in
// FIFO order on the event loop. Single-threaded, like the daemon's event loop.
class RoundtripTurns {
public:
    // Ends the turn when destroyed, handing it to the next waiter.
    class Turn {
    public:
        Turn(RoundtripTurns* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
        Turn(Turn&& other) noexcept
            : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}
        Turn& operator=(Turn&&) = delete;
        ~Turn() {
            if (owner_ != nullptr) owner_->release(key_);
        }

    private:
        RoundtripTurns* owner_;
        std::string key_;
    };

    boost::asio::awaitable<Turn> acquire(std::string key, boost::asio::any_io_executor executor);
    bool busy(std::string_view key) const;

private:
    struct Queue {
        bool busy = false;
        // Weak: a waiter whose coroutine is destroyed before its turn drops out by itself.
        std::deque<std::weak_ptr<boost::asio::steady_timer>> waiting;
    };
    void release(const std::string& key);

    std::map<std::string, Queue, std::less<>> queues_;
};

}  // namespace tierwatch

// A tcp/tls check's line dialogue (expect / send / starttls steps, like blackbox_exporter's
// query_response): a sans-io state machine fed the lines read, and the thin coroutine driving it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "probes/net/connection.hpp"
#include "probes/net/result.hpp"

namespace tierwatch {

class DialogueMachine {
public:
    enum class Action : std::uint8_t { read_line, send, starttls, done, failed };

    // An expect step reads at most `max_lines` lines looking for a match.
    explicit DialogueMachine(std::span<const DialogueStep> steps, std::size_t max_lines = 1000)
        : steps_(steps), max_lines_(max_lines) {}

    // What to do now: read a line and feed() it, send send_text() or do STARTTLS and then call
    // advance(), or stop (done, or failed with reason() and detail()).
    Action next() const noexcept;
    void feed(std::string_view line);
    void advance() noexcept;
    // The current send step's line, CRLF included.
    std::string send_text() const;
    // Until the first send, the server is still greeting us (bad_greeting, banner_timeout).
    bool greeting() const noexcept { return !sent_; }
    FailureReason reason() const noexcept { return reason_; }
    const std::string& detail() const noexcept { return detail_; }
    // Lines the current expect step has read without a match.
    std::size_t unmatched_lines() const noexcept { return lines_; }
    // Where the dialogue stands when the read failed (a deadline, a close): "step 3: no line
    // matched /^250 /, last "500 what?"", for the failure's detail.
    std::string waiting_for() const;

private:
    std::span<const DialogueStep> steps_;
    std::size_t max_lines_;
    std::size_t step_ = 0;
    std::size_t lines_ = 0;  // read during the current expect step
    bool sent_ = false;
    std::string last_;  // the last unmatched line, made printable
    FailureReason reason_ = FailureReason::none;
    std::string detail_;
};

// Runs the session's check's dialogue over an open (and, for tls, handshaken) session.
boost::asio::awaitable<bool> run_dialogue(ProbeSession& session, const TcpSettings& settings);

}  // namespace tierwatch

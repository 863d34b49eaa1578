// The tcp dialogue (dialogue.hpp): matching lines against compiled expect regexes, bounded in
// lines per step and by the session's one deadline.
#include "probes/tcp/dialogue.hpp"

#include <stdexcept>

namespace tierwatch {

DialogueMachine::Action DialogueMachine::next() const noexcept {
    if (reason_ != FailureReason::none) return Action::failed;
    if (step_ >= steps_.size()) return Action::done;
    switch (steps_[step_].kind) {
        case DialogueStep::Kind::expect:
            return Action::read_line;
        case DialogueStep::Kind::send:
            return Action::send;
        case DialogueStep::Kind::starttls:
            return Action::starttls;
    }
    return Action::failed;
}

void DialogueMachine::advance() noexcept {
    if (step_ >= steps_.size()) return;
    if (steps_[step_].kind == DialogueStep::Kind::send) sent_ = true;
    ++step_;
    lines_ = 0;
}

std::string DialogueMachine::send_text() const {
    if (step_ >= steps_.size()) return {};
    return steps_[step_].text + "\r\n";
}

std::string DialogueMachine::waiting_for() const {
    if (step_ >= steps_.size()) return {};
    const std::string step = "step " + std::to_string(step_ + 1) + ": ";
    const std::string pattern = "/" + printable_excerpt(steps_[step_].text) + "/";
    if (lines_ == 0) return step + "no line yet for " + pattern;
    return step + "no line matched " + pattern + ", last \"" + last_ + "\"";
}

void DialogueMachine::feed(std::string_view line) {
    if (next() != Action::read_line) return;
    const DialogueStep& step = steps_[step_];
    bool matched = false;
    try {
        matched = step.regex && boost::regex_search(line.begin(), line.end(), *step.regex);
    } catch (const std::runtime_error& error) {  // boost's complexity limit on hostile input
        reason_ = greeting() ? FailureReason::bad_greeting : FailureReason::protocol;
        detail_ = "expect /" + printable_excerpt(step.text) + "/: " + error.what();
        return;
    }
    if (matched) {
        advance();
        return;
    }
    last_ = printable_excerpt(line);
    if (++lines_ < max_lines_) return;
    // A greeting that never matches is the wrong service on the port, as with banner_regex.
    reason_ = greeting() ? FailureReason::bad_greeting : FailureReason::protocol;
    detail_ = "step " + std::to_string(step_ + 1) + ": no line matched /" +
              printable_excerpt(step.text) + "/ within " + std::to_string(max_lines_) +
              (max_lines_ == 1 ? " line" : " lines") + "; last \"" + printable_excerpt(line) + "\"";
}

namespace {

// A read failed: say which step was waiting. A server that sent lines and then closed without
// the expected one answered wrongly (ProbeSession names that "connection closed ..."): the
// mismatch is the failure, as it would be with more lines.
void explain_failed_read(ProbeSession& session, const DialogueMachine& machine) {
    ProbeResult& result = session.result();
    const bool closed = result.reason == FailureReason::protocol && !session.deadline_expired() &&
                        result.detail.starts_with("connection closed");
    if (closed && machine.unmatched_lines() > 0) {
        result.reason = machine.greeting() ? FailureReason::bad_greeting : FailureReason::protocol;
        std::string detail = machine.waiting_for();
        const std::size_t last = detail.find(", last ");
        result.detail = detail.substr(0, last) + " before the server closed the connection; last " +
                        detail.substr(last + 7);
        return;
    }
    result.detail += "; " + machine.waiting_for();
}

}  // namespace

boost::asio::awaitable<bool> run_dialogue(ProbeSession& session, const TcpSettings& settings) {
    DialogueMachine machine(settings.dialogue);
    session.begin(Phase::greeting);
    while (true) {
        switch (machine.next()) {
            case DialogueMachine::Action::done:
                co_return true;
            case DialogueMachine::Action::failed:
                co_return session.fail(machine.reason(), machine.detail());
            case DialogueMachine::Action::read_line: {
                std::string_view line;
                if (const bool ok = co_await session.read_line(line); !ok) {
                    explain_failed_read(session, machine);
                    co_return false;
                }
                machine.feed(line);
                break;
            }
            case DialogueMachine::Action::send: {
                if (machine.greeting()) session.begin(Phase::command);
                const std::string text = machine.send_text();
                if (const bool ok = co_await session.write(text); !ok) co_return false;
                machine.advance();
                break;
            }
            case DialogueMachine::Action::starttls: {
                if (const bool ok = co_await session.start_tls(); !ok) co_return false;
                session.begin(Phase::command);
                machine.advance();
                break;
            }
        }
    }
}

}  // namespace tierwatch

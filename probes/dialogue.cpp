// The tcp dialogue (dialogue.hpp): matching lines against compiled expect regexes, bounded in
// lines per step and by the session's one deadline.
#include "probes/dialogue.hpp"

#include <stdexcept>

namespace tierwatch {

DialogueMachine::Action DialogueMachine::next() const noexcept {
    if (reason_ != FailureReason::none) return Action::failed;
    if (step_ >= steps_.size()) return Action::done;
    switch (steps_[step_].kind) {
        case DialogueStep::Kind::expect: return Action::read_line;
        case DialogueStep::Kind::send: return Action::send;
        case DialogueStep::Kind::starttls: return Action::starttls;
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
    if (++lines_ < max_lines_) return;
    // A greeting that never matches is the wrong service on the port, as with banner_regex.
    reason_ = greeting() ? FailureReason::bad_greeting : FailureReason::protocol;
    detail_ = "step " + std::to_string(step_ + 1) + ": no line matched /" + printable_excerpt(step.text) +
              "/ within " + std::to_string(max_lines_) + (max_lines_ == 1 ? " line" : " lines") +
              "; last \"" + printable_excerpt(line) + "\"";
}

boost::asio::awaitable<bool> run_dialogue(ProbeSession& session) {
    DialogueMachine machine(session.check().dialogue);
    session.begin(Phase::greeting);
    while (true) {
        switch (machine.next()) {
            case DialogueMachine::Action::done:
                co_return true;
            case DialogueMachine::Action::failed:
                co_return session.fail(machine.reason(), machine.detail());
            case DialogueMachine::Action::read_line: {
                std::string_view line;
                if (const bool ok = co_await session.read_line(line); !ok) co_return false;
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

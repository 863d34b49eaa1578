// Reads the tcp family's keys of a check (see tcp_settings.hpp).
#include "probes/tcp/settings/tcp_settings.hpp"

#include <algorithm>
#include <array>

#include "config/toml/section.hpp"

namespace tierwatch {

namespace {

using detail::did_you_mean;
using detail::in_quotes;
using detail::joined;

constexpr std::array<std::string_view, 2> tcp_only_keys{"banner_regex", "dialogue"};
constexpr std::array<std::string_view, 3> dialogue_step_keys{"expect", "send", "starttls"};
// Bounds a dialogue so a config cannot make one probe run unbounded work.
constexpr std::size_t max_dialogue_steps = 64;
constexpr std::size_t max_dialogue_send_bytes = 4096;

DialogueStep read_dialogue_step(const Section& s, const toml::key& key, const toml::node& value,
                                Protocol protocol) {
    DialogueStep step;
    if (key == "expect") {
        step.kind = DialogueStep::Kind::expect;
        step.text = s.expect<std::string>(value, "\"expect\"");
        if (step.text.empty()) {
            s.fail(value, "\"expect\" must not be empty");
        }
        try {
            step.regex.emplace(step.text);
        } catch (const boost::regex_error& e) {
            s.fail(value, "invalid regex for \"expect\": " + std::string(e.what()));
        }
    } else if (key == "send") {
        step.kind = DialogueStep::Kind::send;
        step.text = s.expect<std::string>(value, "\"send\"");
        if (std::string why = control_character_problem("send", step.text); !why.empty()) {
            s.fail(value, why + " (each send is one line; CRLF is added)");
        }
        if (step.text.size() > max_dialogue_send_bytes) {
            s.fail(value, "\"send\" is longer than " + std::to_string(max_dialogue_send_bytes) + " bytes");
        }
    } else if (key == "starttls") {
        step.kind = DialogueStep::Kind::starttls;
        if (!s.expect<bool>(value, "\"starttls\"")) {
            s.fail(value, "\"starttls\" in a dialogue step must be true (leave the step out otherwise)");
        }
        if (protocol != Protocol::tcp) {
            s.fail(value, "a starttls step applies only to protocol \"tcp\" (protocol " +
                              in_quotes(to_string(protocol)) + " is TLS from the start)");
        }
    } else {
        s.fail(value, "unknown dialogue step " + in_quotes(key.str()) + " (expected one of: " +
                          joined(dialogue_step_keys) + ")" + did_you_mean(key.str(), dialogue_step_keys));
    }
    return step;
}

// A dialogue: an array of one-key tables, e.g. [{ expect = "^220 " }, { send = "QUIT" },
// { starttls = true }].
std::vector<DialogueStep> read_dialogue(const Section& s, Protocol protocol) {
    std::vector<DialogueStep> steps;
    const toml::node* node = s.table().get("dialogue");
    if (!node) {
        return steps;
    }
    const auto& array = s.expect<toml::array>(*node, "\"dialogue\"");
    if (array.empty()) {
        s.fail(*node, "\"dialogue\" must not be empty (leave it out for a bare connect)");
    }
    if (array.size() > max_dialogue_steps) {
        s.fail(*node, "\"dialogue\" has " + std::to_string(array.size()) + " steps, at most " +
                          std::to_string(max_dialogue_steps));
    }
    const std::string label = "each step of \"dialogue\" (e.g. { expect = \"^220 \" })";
    for (const toml::node& entry : array) {
        const auto& table = s.expect<toml::table>(entry, label);
        if (table.size() != 1) {
            s.fail(entry, "each step of \"dialogue\" has exactly one of " + detail::quoted_list(dialogue_step_keys) +
                              ", got " + std::to_string(table.size()) + " keys");
        }
        const auto only = *table.begin();  // a proxy holding references into the table
        steps.push_back(read_dialogue_step(s, only.first, only.second, protocol));
    }
    return steps;
}

}  // namespace

bool TcpSettings::starttls() const noexcept {
    return std::any_of(dialogue.begin(), dialogue.end(),
                       [](const DialogueStep& step) { return step.kind == DialogueStep::Kind::starttls; });
}

std::span<const std::string_view> tcp_settings_keys() noexcept { return tcp_only_keys; }

void reject_foreign_tcp_keys(const Section& s, Protocol protocol) {
    if (traits(protocol).family != ProtocolFamily::tcp) {
        s.reject_keys_for(tcp_only_keys, "protocols tcp, tls", to_string(protocol));
    }
}

TcpSettings read_tcp_settings(const Section& s, Protocol protocol) {
    TcpSettings tcp;
    tcp.dialogue = read_dialogue(s, protocol);
    if (!tcp.dialogue.empty() && s.has("banner_regex")) {
        s.fail("banner_regex", "\"banner_regex\" and \"dialogue\" exclude each other: make the banner the "
                               "dialogue's first expect step");
    }
    tcp.banner_regex = s.regex("banner_regex", tcp.banner_regex_text);
    return tcp;
}

}  // namespace tierwatch

// IMAP response parsing and command quoting (see imap_parser.hpp).
#include "probes/wire/imap_parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "probes/wire/printable.hpp"

namespace tierwatch {

namespace {

constexpr std::array<std::pair<std::string_view, ImapStatus>, 5> status_words{{
    {"OK", ImapStatus::ok},
    {"NO", ImapStatus::no},
    {"BAD", ImapStatus::bad},
    {"PREAUTH", ImapStatus::preauth},
    {"BYE", ImapStatus::bye},
}};

ImapStatus parse_status(std::string_view word) noexcept {
    for (const auto& [name, status] : status_words) {
        if (equals_ignoring_case(word, name)) return status;
    }
    return ImapStatus::none;
}

// RFC 3501 tag: ASTRING-CHARs except "+", so no space, controls, 8-bit, or ( ) { % * " \.
bool valid_tag(std::string_view tag) noexcept {
    return !tag.empty() && std::all_of(tag.begin(), tag.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7f &&
               std::string_view("(){%*\"\\+").find(c) == std::string_view::npos;
    });
}

// Splits "WORD rest" at the first space.
std::pair<std::string_view, std::string_view> first_word(std::string_view text) noexcept {
    const std::size_t space = text.find(' ');
    if (space == std::string_view::npos) return {text, {}};
    return {text.substr(0, space), text.substr(space + 1)};
}

}  // namespace

std::string_view to_string(ImapStatus status) noexcept {
    for (const auto& [name, value] : status_words) {
        if (value == status) return name;
    }
    return "";
}

std::string ImapResponse::summary() const {
    std::string out(to_string(status));
    if (!code.empty()) out += (out.empty() ? "[" : " [") + code + "]";
    if (!text.empty()) out += (out.empty() ? "" : " ") + text;
    return printable_excerpt(out);
}

bool imap_capabilities(const ImapResponse& response, std::vector<std::string>& out) {
    const std::string_view source =
        response.status == ImapStatus::none ? response.text : response.code;
    if (response.kind == ImapResponse::Kind::continuation) return false;
    const auto [keyword, rest] = first_word(source);
    if (!equals_ignoring_case(keyword, "CAPABILITY")) return false;
    for (std::string_view atom : split_words(rest)) out.emplace_back(atom);
    return true;
}

bool imap_search_results(const ImapResponse& response, std::vector<std::uint32_t>& out) {
    if (response.kind != ImapResponse::Kind::untagged || response.status != ImapStatus::none) {
        return true;
    }
    const auto [keyword, rest] = first_word(response.text);
    if (!equals_ignoring_case(keyword, "SEARCH")) return true;
    for (std::string_view word : split_words(rest)) {
        std::uint32_t number = 0;
        const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), number);
        if (ec != std::errc{} || end != word.data() + word.size() || number == 0) return false;
        out.push_back(number);
    }
    return true;
}

void ImapResponseParser::reset() {
    state_ = State::start;
    lines_ = 0;
    literal_remaining_ = 0;
    literal_total_ = 0;
    kept_total_ = 0;
    response_.kind = ImapResponse::Kind::untagged;
    response_.tag.clear();
    response_.status = ImapStatus::none;
    response_.code.clear();
    response_.text.clear();
    response_.literals.clear();
    error_.clear();
}

ParseStatus ImapResponseParser::invalid(std::string why, std::string_view line) {
    error_ = std::move(why) + ": \"" + printable_excerpt(line) + "\"";
    return ParseStatus::invalid;
}

ParseStatus ImapResponseParser::feed(std::string_view line) {
    if (state_ == State::done) reset();
    switch (state_) {
        case State::start:
            return start(line);
        case State::continuation:
            return data(line, line);
        case State::literal: {
            const std::size_t taken = feed_literal(line);
            if (taken < line.size()) return data(line.substr(taken), line);
            // The line end: if the literal ends at or inside it, the response line ends there too.
            if (feed_literal("\r\n") < 2) return data({}, line);
            return ParseStatus::need_more;
        }
        case State::done:
            break;
    }
    return ParseStatus::invalid;
}

std::size_t ImapResponseParser::feed_literal(std::string_view bytes) {
    const std::size_t taken = std::min(bytes.size(), literal_remaining_);
    if (state_ != State::literal || taken == 0) return 0;
    const std::size_t kept = std::min(taken, max_kept_ - std::min(kept_total_, max_kept_));
    response_.literals.back().append(bytes.substr(0, kept));
    kept_total_ += kept;
    literal_remaining_ -= taken;
    if (literal_remaining_ == 0) state_ = State::continuation;
    return taken;
}

ParseStatus ImapResponseParser::start(std::string_view line) {
    if (line.starts_with('+') && (line.size() == 1 || line[1] == ' ')) {
        response_.kind = ImapResponse::Kind::continuation;
        response_.text.assign(line.substr(std::min<std::size_t>(2, line.size())));
        state_ = State::done;
        return ParseStatus::complete;
    }
    const auto [tag, rest] = first_word(line);
    if (tag == "*") {
        response_.kind = ImapResponse::Kind::untagged;
        const auto [word, after] = first_word(rest);
        response_.status = parse_status(word);
        if (response_.status != ImapStatus::none) return status_response(after);
        if (word.empty()) return invalid("empty untagged response", line);
        return data(rest, line);
    }
    if (!valid_tag(tag)) return invalid("malformed IMAP response", line);
    response_.kind = ImapResponse::Kind::tagged;
    response_.tag.assign(tag);
    const auto [word, after] = first_word(rest);
    response_.status = parse_status(word);
    if (response_.status != ImapStatus::ok && response_.status != ImapStatus::no &&
        response_.status != ImapStatus::bad) {
        return invalid("tagged response without OK, NO or BAD", line);
    }
    return status_response(after);
}

// resp-text: an optional "[code]" and human text. It holds no literals, so a "{5}" at its end
// is just text.
ParseStatus ImapResponseParser::status_response(std::string_view rest) {
    if (rest.starts_with('[')) {
        const std::size_t close = rest.find(']');
        if (close != std::string_view::npos) {
            response_.code.assign(rest.substr(1, close - 1));
            rest.remove_prefix(close + 1);
            if (rest.starts_with(' ')) rest.remove_prefix(1);
        }
    }
    response_.text.assign(rest);
    state_ = State::done;
    return ParseStatus::complete;
}

// Untagged data, line by line: a line ending in "{n}" announces n literal bytes, after which the
// same response goes on.
ParseStatus ImapResponseParser::data(std::string_view rest, std::string_view line) {
    // Literal bytes are bounded by max_literal_; this bounds the text pieces between them.
    if (++lines_ > max_lines_) {
        return invalid("response longer than " + std::to_string(max_lines_) + " lines", line);
    }
    response_.text.append(rest);
    if (!rest.ends_with('}')) {
        state_ = State::done;
        return ParseStatus::complete;
    }
    const std::size_t open = rest.rfind('{');
    const std::string_view digits = open == std::string_view::npos
                                        ? std::string_view()
                                        : rest.substr(open + 1, rest.size() - open - 2);
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
        // "{...}" that is no literal (e.g. "{abc}") ends the response like any other text.
        state_ = State::done;
        return ParseStatus::complete;
    }
    if (size > max_literal_ - std::min(literal_total_, max_literal_)) {
        return invalid("literal of " + std::to_string(size) + " bytes exceeds the " +
                           std::to_string(max_literal_) + "-byte bound",
                       line);
    }
    literal_total_ += size;
    literal_remaining_ = size;
    response_.literals.emplace_back();
    state_ = size == 0 ? State::continuation : State::literal;
    return ParseStatus::need_more;
}

std::vector<std::string> imap_command(std::string_view tag, std::string_view verb,
                                      std::span<const std::string_view> arguments) {
    std::vector<std::string> parts(1);
    std::string* current = &parts.front();
    *current += tag;
    *current += ' ';
    *current += verb;
    for (std::string_view argument : arguments) {
        *current += ' ';
        if (argument.find('\0') != std::string_view::npos) return {};
        const bool needs_literal = std::any_of(argument.begin(), argument.end(), [](char c) {
            return c == '\r' || c == '\n' || static_cast<unsigned char>(c) >= 0x80;
        });
        if (needs_literal) {
            *current += "{" + std::to_string(argument.size()) + "}\r\n";
            current = &parts.emplace_back(argument);
            continue;
        }
        *current += '"';
        for (char c : argument) {
            if (c == '"' || c == '\\') *current += '\\';
            *current += c;
        }
        *current += '"';
    }
    *current += "\r\n";
    return parts;
}

}  // namespace tierwatch

// Monitoring Plugins threshold ranges (see plugin_range.hpp).
#include "daemon/cli/plugin_range.hpp"

#include <charconv>
#include <cmath>

namespace tierwatch {
namespace {

std::optional<double> parse_number(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() ||
        !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

bool PluginRange::alerts(double value) const noexcept {
    const bool within = (start_unbounded || value >= start) && (end_unbounded || value <= end);
    return inside ? within : !within;
}

std::string PluginRange::to_string() const {
    std::string text = inside ? "@" : "";
    // "10" means 0:10, so the start is written only when it is not that implicit 0.
    if (start_unbounded) {
        text += "~:";
    } else if (start != 0 || end_unbounded) {
        text += format_plugin_number(start) + ":";
    }
    if (!end_unbounded) text += format_plugin_number(end);
    return text;
}

std::optional<PluginRange> parse_plugin_range(std::string_view text, std::string& why) {
    PluginRange range;
    std::string_view rest = text;
    if (rest.starts_with('@')) {
        range.inside = true;
        rest.remove_prefix(1);
    }
    if (rest.empty()) {
        why = "empty range";
        return std::nullopt;
    }
    const std::size_t colon = rest.find(':');
    std::string_view start_text;
    std::string_view end_text = rest;
    if (colon != std::string_view::npos) {
        start_text = rest.substr(0, colon);
        end_text = rest.substr(colon + 1);
        if (end_text.find(':') != std::string_view::npos) {
            why = "more than one ':'";
            return std::nullopt;
        }
    }
    if (start_text == "~") {
        range.start_unbounded = true;
    } else if (!start_text.empty()) {  // ":10" is 0:10, as the C library reads it
        const auto start = parse_number(start_text);
        if (!start) {
            why = "start \"" + std::string(start_text) + "\" is not a number";
            return std::nullopt;
        }
        range.start = *start;
    }
    if (end_text.empty()) {  // only after a ':' ("10:")
        // "~:" or ":" would alert on nothing, or with '@' on everything: certainly a typo.
        if (start_text.empty() || range.start_unbounded) {
            why = "a range needs a start or an end";
            return std::nullopt;
        }
        range.end_unbounded = true;
    } else {
        const auto end = parse_number(end_text);
        if (!end) {
            why = "end \"" + std::string(end_text) + "\" is not a number";
            return std::nullopt;
        }
        range.end = *end;
    }
    if (!range.start_unbounded && !range.end_unbounded && range.start > range.end) {
        why = "start " + format_plugin_number(range.start) + " is above end " +
              format_plugin_number(range.end);
        return std::nullopt;
    }
    return range;
}

std::string format_plugin_number(double value) {
    if (value == 0) value = 0;  // no "-0"
    char buffer[400];           // the longest fixed-notation double fits
    const auto [end, error] =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    return error == std::errc{} ? std::string(buffer, end) : std::string("0");
}

}  // namespace tierwatch

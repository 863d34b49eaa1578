// Wording helpers shared by the configuration loaders, so every error reads the same way.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace tierwatch::detail {

std::string in_quotes(std::string_view text);
// "a, b, c"
std::string joined(std::span<const std::string_view> names);
// "\"a\", \"b\", \"c\""
std::string quoted_list(std::span<const std::string_view> names);
std::size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean "x"?)" for the closest candidate within two edits, else nothing.
template <class Candidates>
std::string did_you_mean(std::string_view word, const Candidates& candidates) {
    std::string_view best;
    std::size_t best_distance = 3;
    for (std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance && distance < candidate.size()) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best.empty() ? std::string() : " (did you mean " + in_quotes(best) + "?)";
}

}  // namespace tierwatch::detail

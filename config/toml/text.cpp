// Wording helpers for configuration errors (see text.hpp).
#include "config/toml/text.hpp"

#include <algorithm>
#include <vector>

namespace tierwatch::detail {

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string joined(std::span<const std::string_view> names) {
    std::string out;
    for (std::string_view name : names) {
        out += out.empty() ? "" : ", ";
        out += name;
    }
    return out;
}

std::string quoted_list(std::span<const std::string_view> names) {
    std::string out;
    for (std::string_view name : names) {
        out += out.empty() ? "" : ", ";
        out += in_quotes(name);
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace tierwatch::detail

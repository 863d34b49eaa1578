// Prometheus text exposition (format 0.0.4) and the counter, gauge and histogram families.
#include "daemon/metrics/exposition.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace tierwatch::metrics {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

// Big enough for any double: sign, 17 significant digits, point and "e-308".
using NumberBuffer = std::array<char, 32>;

std::string_view chars(const NumberBuffer& buffer, std::to_chars_result result) {
    assert(result.ec == std::errc{});
    return {buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data())};
}

// Prometheus's spellings for what to_chars would print as "inf" and "nan"; empty if finite.
std::string_view special_spelling(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    return {};
}

std::string_view format_value(NumberBuffer& buffer, double value) {
    if (const auto special = special_spelling(value); !special.empty()) return special;
    char* const first = buffer.data();
    char* const last = first + buffer.size();
    // Integral values that fit in int64 print as exact integers ("1e+17" would be shorter but
    // reads badly in counters); beyond that the shortest round-trip form (1e+21) is exact too.
    if (value == std::trunc(value) && std::fabs(value) < 0x1p63) {
        return chars(buffer, std::to_chars(first, last, static_cast<std::int64_t>(value)));
    }
    return chars(buffer, std::to_chars(first, last, value));
}

// Go's strconv.FormatFloat(v, 'g', -1, 64): shortest digits, scientific when the decimal
// exponent is below -4 or at least 6 (Go's fixed rule for the shortest precision).
std::string_view format_bound(NumberBuffer& buffer, double bound) {
    if (const auto special = special_spelling(bound); !special.empty()) return special;
    char* const first = buffer.data();
    char* const last = first + buffer.size();
    const std::string_view scientific =
        chars(buffer, std::to_chars(first, last, bound, std::chars_format::scientific));
    const std::size_t e = scientific.find('e');
    const std::size_t digits = e + (scientific[e + 1] == '+' ? 2 : 1);  // from_chars rejects '+'
    int exponent = 0;
    std::from_chars(scientific.data() + digits, scientific.data() + scientific.size(), exponent);
    if (exponent < -4 || exponent >= 6) return scientific;
    return chars(buffer, std::to_chars(first, last, bound, std::chars_format::fixed));
}

// Appends text with each of `specials` backslash-escaped (a newline as \n). Plain runs go in
// one append each, so the common case is a single copy.
void append_escaped(std::string& out, std::string_view text, std::string_view specials) {
    for (auto pos = text.find_first_of(specials); pos != std::string_view::npos;
         pos = text.find_first_of(specials)) {
        out.append(text.substr(0, pos));
        out += '\\';
        out += text[pos] == '\n' ? 'n' : text[pos];
        text.remove_prefix(pos + 1);
    }
    out.append(text);
}

[[maybe_unused]] bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

[[maybe_unused]] bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
[[maybe_unused]] bool valid_metric_name(std::string_view name) {
    return !name.empty() && (is_name_start(name[0]) || name[0] == ':') &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return is_name_char(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, with names starting "__" reserved for Prometheus itself.
[[maybe_unused]] bool valid_label_name(std::string_view name) {
    return !name.empty() && is_name_start(name[0]) && !name.starts_with("__") &&
           std::all_of(name.begin(), name.end(), is_name_char);
}

std::string_view to_string(Type type) {
    switch (type) {
        case Type::counter:
            return "counter";
        case Type::gauge:
            return "gauge";
        case Type::histogram:
            return "histogram";
    }
    return "untyped";
}

constexpr Type type_of(const Counter&) {
    return Type::counter;
}
constexpr Type type_of(const Gauge&) {
    return Type::gauge;
}
constexpr Type type_of(const Histogram&) {
    return Type::histogram;
}

// Counters and gauges are one sample each; histograms write their own series.
template <typename Scalar>
void write_child(TextWriter& writer, std::string_view name, std::span<const Label> labels,
                 const Scalar& metric) {
    writer.sample(name, labels, metric.value());
}

void write_child(TextWriter& writer, std::string_view name, std::span<const Label> labels,
                 const Histogram& histogram) {
    histogram.write(writer, name, labels);
}

}  // namespace

void append_value(std::string& out, double value) {
    NumberBuffer buffer;
    out.append(format_value(buffer, value));
}

void append_bound(std::string& out, double bound) {
    NumberBuffer buffer;
    out.append(format_bound(buffer, bound));
}

void TextWriter::family(std::string_view name, std::string_view help, Type type) {
    assert(valid_metric_name(name));
    out_.append("# HELP ");
    out_.append(name);
    out_ += ' ';
    append_escaped(out_, help, "\\\n");
    out_.append("\n# TYPE ");
    out_.append(name);
    out_ += ' ';
    out_.append(to_string(type));
    out_ += '\n';
}

void TextWriter::sample(std::string_view name, std::span<const Label> labels, double value) {
    sample(name, {}, labels, nullptr, value);
}

void TextWriter::sample(std::string_view name, std::string_view suffix,
                        std::span<const Label> labels, const Label* extra, double value) {
    assert(valid_metric_name(name));
    out_.append(name);
    out_.append(suffix);
    char separator = '{';
    const auto append_label = [&](const Label& label) {
        assert(valid_label_name(label.name));
        out_ += separator;
        out_.append(label.name);
        out_.append("=\"");
        append_escaped(out_, label.value, "\\\"\n");
        out_ += '"';
        separator = ',';
    };
    for (const Label& label : labels) append_label(label);
    if (extra != nullptr) append_label(*extra);
    if (separator == ',') out_ += '}';
    out_ += ' ';
    NumberBuffer buffer;
    out_.append(format_value(buffer, value));
    out_ += '\n';
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
    if (!bounds_.empty() && bounds_.back() == infinity) bounds_.pop_back();
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
            throw std::invalid_argument("histogram bounds must be strictly increasing numbers");
        }
    }
    counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) noexcept {
    // First bound with value <= bound: a value equal to a bound belongs to that bucket (le).
    // Written as !(value <= bound) so that NaN, which compares false, lands in +Inf as in Go.
    const auto bucket = std::partition_point(bounds_.begin(), bounds_.end(),
                                             [value](double bound) { return !(value <= bound); });
    ++counts_[static_cast<std::size_t>(bucket - bounds_.begin())];
    sum_ += value;
    ++count_;
}

void Histogram::write(TextWriter& writer, std::string_view name,
                      std::span<const Label> labels) const {
    NumberBuffer le_buffer;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        cumulative += counts_[i];
        const double bound = i < bounds_.size() ? bounds_[i] : infinity;
        const Label le{"le", format_bound(le_buffer, bound)};
        writer.sample(name, "_bucket", labels, &le, static_cast<double>(cumulative));
    }
    writer.sample(name, "_sum", labels, nullptr, sum_);
    writer.sample(name, "_count", labels, nullptr, static_cast<double>(count_));
}

std::vector<double> Histogram::exponential_buckets(double start, double factor, std::size_t count) {
    if (count < 1 || !(start > 0) || !(factor > 1)) {
        throw std::invalid_argument("exponential_buckets needs count >= 1, start > 0, factor > 1");
    }
    std::vector<double> bounds(count);
    // Repeated multiplication rather than pow(), so the bounds equal the Go client's exactly.
    for (double& bound : bounds) {
        bound = start;
        start *= factor;
    }
    return bounds;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       Metric prototype)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      prototype_(std::move(prototype)) {
    assert(valid_metric_name(name_));
    // A histogram adds le itself; a second le would make every bucket ambiguous.
    assert(std::all_of(label_names_.begin(), label_names_.end(), [](const std::string& label) {
        return valid_label_name(label) && !(std::is_same_v<Metric, Histogram> && label == "le");
    }));
    if (label_names_.empty()) with({});
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
    if (label_values.size() != label_names_.size()) {
        throw std::invalid_argument(name_ + ": expected " + std::to_string(label_names_.size()) +
                                    " label values, got " + std::to_string(label_values.size()));
    }
    auto child = children_.find(label_values);
    if (child == children_.end()) {
        child = children_.emplace(label_values, std::make_unique<Metric>(prototype_)).first;
    }
    return *child->second;
}

template <typename Metric>
void Family<Metric>::write(TextWriter& writer) const {
    writer.family(name_, help_, type_of(prototype_));
    // One label list reused for every child: only the values change between them.
    std::vector<Label> labels(label_names_.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i].name = label_names_[i];
    for (const auto& [values, metric] : children_) {
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i].value = values[i];
        write_child(writer, name_, labels, *metric);
    }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
    std::variant<Family<Counter>, Family<Gauge>, Family<Histogram>> family;
};

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename Metric>
Family<Metric>& Registry::add(Family<Metric> family) {
    for (const auto& entry : entries_) {
        auto* existing = std::get_if<Family<Metric>>(&entry->family);
        const bool same_name = std::visit([&](const auto& f) { return f.name() == family.name(); },
                                          entry->family);
        if (!same_name) continue;
        if (existing && existing->label_names() == family.label_names()) return *existing;
        throw std::invalid_argument("metric family registered twice with another type or labels: " +
                                    family.name());
    }
    entries_.push_back(std::make_unique<Entry>(Entry{std::move(family)}));
    return std::get<Family<Metric>>(entries_.back()->family);
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
    return add(Family<Counter>(std::move(name), std::move(help), std::move(label_names)));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
    return add(Family<Gauge>(std::move(name), std::move(help), std::move(label_names)));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<double> upper_bounds,
                                       std::vector<std::string> label_names) {
    return add(Family<Histogram>(std::move(name), std::move(help), std::move(label_names),
                                 Histogram(std::move(upper_bounds))));
}

void Registry::render(std::string& out) const {
    TextWriter writer(out);
    for (const auto& entry : entries_) {
        std::visit([&](const auto& family) { family.write(writer); }, entry->family);
    }
}

}  // namespace tierwatch::metrics

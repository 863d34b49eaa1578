// A small Prometheus exposition module following prometheus-cpp's data model (families of
// counters, gauges and histograms with labels) and the text format 0.0.4. Single-threaded:
// everything lives on the event loop. Per-target series are not stored here; they are
// rendered straight from the target table with TextWriter on each scrape.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tierwatch::metrics {

enum class Type { counter, gauge, histogram };

struct Label {
    std::string_view name;
    std::string_view value;
};

// Appends exposition text to a caller-owned buffer (reused between scrapes).
class TextWriter {
public:
    explicit TextWriter(std::string& out) : out_(out) {}
    // Writes "# HELP" and "# TYPE" for a family; call once before its samples.
    void family(std::string_view name, std::string_view help, Type type);
    // One sample line: name{labels} value. Label values are escaped (\\, \", \n).
    void sample(std::string_view name, std::span<const Label> labels, double value);
    void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
        sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
    }

private:
    std::string& out_;
};

class Counter {
public:
    void inc(double by = 1.0) noexcept { value_ += by; }
    double value() const noexcept { return value_; }

private:
    double value_ = 0.0;
};

class Gauge {
public:
    void set(double v) noexcept { value_ = v; }
    void inc(double by = 1.0) noexcept { value_ += by; }
    void dec(double by = 1.0) noexcept { value_ -= by; }
    double value() const noexcept { return value_; }

private:
    double value_ = 0.0;
};

class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);  // sorted, without +Inf
    void observe(double value) noexcept;
    const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
    // Non-cumulative count per bucket; the last entry is the +Inf bucket.
    const std::vector<std::uint64_t>& bucket_counts() const noexcept { return counts_; }
    double sum() const noexcept { return sum_; }
    std::uint64_t count() const noexcept { return count_; }
    // Writes the _bucket (cumulative, le="..."), _sum and _count lines.
    void write(TextWriter& writer, std::string_view name, std::span<const Label> labels) const;

    static std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    double sum_ = 0.0;
    std::uint64_t count_ = 0;
};

// A named family whose children are keyed by label values, in the order of label_names.
template <typename Metric>
class Family {
public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           Metric prototype = Metric{});
    // Returns the child for these label values, creating it on first use. The reference stays
    // valid for the family's lifetime: look it up once, keep it, update it on the hot path.
    Metric& with(const std::vector<std::string>& label_values);
    const std::string& name() const noexcept { return name_; }
    void write(TextWriter& writer) const;

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    Metric prototype_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

// Owns the daemon-level families; renders them all in registration order.
class Registry {
public:
    Family<Counter>& counter(std::string name, std::string help,
                             std::vector<std::string> label_names = {});
    Family<Gauge>& gauge(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
    Family<Histogram>& histogram(std::string name, std::string help,
                                 std::vector<double> upper_bounds,
                                 std::vector<std::string> label_names = {});
    void render(std::string& out) const;

private:
    struct Entry;
    std::vector<std::unique_ptr<Entry>> entries_;
};

// Formats a sample value as Prometheus expects: integers without exponent, +Inf/-Inf/NaN.
void append_value(std::string& out, double value);

}  // namespace tierwatch::metrics

// A small Prometheus exposition module following prometheus-cpp's data model (families of
// counters, gauges and histograms with labels) and the text format 0.0.4. Single-threaded:
// everything lives on the event loop. Per-target series are not stored here; they are
// rendered straight from the target table with TextWriter on each scrape.
#pragma once

#include <cstddef>
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
    // A sample of a derived series, name+suffix{labels,extra} value (extra may be null). Lets
    // histograms write _bucket/_sum/_count and le without building names or label lists.
    void sample(std::string_view name, std::string_view suffix, std::span<const Label> labels,
                const Label* extra, double value);

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
    // Bounds must be strictly increasing (else std::invalid_argument); the +Inf bucket is
    // implicit, so a trailing +Inf bound is dropped.
    explicit Histogram(std::vector<double> upper_bounds);
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
// Children are written sorted by those values; a family without labels has one child from
// construction, so it is exposed (as 0) before first use.
template <typename Metric>
class Family {
public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           Metric prototype = Metric{});
    // Returns the child for these label values, creating it on first use. The reference stays
    // valid for the family's lifetime: look it up once, keep it, update it on the hot path.
    // Throws std::invalid_argument if the number of values differs from the label names.
    Metric& with(const std::vector<std::string>& label_values);
    const std::string& name() const noexcept { return name_; }
    const std::vector<std::string>& label_names() const noexcept { return label_names_; }
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
    Registry();
    ~Registry();  // out of line: Entry is complete only in metrics.cpp
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Registering a name again with the same type and label names returns the existing family
    // (a reload rebuilds the parts that own them, and counters must not restart); a different
    // type or label set throws std::invalid_argument.
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
    template <typename Metric>
    Family<Metric>& add(Family<Metric> family);

    std::vector<std::unique_ptr<Entry>> entries_;
};

// Formats a sample value as Prometheus expects: integers without exponent, +Inf/-Inf/NaN.
void append_value(std::string& out, double value);
// Formats a histogram bound for the le label as the Go client does (strconv 'g', shortest):
// 0.005, 2.5, 10, 1e+06, +Inf. Matching it keeps le values identical across exporters.
void append_bound(std::string& out, double bound);

}  // namespace tierwatch::metrics

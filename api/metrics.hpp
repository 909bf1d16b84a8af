// A writer for the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): metric families with
// `# HELP` and `# TYPE` lines, counters, gauges and histograms, escaped label values. The node's
// GET /metrics (relayer/metrics_endpoint.cpp) builds its answer with it.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::api {

enum class MetricType { counter, gauge, histogram };

/// Label name → value pairs, in the order they are written. Names must match
/// [a-zA-Z_][a-zA-Z0-9_]* and not start with "__"; values may hold any text (escaped on output).
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// Collects metric families and renders them. Families come out in the order they were first
/// declared; a family without samples is left out. Names, types and label names are the
/// program's own constants, so breaking a rule below is a programming error and throws
/// std::logic_error naming the metric; label values and sample values are never checked
/// (they may come from the network) beyond what the format needs.
///
/// Not thread-safe.
class PrometheusWriter {
public:
    /// Declares a family. `name` must match [a-zA-Z_][a-zA-Z0-9_]*; a counter's name ends in
    /// "_total"; a histogram's does not end in _bucket, _sum or _count. Declaring a name again
    /// with the same type continues that family (its first help text stays); with another type
    /// it throws.
    void declare(std::string_view name, MetricType type, std::string_view help);

    /// A counter or gauge sample of a declared family. A second sample with the same labels in
    /// one family throws.
    void sample(std::string_view name, const MetricLabels& labels, double value);
    void sample(std::string_view name, const MetricLabels& labels, std::uint64_t value);
    void sample(std::string_view name, const MetricLabels& labels, std::int64_t value);

    /// A histogram sample: `upper_bounds` in strictly ascending order (finite), and
    /// `bucket_counts` with one more entry than `upper_bounds`: the observations in each
    /// bucket (not cumulative), the last being those above the largest bound. Written as
    /// cumulative `_bucket{le=...}` lines ending with le="+Inf", then `_sum` and `_count`.
    void histogram(std::string_view name, const MetricLabels& labels,
                   std::span<const double> upper_bounds,
                   std::span<const std::uint64_t> bucket_counts, double sum);

    /// The exposition text; every line ends in '\n'.
    std::string text() const;

private:
    struct Family {
        std::string name;
        MetricType type = MetricType::gauge;
        std::string help;
        std::vector<std::string> lines;   // rendered sample lines
        std::vector<std::string> series;  // rendered label sets, to refuse repeats
    };
    Family& family_for_sample(std::string_view name, const MetricLabels& labels, bool histogram);

    std::vector<Family> families_;
    std::map<std::string, std::size_t, std::less<>> index_;
};

/// The value as the format writes it: integers without a fraction, otherwise the shortest
/// text that reads back as the same double; "+Inf", "-Inf", "NaN".
std::string format_metric_value(double value);

/// `value` with backslash, double quote and line feed escaped as \\, \" and \n.
std::string escape_label_value(std::string_view value);

}  // namespace ferry::api

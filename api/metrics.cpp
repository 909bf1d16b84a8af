#include "api/metrics.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace ferry::api {

namespace {

bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) noexcept {
    if (name.empty() || !is_name_start(name.front())) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

[[noreturn]] void misuse(std::string_view name, std::string_view why) {
    throw std::logic_error("metric " + std::string(name) + ": " + std::string(why));
}

std::string_view type_name(MetricType t) noexcept {
    switch (t) {
        case MetricType::counter:
            return "counter";
        case MetricType::gauge:
            return "gauge";
        case MetricType::histogram:
            return "histogram";
    }
    return "untyped";
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

/// `{a="x",b="y"}` (empty for no labels), with `extra` appended as the last label.
std::string render_labels(std::string_view metric, const MetricLabels& labels,
                          const std::pair<std::string_view, std::string_view>* extra = nullptr) {
    if (labels.empty() && extra == nullptr) return {};
    std::string out = "{";
    bool first = true;
    auto add = [&](std::string_view name, std::string_view value) {
        if (!is_valid_name(name) || name.starts_with("__"))
            misuse(metric, "bad label name \"" + std::string(name) + "\"");
        if (!first) out += ',';
        first = false;
        out.append(name);
        out += "=\"";
        out += escape_label_value(value);
        out += '"';
    };
    for (const auto& [name, value] : labels) add(name, value);
    if (extra != nullptr) add(extra->first, extra->second);
    out += '}';
    return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_metric_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    // Integers below 2^53 are exact in a double: write them without exponent or fraction.
    if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0)
        return std::to_string(static_cast<std::int64_t>(value));
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
    return std::string(buf, end);
}

void PrometheusWriter::declare(std::string_view name, MetricType type, std::string_view help) {
    if (!is_valid_name(name)) misuse(name, "invalid name");
    if (auto it = index_.find(name); it != index_.end()) {
        if (families_[it->second].type != type)
            misuse(name, "declared again as " + std::string(type_name(type)));
        return;
    }
    if (type == MetricType::counter && !ends_with(name, "_total"))
        misuse(name, "a counter's name must end in _total");
    if (type == MetricType::histogram &&
        (ends_with(name, "_bucket") || ends_with(name, "_sum") || ends_with(name, "_count")))
        misuse(name, "a histogram's name must not end in _bucket, _sum or _count");
    if (help.empty()) misuse(name, "no help text");
    Family f;
    f.name = std::string(name);
    f.type = type;
    f.help = std::string(help);
    index_.emplace(f.name, families_.size());
    families_.push_back(std::move(f));
}

PrometheusWriter::Family& PrometheusWriter::family_for_sample(std::string_view name,
                                                              const MetricLabels& labels,
                                                              bool histogram) {
    auto it = index_.find(name);
    if (it == index_.end()) misuse(name, "sample of an undeclared family");
    Family& f = families_[it->second];
    if (histogram != (f.type == MetricType::histogram))
        misuse(name, histogram ? "histogram sample for a " + std::string(type_name(f.type))
                               : "plain sample for a histogram");
    for (const auto& [label, value] : labels)
        if (histogram && label == "le") misuse(name, "a histogram may not have an le label");
    std::string series = render_labels(name, labels);
    for (const auto& s : f.series)
        if (s == series) misuse(name, "repeated series " + series);
    f.series.push_back(std::move(series));
    return f;
}

void PrometheusWriter::sample(std::string_view name, const MetricLabels& labels, double value) {
    Family& f = family_for_sample(name, labels, false);
    f.lines.push_back(f.name + f.series.back() + ' ' + format_metric_value(value));
}

void PrometheusWriter::sample(std::string_view name, const MetricLabels& labels,
                              std::uint64_t value) {
    Family& f = family_for_sample(name, labels, false);
    f.lines.push_back(f.name + f.series.back() + ' ' + std::to_string(value));
}

void PrometheusWriter::sample(std::string_view name, const MetricLabels& labels,
                              std::int64_t value) {
    Family& f = family_for_sample(name, labels, false);
    f.lines.push_back(f.name + f.series.back() + ' ' + std::to_string(value));
}

void PrometheusWriter::histogram(std::string_view name, const MetricLabels& labels,
                                 std::span<const double> upper_bounds,
                                 std::span<const std::uint64_t> bucket_counts, double sum) {
    if (bucket_counts.size() != upper_bounds.size() + 1)
        misuse(name, "needs one bucket count more than upper bounds");
    for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
        if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1]))
            misuse(name, "upper bounds must be finite and strictly ascending");
    }
    Family& f = family_for_sample(name, labels, true);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= upper_bounds.size(); ++i) {
        cumulative += bucket_counts[i];
        const std::string le =
            i < upper_bounds.size() ? format_metric_value(upper_bounds[i]) : "+Inf";
        const std::pair<std::string_view, std::string_view> le_label{"le", le};
        f.lines.push_back(f.name + "_bucket" + render_labels(name, labels, &le_label) + ' ' +
                          std::to_string(cumulative));
    }
    f.lines.push_back(f.name + "_sum" + f.series.back() + ' ' + format_metric_value(sum));
    f.lines.push_back(f.name + "_count" + f.series.back() + ' ' + std::to_string(cumulative));
}

std::string PrometheusWriter::text() const {
    std::string out;
    for (const auto& f : families_) {
        if (f.lines.empty()) continue;
        out += "# HELP " + f.name + ' ' + escape_help(f.help) + '\n';
        out += "# TYPE " + f.name + ' ' + std::string(type_name(f.type)) + '\n';
        for (const auto& line : f.lines) {
            out += line;
            out += '\n';
        }
    }
    return out;
}

}  // namespace ferry::api

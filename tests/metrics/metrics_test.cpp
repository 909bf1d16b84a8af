// The Prometheus text writer produces exactly the 0.0.4 exposition text (HELP/TYPE, counters,
// gauges, cumulative histograms, escaping), refuses misuse, and /health's per-chain verdict.
#include "api/metrics.hpp"
#include "relayer/metrics_endpoint.hpp"
#include "relayer/runtime.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

using namespace ferry::relayer;
using namespace ferry::api;

TEST(prometheus_writer, counter_and_gauge_exact_text) {
    PrometheusWriter w;
    w.declare("ferry_things_total", MetricType::counter, "Things done.");
    w.sample("ferry_things_total", {}, std::uint64_t{42});
    w.declare("ferry_temperature_celsius", MetricType::gauge, "How warm it is.");
    w.sample("ferry_temperature_celsius", {{"room", "a"}}, 21.5);
    w.sample("ferry_temperature_celsius", {{"room", "b"}}, -3.0);
    EXPECT_EQ(w.text(),
              "# HELP ferry_things_total Things done.\n"
              "# TYPE ferry_things_total counter\n"
              "ferry_things_total 42\n"
              "# HELP ferry_temperature_celsius How warm it is.\n"
              "# TYPE ferry_temperature_celsius gauge\n"
              "ferry_temperature_celsius{room=\"a\"} 21.5\n"
              "ferry_temperature_celsius{room=\"b\"} -3\n");
}

TEST(prometheus_writer, histogram_buckets_are_cumulative_and_end_with_inf) {
    PrometheusWriter w;
    w.declare("ferry_wait_seconds", MetricType::histogram, "Waiting time.");
    const std::array<double, 3> bounds = {0.5, 1, 2.5};
    const std::array<std::uint64_t, 4> counts = {1, 0, 3, 2};
    w.histogram("ferry_wait_seconds", {{"route", "alpha->beta"}}, bounds, counts, 12.25);
    EXPECT_EQ(w.text(),
              "# HELP ferry_wait_seconds Waiting time.\n"
              "# TYPE ferry_wait_seconds histogram\n"
              "ferry_wait_seconds_bucket{route=\"alpha->beta\",le=\"0.5\"} 1\n"
              "ferry_wait_seconds_bucket{route=\"alpha->beta\",le=\"1\"} 1\n"
              "ferry_wait_seconds_bucket{route=\"alpha->beta\",le=\"2.5\"} 4\n"
              "ferry_wait_seconds_bucket{route=\"alpha->beta\",le=\"+Inf\"} 6\n"
              "ferry_wait_seconds_sum{route=\"alpha->beta\"} 12.25\n"
              "ferry_wait_seconds_count{route=\"alpha->beta\"} 6\n");
}

TEST(prometheus_writer, histogram_without_labels) {
    PrometheusWriter w;
    w.declare("x_seconds", MetricType::histogram, "h");
    const std::array<double, 1> bounds = {1};
    const std::array<std::uint64_t, 2> counts = {0, 0};
    w.histogram("x_seconds", {}, bounds, counts, 0);
    EXPECT_EQ(w.text(),
              "# HELP x_seconds h\n# TYPE x_seconds histogram\n"
              "x_seconds_bucket{le=\"1\"} 0\nx_seconds_bucket{le=\"+Inf\"} 0\n"
              "x_seconds_sum 0\nx_seconds_count 0\n");
}

TEST(prometheus_writer, label_values_and_help_are_escaped) {
    PrometheusWriter w;
    w.declare("ferry_odd", MetricType::gauge, "Back\\slash and\nnew line \"quoted\".");
    w.sample("ferry_odd", {{"v", "a\\b\"c\nd"}}, std::uint64_t{1});
    EXPECT_EQ(w.text(),
              "# HELP ferry_odd Back\\\\slash and\\nnew line \"quoted\".\n"
              "# TYPE ferry_odd gauge\n"
              "ferry_odd{v=\"a\\\\b\\\"c\\nd\"} 1\n");
    EXPECT_EQ(escape_label_value("plain"), "plain");
    EXPECT_EQ(escape_label_value("\"\\\n"), "\\\"\\\\\\n");
}

TEST(prometheus_writer, declaring_again_continues_one_family) {
    PrometheusWriter w;
    w.declare("a_total", MetricType::counter, "First help.");
    w.sample("a_total", {{"chain", "alpha"}}, std::uint64_t{1});
    w.declare("b", MetricType::gauge, "B.");
    w.sample("b", {}, std::uint64_t{2});
    w.declare("a_total", MetricType::counter, "Second help is ignored.");
    w.sample("a_total", {{"chain", "beta"}}, std::uint64_t{3});
    EXPECT_EQ(w.text(),
              "# HELP a_total First help.\n# TYPE a_total counter\n"
              "a_total{chain=\"alpha\"} 1\na_total{chain=\"beta\"} 3\n"
              "# HELP b B.\n# TYPE b gauge\nb 2\n");
}

TEST(prometheus_writer, families_without_samples_are_left_out) {
    PrometheusWriter w;
    w.declare("empty_total", MetricType::counter, "Nothing.");
    w.declare("full", MetricType::gauge, "Something.");
    w.sample("full", {}, std::uint64_t{7});
    EXPECT_EQ(w.text(), "# HELP full Something.\n# TYPE full gauge\nfull 7\n");
    EXPECT_EQ(PrometheusWriter().text(), "");
}

TEST(prometheus_writer, misuse_throws_naming_the_metric) {
    PrometheusWriter w;
    EXPECT_THROW(w.declare("requests", MetricType::counter, "no _total"), std::logic_error);
    EXPECT_THROW(w.declare("9lives", MetricType::gauge, "bad name"), std::logic_error);
    EXPECT_THROW(w.declare("with-dash", MetricType::gauge, "bad name"), std::logic_error);
    EXPECT_THROW(w.declare("no_help", MetricType::gauge, ""), std::logic_error);
    EXPECT_THROW(w.declare("x_count", MetricType::histogram, "reserved suffix"), std::logic_error);
    EXPECT_THROW(w.sample("undeclared", {}, 1.0), std::logic_error);

    w.declare("g", MetricType::gauge, "G.");
    EXPECT_THROW(w.declare("g", MetricType::counter, "again"), std::logic_error);
    w.sample("g", {{"a", "1"}}, 1.0);
    try {
        w.sample("g", {{"a", "1"}}, 2.0);
        FAIL() << "a repeated series was accepted";
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("metric g: repeated series {a=\"1\"}"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(w.sample("g", {{"bad-label", "1"}}, 1.0), std::logic_error);
    EXPECT_THROW(w.sample("g", {{"__reserved", "1"}}, 1.0), std::logic_error);

    w.declare("h_seconds", MetricType::histogram, "H.");
    const std::array<double, 2> bounds = {2, 1};
    const std::array<std::uint64_t, 3> counts = {0, 0, 0};
    EXPECT_THROW(w.histogram("h_seconds", {}, bounds, counts, 0), std::logic_error);
    const std::array<double, 2> good = {1, 2};
    const std::array<std::uint64_t, 2> short_counts = {0, 0};
    EXPECT_THROW(w.histogram("h_seconds", {}, good, short_counts, 0), std::logic_error);
    EXPECT_THROW(w.histogram("h_seconds", {{"le", "1"}}, good, counts, 0), std::logic_error);
    EXPECT_THROW(w.sample("h_seconds", {}, 1.0), std::logic_error);
    EXPECT_THROW(w.histogram("g", {}, good, counts, 0), std::logic_error);
    // Nothing half-written survives a refused sample.
    EXPECT_EQ(w.text(), "# HELP g G.\n# TYPE g gauge\ng{a=\"1\"} 1\n");
}

TEST(prometheus_writer, values_are_formatted_exactly) {
    EXPECT_EQ(format_metric_value(0), "0");
    EXPECT_EQ(format_metric_value(-0.0), "0");
    EXPECT_EQ(format_metric_value(3), "3");
    EXPECT_EQ(format_metric_value(0.1), "0.1");
    EXPECT_EQ(format_metric_value(1e18), "1e+18");
    EXPECT_EQ(format_metric_value(123456789.5), "123456789.5");
    EXPECT_EQ(format_metric_value(9007199254740991.0), "9007199254740991");
    EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
    PrometheusWriter w;
    w.declare("big_total", MetricType::counter, "Big.");
    w.sample("big_total", {}, std::uint64_t{18446744073709551615u});
    EXPECT_EQ(w.text(),
              "# HELP big_total Big.\n# TYPE big_total counter\n"
              "big_total 18446744073709551615\n");
}

TEST(node_counters, latency_lands_in_the_right_bucket) {
    NodeCounters c;
    c.record_latency(0);          // ≤ 1 s
    c.record_latency(1'000);      // ≤ 1 s (bounds are inclusive, like Prometheus' le)
    c.record_latency(1'001);      // ≤ 2 s
    c.record_latency(7'200'000);  // above the largest bound
    EXPECT_EQ(c.latency_count, 4u);
    EXPECT_EQ(c.latency_sum_ms, 7'202'001u);
    EXPECT_EQ(c.latency_buckets[0], 2u);
    EXPECT_EQ(c.latency_buckets[1], 1u);
    EXPECT_EQ(c.latency_buckets.back(), 1u);
    std::uint64_t total = 0;
    for (auto n : c.latency_buckets) total += n;
    EXPECT_EQ(total, 4u);
}

TEST(health, head_stall_bound_is_the_larger_of_a_minute_and_twenty_polls) {
    EXPECT_EQ(head_stall_bound(200).count(), 60'000);
    EXPECT_EQ(head_stall_bound(3'000).count(), 60'000);
    EXPECT_EQ(head_stall_bound(12'000).count(), 240'000);
    EXPECT_GT(head_stall_bound(std::numeric_limits<std::uint64_t>::max()).count(), 0);
}

TEST(health, chain_verdicts_name_the_chain_and_the_reason) {
    const std::chrono::milliseconds bound{60'000};
    EXPECT_EQ(chain_health_problem("alpha", true, true, "", 123, 1'000'000, 1'059'000, bound), "");
    EXPECT_EQ(chain_health_problem("alpha", true, true, "", 123, 1'000'000, 1'075'400, bound),
              "chain alpha: head 123 has not moved for 75 s");
    EXPECT_EQ(chain_health_problem("beta", true, false, "eth_blockNumber: connection refused", 123,
                                   1'000'000, 1'000'500, bound),
              "chain beta: unreachable: eth_blockNumber: connection refused");
    EXPECT_EQ(chain_health_problem("beta", false, false, "", std::nullopt, 0, 5, bound),
              "chain beta: unreachable: no head poll has finished yet");
}

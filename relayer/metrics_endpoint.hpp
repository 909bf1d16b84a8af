// GET /metrics (Prometheus text format 0.0.4, every name prefixed ferry_; docs/metrics.md lists
// them) and GET /health, registered on the node's API server.
#pragma once

#include "storage/queue.hpp"  // UnixMillis

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::relayer {

struct Node;

/// Content type of GET /metrics.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Adds GET /metrics and GET /health to node.api.
void register_metrics_endpoints(Node& node);

/// The /metrics text for the node as it is now.
std::string render_metrics(const Node& node);

/// How long a chain's head may stand still before /health fails: max(60 s, 20 × poll interval).
std::chrono::milliseconds head_stall_bound(std::uint64_t poll_interval_ms) noexcept;

/// What /health says about one chain. Empty when it is healthy: its last head poll was answered
/// and the head changed within `bound` of `now`. Otherwise one line without a newline:
/// "chain <name>: unreachable: <error>" or "chain <name>: head <n> has not moved for <s> s".
std::string chain_health_problem(std::string_view name, bool polled, bool reachable,
                                 std::string_view error, std::optional<std::uint64_t> head,
                                 storage::UnixMillis head_changed_at, storage::UnixMillis now,
                                 std::chrono::milliseconds bound);

}  // namespace ferry::relayer

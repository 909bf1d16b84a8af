// GET /metrics (Prometheus text format) and GET /health, registered on the node's API server.
#pragma once

namespace ferry::relayer {

struct Node;

/// Adds GET /metrics and GET /health to node.api.
void register_metrics_endpoints(Node& node);

}  // namespace ferry::relayer

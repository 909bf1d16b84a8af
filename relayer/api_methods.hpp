// The node's JSON-RPC methods for operators (ferry_status and friends); registered on the
// node's API server by `ferry start`.
#pragma once

#include <nlohmann/json.hpp>

namespace ferry::relayer {

struct Node;

/// The answer of ferry_status.
nlohmann::json status_json(Node& node);

/// Adds the operator methods to node.api.
void register_api_methods(Node& node);

}  // namespace ferry::relayer

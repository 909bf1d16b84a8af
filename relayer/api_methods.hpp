// The node's JSON-RPC methods for operators; registered on the node's API server by `ferry start`.
//
//   ferry_status               version, uptime, roles, chains, routes, counters, API stats
//   ferry_chains / ferry_routes   status's "chains" / "routes" arrays
//   ferry_packet {id}          one packet with its attestations, deliveries and receipt
//   ferry_packets {state?, route?, limit?, cursor?}   one page, in (route, nonce) order, with an
//                              opaque next_cursor (null on the last page)
//   ferry_retry {id} | {route, dead: true}   admin: dead (or failed) packets back to attested
//
// Params are checked strictly: an unknown key, a wrong type or a bad id, route ("from->to" of a
// configured route), state, limit (1..1000) or cursor is -32602 with a message naming the param
// and what it must be. -32004: unknown packet. -32001: ferry_retry without the admin token
// ("admin token not configured" / "unauthorized"). -32603: the queue could not be read.
#pragma once

#include <nlohmann/json.hpp>

namespace ferry::relayer {

struct Node;

/// The answer of ferry_status.
nlohmann::json status_json(Node& node);

/// Adds the operator methods to node.api. Reads the admin token once, from the environment
/// variable config.api.admin_token_env names (only its digest is kept; it is never logged).
void register_api_methods(Node& node);

}  // namespace ferry::relayer

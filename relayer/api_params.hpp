// The parameter checks, errors and cursors shared by the node's JSON-RPC methods
// (relayer/api_methods.cpp, relayer/api_packets.cpp): strict named params, -32602 naming the
// bad param, packet ids, states, routes and opaque page cursors.
#pragma once

#include "api/api_server.hpp"
#include "chains/evm/u256.hpp"
#include "relayer/node_state.hpp"
#include "storage/queue.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ferry::relayer::api_detail {

using api::RpcMethodError;
using nlohmann::json;

constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kUnauthorized = -32001;
constexpr int kNotFound = -32004;

constexpr std::size_t kDefaultPageLimit = 100;
constexpr std::size_t kMaxPageLimit = 1000;
/// Live deliveries read to find those of one packet (the submitter keeps far fewer in flight).
constexpr std::size_t kMaxLiveDeliveries = 1024;
/// Bad values are echoed in errors up to this many characters.
constexpr std::size_t kMaxEcho = 80;
/// Cursor: "c1" + hex of (src, dst, nonce, seq), 8 big-endian bytes each.
constexpr std::string_view kCursorTag = "c1";
constexpr std::size_t kCursorBytes = 32;

using Keys = std::initializer_list<std::string_view>;

/// A JSON value in an error message, shortened.
std::string shown(const json& v);

RpcMethodError invalid(std::string_view param, std::string message);

RpcMethodError internal(std::string what);

std::string joined(Keys keys);

/// `params` as an object of the `keys` (or positional, in the order of `positional`); -32602
/// naming what is wrong otherwise.
boost::system::result<json, RpcMethodError> named_params(std::string_view method,
                                                         const json& params, Keys keys,
                                                         Keys positional = {});

boost::system::result<crypto::PacketId, RpcMethodError> parse_id(const json& v);

std::string states_text();

boost::system::result<storage::PacketState, RpcMethodError> parse_state(const json& v);

std::string route_label(const Node& node, const storage::Route& r);

boost::system::result<storage::Route, RpcMethodError> parse_route(const Node& node, const json& v);

std::string encode_cursor(const storage::PageKey& key);

boost::system::result<storage::PageKey, RpcMethodError> parse_cursor(const json& v);

/// Decimal digits of a 256-bit unsigned integer.
std::string u256_decimal(const chains::evm::U256& v);

double u256_ether(const chains::evm::U256& v);

}  // namespace ferry::relayer::api_detail

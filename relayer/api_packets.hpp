// The node's packet methods of its JSON-RPC API: ferry_packet (one packet with its
// attestations, deliveries and the receipt read from the chain), ferry_packets (filtered
// listing with opaque cursors) and ferry_retry (admin token required).
#pragma once

#include "api/api_server.hpp"
#include "chains/task.hpp"
#include "crypto/keccak.hpp"
#include "crypto/types.hpp"
#include "relayer/node_state.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace ferry::relayer {

/// The admin bearer token, as its digest; read once when the methods are registered.
struct AdminToken {
    std::optional<crypto::Hash32> digest;

    /// Constant time in the token's content: both sides are hashed to 32 bytes first.
    bool matches(const std::string& given) const noexcept {
        if (!digest) return false;
        const auto other = crypto::keccak256(crypto::as_bytes(given));
        volatile std::uint8_t diff = 0;
        for (std::size_t i = 0; i < other.size(); ++i)
            diff = static_cast<std::uint8_t>(diff | (other[i] ^ (*digest)[i]));
        return diff == 0;
    }
};

chains::Task<api::MethodResult> packet_method(Node& node, const nlohmann::json& params);
api::MethodResult packets_method(Node& node, const nlohmann::json& params);
api::MethodResult retry_method(Node& node, const AdminToken& token, const nlohmann::json& params,
                               const api::RequestContext& ctx);

}  // namespace ferry::relayer

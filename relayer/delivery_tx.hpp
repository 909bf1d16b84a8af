// Delivery transactions of one destination account (docs/design.md §1, §4): the calldata of
// deliverBatch for attested packets, fees by the chain's FeePolicy (market quote, replacement
// bump), signing, and broadcasting. The submitter sends new ones with it; the receipt tracker
// replaces and rebroadcasts them with it. Lives on the node's io_context thread.
#pragma once

#include "chains/evm/fee_policy.hpp"
#include "chains/evm/transaction.hpp"
#include "relayer/attestor.hpp"
#include "relayer/runtime.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferry::relayer {

struct SubmitterRoute {
    const RouteConfig* config = nullptr;
    const Attestor* attestor = nullptr;  ///< knows the route's validator set (threshold, members)
};

/// The chain's gas settings as a fee policy: tip fixed or from the node (1 gwei when it gives
/// none), max fee = base fee · fee_multiplier + tip up to max_fee_wei, bump fee_bump_percent.
chains::evm::FeePolicy fee_policy(const GasPolicy& gas);

/// The first 12 hex digits of a transaction hash, for log lines.
std::string short_hash(const crypto::Hash32& hash);

class DeliveryTxs {
public:
    using Clock = std::chrono::steady_clock;

    /// deliverBatch calldata and the packets it carries, in order.
    struct Built {
        crypto::Bytes calldata;
        std::vector<crypto::PacketId> ids;
        std::vector<std::size_t> packet_sizes;  ///< encoded bytes of each packet
        std::size_t signatures = 0;             ///< over all packets
    };

    /// `routes` (the destination's routes) must outlive this.
    DeliveryTxs(ChainRuntime& dst, storage::Queue& queue, const std::vector<SubmitterRoute>& routes,
                crypto::PrivateKey key, crypto::Address account);

    const crypto::Address& account() const noexcept { return account_; }

    /// Calldata of deliverBatch for `ids` (encoded packets + threshold signature bundles);
    /// nullopt with `error` set when a packet lacks bytes or signatures of the current set.
    std::optional<Built> build(const std::vector<crypto::PacketId>& ids, std::string& error);
    /// The signed transaction to the Inbox; nullopt (logged) when signing fails.
    std::optional<chains::evm::SignedTx> sign(const crypto::Bytes& calldata, std::uint64_t nonce,
                                              std::uint64_t gas, const chains::evm::Fees& fees);
    /// The policy's fees at the latest block; nullopt when the chain gives no base fee or the
    /// cap is below it.
    chains::Task<std::optional<chains::evm::Fees>> market_fees();
    /// Fees to replace delivery `d` (bumped, at least the market); nullopt at the fee cap.
    chains::Task<std::optional<chains::evm::Fees>> replacement_fees(const storage::Delivery& d);
    /// What became of a broadcast.
    enum class Sent {
        accepted,    ///< in the node's pool (or already there, or a transient failure: retried)
        nonce_used,  ///< "nonce too low": a mined transaction holds the nonce (ours or not)
        refused,     ///< refused for good as it stands (the error is in last_error)
    };
    /// Sends `raw`.
    chains::Task<Sent> broadcast(const crypto::Bytes& raw, const crypto::Hash32& hash);

    /// When `hash` was last broadcast (or deferred with defer_broadcast), if ever.
    std::optional<Clock::time_point> last_broadcast(const crypto::Hash32& hash) const;
    /// Counts now as a broadcast of `hash`, so the next one waits its turn.
    void defer_broadcast(const crypto::Hash32& hash) { last_broadcast_[hash] = Clock::now(); }
    /// Drops what is remembered of `hash` (it was mined, dropped or replaced).
    void forget(const crypto::Hash32& hash) { last_broadcast_.erase(hash); }

private:
    const SubmitterRoute* find_route(const storage::Route& r) const;

    ChainRuntime* dst_;
    storage::Queue* queue_;
    const std::vector<SubmitterRoute>* routes_;
    crypto::PrivateKey key_;
    crypto::Address account_;
    chains::evm::FeePolicy policy_;
    std::map<crypto::Hash32, Clock::time_point> last_broadcast_;
};

}  // namespace ferry::relayer

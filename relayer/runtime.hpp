// What the pipeline's coroutines share at run time (docs/design.md §6): the clock, a wake-up signal
// between stages, each chain (its Chain, its JSON-RPC endpoints, its last seen heads), and the
// node's counters.
// Everything here lives on the node's one io_context thread; nothing is locked.
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/rpc_client.hpp"
#include "chains/quorum_chain.hpp"
#include "relayer/config.hpp"
#include "storage/queue.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::relayer {

/// Wall-clock milliseconds since the Unix epoch (the queue's time base).
storage::UnixMillis now_ms() noexcept;

/// Wakes a waiting coroutine early: wait() returns after `timeout` or as soon as notify() is
/// called (a notify while nobody waits is remembered once).
class Wakeup {
public:
    explicit Wakeup(boost::asio::any_io_executor executor);
    chains::Task<void> wait(std::chrono::milliseconds timeout);
    void notify() noexcept;
    void close() noexcept;  ///< every wait() returns at once from now on
    bool closed() const noexcept { return closed_; }

private:
    boost::asio::steady_timer timer_;
    bool pending_ = false;
    bool closed_ = false;
};

/// One configured chain: its config, the chain, its endpoints and what the pipeline last saw
/// of it.
struct ChainRuntime {
    const ChainConfig* config = nullptr;
    /// The JSON-RPC endpoints behind `chain` (their health and per-method counters), for
    /// ferry_chains and GET /metrics only; null when the chain is not an RPC node (tests).
    /// Declared before `chain`, which may talk through it.
    std::unique_ptr<chains::evm::RpcClient> transport;
    /// With a quorum (ChainConfig::quorum > 1): one client per endpoint, each asked on its own.
    std::vector<std::unique_ptr<chains::evm::RpcClient>> member_transports;
    /// Every request of the stages goes through here.
    std::unique_ptr<chains::Chain> chain;
    /// `chain` itself when it is a quorum (its members' disagreements, for metrics and logs).
    const chains::QuorumChain* quorum = nullptr;
    std::optional<std::uint64_t> head;                ///< newest block number seen
    std::optional<std::uint64_t> scanned_block;       ///< watcher cursor
    std::string last_error;                           ///< of the last failed RPC step, for status
    bool reachable = false;                           ///< the last head poll was answered
    storage::UnixMillis head_changed_at = 0;          ///< when `head` last moved forward
    std::optional<chains::evm::U256> wallet_balance;  ///< relayer account, wei (last poll)
};

/// Upper bounds (milliseconds) of the delivery latency histogram's buckets.
inline constexpr std::array<std::uint64_t, 12> kLatencyBucketBoundsMs = {
    1'000,  2'000,   5'000,   10'000,  20'000,    30'000,
    60'000, 120'000, 300'000, 600'000, 1'800'000, 3'600'000};

/// Node-wide counters (GET /metrics exports them; docs/metrics.md).
struct NodeCounters {
    std::uint64_t packets_observed = 0;
    std::uint64_t packets_invalid = 0;  ///< PacketSent logs refused by the watcher
    std::uint64_t reorgs = 0;
    std::uint64_t gap_rescans = 0;
    std::uint64_t attestations_accepted = 0;
    std::map<std::string, std::uint64_t> attestations_refused;  ///< by reason
    std::uint64_t attestations_signed = 0;                      ///< validator role
    std::uint64_t txs_sent = 0;
    std::uint64_t txs_replaced = 0;
    std::uint64_t txs_failed = 0;
    std::uint64_t txs_rebroadcast = 0;
    /// Delivery transactions mined with status 0, by the reason replayed from the chain.
    std::map<std::string, std::uint64_t> txs_reverted;
    /// New deliveries whose account nonce the chain had already used ("nonce too low").
    std::uint64_t nonce_conflicts = 0;
    std::uint64_t deliveries_dropped = 0;
    std::uint64_t deliveries_reverted = 0;  ///< reorged out at the confirmation re-check
    std::uint64_t packets_delivered = 0;
    std::uint64_t packets_delivered_elsewhere = 0;
    std::uint64_t gas_used = 0;
    std::uint64_t latency_count = 0;
    std::uint64_t latency_sum_ms = 0;
    /// Delivery latencies per bucket of kLatencyBucketBoundsMs (not cumulative); the last
    /// entry counts those above the largest bound.
    std::array<std::uint64_t, kLatencyBucketBoundsMs.size() + 1> latency_buckets{};
    std::uint64_t replays_rejected = 0;  ///< PacketSent logs whose packet id was already queued
    std::uint64_t equivocations_rejected = 0;  ///< packets reusing a queued (route, nonce)
    std::uint64_t packets_pruned = 0;          ///< delivered packets whose bytes were pruned

    /// Counts one delivery latency in latency_count, latency_sum_ms and latency_buckets.
    void record_latency(std::uint64_t ms) noexcept;
};

/// Why a route's packets are waiting, for `ferry_status` (empty when they are not).
using RouteWaiting = std::map<storage::Route, std::string>;

/// An RPC error in one line for logs and status.
std::string describe(const chains::evm::RpcError& error);

}  // namespace ferry::relayer

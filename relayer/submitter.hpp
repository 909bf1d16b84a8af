// The submitter of one destination chain (docs/design.md §1, §4). Each round it
//  1. lets the receipt tracker record, replace, rebroadcast, drop and confirm live deliveries;
//  2. requeues failed packets whose backoff is over and expires packets past their expiry;
//  3. submits attested packets in nonce order per route, in batches, up to max_in_flight txs,
//     after dropping those the Inbox already reports delivered. Each delivery is written to the
//     queue before its transaction is sent.
#pragma once

#include "chains/evm/fee_policy.hpp"
#include "relayer/attestor.hpp"
#include "relayer/delivery_tx.hpp"
#include "relayer/nonce_manager.hpp"
#include "relayer/receipt_tracker.hpp"
#include "relayer/runtime.hpp"

#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace ferry::relayer {

class Submitter {
public:
    Submitter(ChainRuntime& dst, storage::Queue& queue, NodeCounters& counters,
              RouteWaiting& waiting, std::vector<SubmitterRoute> routes, crypto::PrivateKey key,
              crypto::Address account, boost::asio::any_io_executor executor);
    Submitter(const Submitter&) = delete;
    Submitter& operator=(const Submitter&) = delete;

    chains::Task<void> run();
    void notify() noexcept { wake_.notify(); }
    void stop() noexcept { wake_.close(); }

    const crypto::Address& account() const noexcept { return txs_.account(); }

private:
    /// What one submit_route call carries from batch to batch.
    struct Burst {
        const SubmitterRoute* route = nullptr;
        storage::Route r;
        /// The Inbox's next nonce of an ordered route, read once per call: it only grows, and
        /// the live deliveries carry the route on from there.
        std::optional<std::uint64_t> inbound;
        /// One fee quote serves every batch sent in the burst.
        std::optional<chains::evm::Fees> fees;
        /// Inbox.handleGasLimit() and the latest block's gas limit, read once per call.
        std::optional<std::uint64_t> handle_gas_limit;
        std::uint64_t block_gas_limit = 0;
        std::size_t sent_packets = 0;
    };
    /// How a step of submit_route ends: go on with the batch, read it again, or stop the burst.
    enum class Step { go, again, stop };

    chains::Task<void> round();
    /// Tells the nonce manager what the chain holds now (after tracking); false when the chain
    /// could not say.
    chains::Task<bool> observe_account();
    void housekeeping();
    chains::Task<std::size_t> submit(std::vector<storage::Delivery>& live);
    chains::Task<std::size_t> submit_route(const SubmitterRoute& route,
                                           std::vector<storage::Delivery>& live);
    /// Takes packets the Inbox already holds out of `batch` and marks them delivered.
    chains::Task<Step> drop_delivered(Burst& burst, std::vector<storage::PacketRecord>& batch);
    /// On an ordered route, cuts `todo` to the run of consecutive nonces that continues the
    /// Inbox and the live deliveries; false when there is none yet.
    bool take_consecutive_run(const Burst& burst, std::vector<storage::PacketRecord>& todo,
                              const std::vector<storage::Delivery>& live);
    /// Builds, prices and sends one batch (its first packets, as many as a block can take
    /// at their gas bound); false ends the burst.
    chains::Task<bool> send_batch(Burst& burst, const std::vector<storage::PacketRecord>& todo,
                                  std::vector<storage::Delivery>& live);
    /// Reads what the gas bound needs into `burst` once; false when the chain could not say.
    chains::Task<bool> load_gas_rules(Burst& burst);
    /// Builds the batch of the first packets of `todo` whose gas bound fits in a block, and
    /// that bound; nullopt (the reason set as the route's waiting) when none fits.
    std::optional<std::pair<DeliveryTxs::Built, std::uint64_t>> build_fitting(
        const Burst& burst, std::span<const storage::PacketRecord> todo);
    /// The gas limit of `built`: its bound (docs/design.md §2, "Gas"). A batch with nothing of
    /// its route in flight is also estimated, which refuses one that would revert.
    chains::Task<std::optional<std::uint64_t>> batch_gas(
        const Burst& burst, const DeliveryTxs::Built& built, std::uint64_t bound,
        const std::vector<storage::Delivery>& live);
    /// After "nonce too low" for a new delivery: kept when its own transaction was mined, else
    /// dropped (its packets go back to attested) and the nonces follow the chain.
    chains::Task<void> settle_used_nonce(const storage::Delivery& d);
    /// Signs, records the delivery in the queue, then broadcasts it; false ends the burst.
    chains::Task<bool> record_then_send(Burst& burst, std::span<const storage::PacketRecord> todo,
                                        const DeliveryTxs::Built& built, std::uint64_t nonce,
                                        std::uint64_t gas_limit,
                                        std::vector<storage::Delivery>& live);

    /// Highest nonce per route in a live delivery (cached per tx hash).
    std::map<storage::Route, std::uint64_t> live_nonces(const std::vector<storage::Delivery>& live);
    /// Forgets cached nonces of deliveries that are no longer live.
    void prune_live_nonces(const std::vector<storage::Delivery>& live);
    void set_waiting(const storage::Route& r, std::string why);

    ChainRuntime* dst_;
    storage::Queue* queue_;
    NodeCounters* counters_;
    RouteWaiting* waiting_;
    std::vector<SubmitterRoute> routes_;
    DeliveryTxs txs_;  ///< refers to routes_
    NonceManager nonces_;
    ReceiptTracker tracker_;  ///< refers to txs_ and nonces_
    Wakeup wake_;
    std::size_t next_route_ = 0;
    std::map<crypto::Hash32, std::map<storage::Route, std::uint64_t>> delivery_nonces_;
    std::chrono::steady_clock::time_point last_housekeeping_{};
};

}  // namespace ferry::relayer

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
#include "relayer/receipt_tracker.hpp"
#include "relayer/runtime.hpp"

#include <map>
#include <optional>
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
    /// The last eth_estimateGas answer of a route's deliverBatch and what it covered.
    struct GasReference {
        std::uint64_t gas = 0;
        std::size_t packets = 1;
        std::size_t calldata_bytes = 1;
    };
    /// What one submit_route call carries from batch to batch.
    struct Burst {
        const SubmitterRoute* route = nullptr;
        storage::Route r;
        /// The Inbox's next nonce of an ordered route, read once per call: it only grows, and
        /// the live deliveries carry the route on from there.
        std::optional<std::uint64_t> inbound;
        /// One fee quote serves every batch sent in the burst.
        std::optional<chains::evm::Fees> fees;
        std::size_t sent_packets = 0;
    };
    /// How a step of submit_route ends: go on with the batch, read it again, or stop the burst.
    enum class Step { go, again, stop };

    chains::Task<void> round();
    void housekeeping();
    chains::Task<std::size_t> submit(std::vector<storage::Delivery>& live,
                                     std::uint64_t chain_nonce);
    chains::Task<std::size_t> submit_route(const SubmitterRoute& route,
                                           std::vector<storage::Delivery>& live,
                                           std::uint64_t chain_nonce);
    /// Takes packets the Inbox already holds out of `batch` and marks them delivered.
    chains::Task<Step> drop_delivered(Burst& burst, std::vector<storage::PacketRecord>& batch);
    /// On an ordered route, cuts `todo` to the run of consecutive nonces that continues the
    /// Inbox and the live deliveries; false when there is none yet.
    bool take_consecutive_run(const Burst& burst, std::vector<storage::PacketRecord>& todo,
                              const std::vector<storage::Delivery>& live);
    /// Builds, prices and sends one batch; false ends the burst.
    chains::Task<bool> send_batch(Burst& burst, const std::vector<storage::PacketRecord>& todo,
                                  std::vector<storage::Delivery>& live, std::uint64_t chain_nonce);
    /// The gas limit of `built` (estimated, or scaled from the route's last estimate).
    chains::Task<std::optional<std::uint64_t>> batch_gas(
        const Burst& burst, const DeliveryTxs::Built& built,
        const std::vector<storage::Delivery>& live);
    /// The lowest account nonce from the chain's that no live delivery holds.
    static std::uint64_t pick_account_nonce(const std::vector<storage::Delivery>& live,
                                            std::uint64_t chain_nonce);
    /// Signs, records the delivery in the queue, then broadcasts it; false ends the burst.
    chains::Task<bool> record_then_send(Burst& burst,
                                        const std::vector<storage::PacketRecord>& todo,
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
    DeliveryTxs txs_;         ///< refers to routes_
    ReceiptTracker tracker_;  ///< refers to txs_
    Wakeup wake_;
    std::size_t next_route_ = 0;
    std::map<crypto::Hash32, std::map<storage::Route, std::uint64_t>> delivery_nonces_;
    std::chrono::steady_clock::time_point last_housekeeping_{};
    std::map<storage::Route, GasReference> gas_reference_;
};

}  // namespace ferry::relayer

// The receipt tracker of one destination account (docs/design.md §1, §4). Each round it
//  1. tracks live deliveries: records a mined receipt once, replaces a tx not mined in time
//     (same account nonce, higher fees), rebroadcasts one the node may not have, and drops one
//     whose nonce another transaction consumed;
//  2. re-checks mined deliveries at the destination's confirmations (a reorged one goes back).
// Lives on the node's io_context thread, driven by the submitter's rounds.
#pragma once

#include "relayer/delivery_tx.hpp"
#include "relayer/nonce_manager.hpp"
#include "relayer/runtime.hpp"

#include <chrono>
#include <map>
#include <vector>

namespace ferry::relayer {

class ReceiptTracker {
public:
    /// `txs` (the account's delivery transactions) and `nonces` (its nonce manager, told of
    /// every mined delivery) must outlive this.
    ReceiptTracker(ChainRuntime& dst, storage::Queue& queue, NodeCounters& counters,
                   DeliveryTxs& txs, NonceManager& nonces);

    /// One pass over the live deliveries, given the account's mined nonce `chain_nonce`.
    /// True when a delivery tx was mined with status 0 (perhaps out of gas).
    chains::Task<bool> track(const std::vector<storage::Delivery>& live, std::uint64_t chain_nonce);
    /// Confirms or reverts mined deliveries that reached the confirmations at `head`.
    chains::Task<void> confirm(std::uint64_t head);

private:
    /// Records `receipt` of delivery `d`; false when the queue refused it.
    chains::Task<bool> record_mined(const storage::Delivery& d,
                                    const chains::evm::Receipt& receipt);
    /// The queue's row of `receipt`: its PacketDelivered flags; PacketRejected logs are logged
    /// and counted in `rejected`.
    storage::Receipt receipt_row(const chains::evm::Receipt& receipt, std::size_t& rejected) const;
    /// Marks `ids` (failed by the receipt) delivered by another relayer; how many moved.
    std::size_t mark_delivered_elsewhere(const std::vector<crypto::PacketId>& ids,
                                         const crypto::Hash32& tx, storage::UnixMillis now);
    /// The mined line, one line per delivered packet, and the latency histogram.
    void log_mined(const chains::evm::Receipt& receipt, const storage::Receipt& r,
                   const storage::ReceiptOutcome& outcome, std::size_t rejected,
                   storage::UnixMillis now);
    /// Counts and logs a delivery that reverted, with its decoded reason.
    chains::Task<void> report_revert(const storage::Delivery& d,
                                     const chains::evm::Receipt& receipt);
    chains::Task<void> replace_or_rebroadcast(const storage::Delivery& d);
    /// The packets of `d` that `r` has no PacketDelivered for but the Inbox reports delivered:
    /// it skipped them (delivered before, by another relayer).
    chains::Task<std::vector<crypto::PacketId>> skipped_as_delivered(const storage::Delivery& d,
                                                                     const storage::Receipt& r);
    /// Why mined delivery `d` reverted: its call replayed on the state before its block, the
    /// Inbox's error name ("InsufficientGas"), "other (<revert reason>)", or "unknown".
    chains::Task<std::string> revert_reason(const storage::Delivery& d,
                                            const chains::evm::Receipt& receipt);

    ChainRuntime* dst_;
    storage::Queue* queue_;
    NodeCounters* counters_;
    DeliveryTxs* txs_;
    NonceManager* nonces_;
    std::map<crypto::Hash32, std::chrono::steady_clock::time_point> nonce_consumed_since_;
};

}  // namespace ferry::relayer

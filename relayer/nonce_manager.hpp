// The account nonces of one relayer account on one destination chain (docs/design.md §4).
//
// A nonce is handed out once: the next one is kept in the queue (record_delivery advances it in
// the same commit as the delivery, so a restart continues from it) and only moves back when the
// transaction signed with it provably reached no node (give_back). The chain is consulted at
// safe points only: its count of mined transactions, read after the live deliveries were
// tracked, and the nonces of receipts seen, form a floor that only grows; a nonce below the
// queue's next one is handed out again only when the chain shows it free (the gap no live
// delivery holds, at the chain's count, with nothing of ours in the node's pool there).
#pragma once

#include "storage/queue.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ferry::relayer {

class NonceManager {
public:
    NonceManager(storage::Queue& queue, crypto::ChainId chain, crypto::Address account);

    /// The chain's count of the account's mined transactions (`latest`) and, when read, the
    /// count with the node's pool (`pending`). Read them after the live deliveries were
    /// tracked: a receipt seen before the read is then counted in it.
    void observe(std::uint64_t latest, std::optional<std::uint64_t> pending);
    /// A delivery signed with `nonce` was mined.
    void mined(std::uint64_t nonce);
    /// A mined delivery was reorged out: the chain's count may have gone back, so the floor is
    /// forgotten and nothing is handed out before the next observe().
    void reorged() noexcept;
    /// The nonce the next delivery signs with, given the account's live deliveries; nullopt
    /// before the first observe() or when the queue cannot be read.
    std::optional<std::uint64_t> next(const std::vector<storage::Delivery>& live);
    /// The transaction signed with `nonce` reached no node: the nonce may be handed out again
    /// when it is the last one handed out.
    void give_back(std::uint64_t nonce);

    /// Lowest nonce the chain may still accept: every nonce below it is used on chain.
    std::uint64_t floor() const noexcept { return floor_; }

private:
    storage::Queue* queue_;
    crypto::ChainId chain_;
    crypto::Address account_;
    bool observed_ = false;
    std::uint64_t floor_ = 0;
    std::optional<std::uint64_t> pending_;
};

}  // namespace ferry::relayer

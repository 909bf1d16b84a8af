// The submitter and receipt tracker of one destination chain (DESIGN.md §1, §4). Each round it
//  1. tracks live deliveries: records a mined receipt once, replaces a tx not mined in time
//     (same account nonce, higher fees), rebroadcasts one the node may not have, and drops one
//     whose nonce another transaction consumed;
//  2. re-checks mined deliveries at the destination's confirmations (a reorged one goes back);
//  3. requeues failed packets whose backoff is over and expires packets past their expiry;
//  4. submits attested packets in nonce order per route, in batches, up to max_in_flight txs,
//     after dropping those the Inbox already reports delivered. Each delivery is written to the
//     queue before its transaction is sent.
#pragma once

#include "chains/evm/transaction.hpp"
#include "relayer/attestor.hpp"
#include "relayer/runtime.hpp"

#include <map>
#include <set>
#include <vector>

namespace ferry::relayer {

struct SubmitterRoute {
    const RouteConfig* config = nullptr;
    const Attestor* attestor = nullptr;  ///< knows the route's validator set (threshold, members)
};

class Submitter {
public:
    Submitter(ChainRuntime& dst, storage::Queue& queue, NodeCounters& counters,
              RouteWaiting& waiting, std::vector<SubmitterRoute> routes, crypto::PrivateKey key,
              crypto::Address account, boost::asio::any_io_executor executor);

    chains::Task<void> run();
    void notify() noexcept { wake_.notify(); }
    void stop() noexcept { wake_.close(); }

    const crypto::Address& account() const noexcept { return account_; }

private:
    struct Built {
        crypto::Bytes calldata;
        std::vector<crypto::PacketId> ids;
    };
    struct Fees {
        std::uint64_t max_fee = 0;
        std::uint64_t tip = 0;
    };
    /// The last eth_estimateGas answer of a route's deliverBatch and what it covered.
    struct GasReference {
        std::uint64_t gas = 0;
        std::size_t packets = 1;
        std::size_t calldata_bytes = 1;
    };

    chains::Task<void> round();
    chains::Task<void> track(const std::vector<storage::Delivery>& live, std::uint64_t chain_nonce);
    chains::Task<void> confirm(std::uint64_t head);
    chains::Task<std::size_t> submit(std::vector<storage::Delivery>& live,
                                     std::uint64_t chain_nonce);
    chains::Task<std::size_t> submit_route(const SubmitterRoute& route,
                                           std::vector<storage::Delivery>& live,
                                           std::uint64_t chain_nonce);
    chains::Task<std::optional<Fees>> market_fees();
    chains::Task<bool> record_mined(const storage::Delivery& d,
                                    const chains::evm::Receipt& receipt);
    chains::Task<void> replace_or_rebroadcast(const storage::Delivery& d);
    chains::Task<bool> broadcast(const crypto::Bytes& raw, const crypto::Hash32& hash);

    /// Calldata of deliverBatch for `ids` (encoded packets + threshold signature bundles).
    std::optional<Built> build(const std::vector<crypto::PacketId>& ids, std::string& error);
    std::optional<chains::evm::SignedTx> sign(const crypto::Bytes& calldata, std::uint64_t nonce,
                                              std::uint64_t gas, const Fees& fees);
    const SubmitterRoute* find_route(const storage::Route& r) const;
    /// Highest nonce per route in a live delivery (cached per tx hash).
    std::map<storage::Route, std::uint64_t> live_nonces(const std::vector<storage::Delivery>& live);
    void set_waiting(const storage::Route& r, std::string why);

    ChainRuntime* dst_;
    storage::Queue* queue_;
    NodeCounters* counters_;
    RouteWaiting* waiting_;
    std::vector<SubmitterRoute> routes_;
    crypto::PrivateKey key_;
    crypto::Address account_;
    Wakeup wake_;
    std::size_t next_route_ = 0;
    std::map<crypto::Hash32, std::chrono::steady_clock::time_point> last_broadcast_;
    std::map<crypto::Hash32, std::chrono::steady_clock::time_point> nonce_consumed_since_;
    std::map<crypto::Hash32, std::map<storage::Route, std::uint64_t>> delivery_nonces_;
    std::chrono::steady_clock::time_point last_housekeeping_{};
    std::map<storage::Route, GasReference> gas_reference_;
};

}  // namespace ferry::relayer

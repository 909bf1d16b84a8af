// The chain monitor: one coroutine per chain asks for the head every poll interval
// and, when the node has a relayer account, for that account's balance. It fills
// ChainRuntime::reachable, head, head_changed_at and wallet_balance, which ferry_status,
// GET /metrics and GET /health report.
#pragma once

#include "relayer/runtime.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ferry::relayer {

struct Node;

class ChainMonitor {
public:
    /// Watches `chain` (which must outlive the monitor); reads the balance of `wallet` when set.
    ChainMonitor(ChainRuntime& chain, std::optional<crypto::Address> wallet,
                 boost::asio::any_io_executor executor);

    /// Polls every chain.config->poll_interval_ms until stop().
    chains::Task<void> run();
    /// run() returns once the RPC call in flight (if any) has finished.
    void stop() noexcept { wake_.close(); }

    /// One poll: eth_blockNumber, then eth_getBalance when there is a wallet.
    chains::Task<void> poll();

    const ChainRuntime& chain() const noexcept { return *chain_; }
    /// Why the last head poll failed; empty after a success or before the first poll.
    const std::string& last_error() const noexcept { return last_error_; }
    /// Whether poll() has completed at least once.
    bool polled() const noexcept { return polled_; }

private:
    ChainRuntime* chain_;
    std::optional<crypto::Address> wallet_;
    Wakeup wake_;
    std::optional<std::uint64_t> last_head_;  // the monitor's own; the watcher also sets head
    std::string last_error_;
    std::string last_balance_error_;
    bool polled_ = false;
    std::set<std::string> wrong_chain_;         // endpoints last seen serving another chain
    std::vector<std::uint64_t> disagreements_;  // quorum members' counts last logged

    /// Logs endpoints that started or stopped serving another chain id than the config's.
    void report_wrong_chains();
    /// Logs quorum members whose disagreements grew since the last poll.
    void report_quorum();
};

/// Creates node.monitors: with the relayer role one per chain of node.chains (with the
/// relayer's wallet); on a validator-only node one for node.validator_chain (no wallet).
/// Call it after node.chains and node.validator_chain are filled.
void add_chain_monitors(Node& node);

}  // namespace ferry::relayer

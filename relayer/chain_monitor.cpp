#include "relayer/chain_monitor.hpp"

#include "relayer/node_state.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <utility>

namespace ferry::relayer {

using chains::Task;

ChainMonitor::ChainMonitor(ChainRuntime& chain, std::optional<crypto::Address> wallet,
                           boost::asio::any_io_executor executor)
    : chain_(&chain), wallet_(std::move(wallet)), wake_(std::move(executor)) {}

Task<void> ChainMonitor::run() {
    const auto interval = std::chrono::milliseconds(chain_->config->poll_interval_ms);
    while (!wake_.closed()) {
        try {
            co_await poll();
        } catch (const std::exception& e) {
            chain_->reachable = false;
            last_error_ = std::string("internal error: ") + e.what();
        }
        co_await wake_.wait(interval);
    }
}

void ChainMonitor::report_quorum() {
    if (!chain_->quorum) return;
    const auto& members = chain_->quorum->members();
    disagreements_.resize(members.size(), 0);
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (members[i].disagreements == disagreements_[i]) continue;
        spdlog::error(
            "chain monitor {}: endpoint {} disagreed with the quorum {} time(s); last: {}",
            chain_->config->name, members[i].name, members[i].disagreements - disagreements_[i],
            members[i].last_disagreement);
        disagreements_[i] = members[i].disagreements;
    }
}

void ChainMonitor::report_wrong_chains() {
    if (!chain_->transport) return;
    std::set<std::string> now;
    for (const auto& e : chain_->transport->endpoints()) {
        if (!e.wrong_chain) continue;
        if (wrong_chain_.count(e.name) == 0)
            spdlog::error("chain monitor {}: endpoint {} refused: {}", chain_->config->name, e.name,
                          e.last_error);
        now.insert(e.name);
    }
    for (const auto& name : wrong_chain_)
        if (now.count(name) == 0)
            spdlog::info("chain monitor {}: endpoint {} serves the configured chain again",
                         chain_->config->name, name);
    wrong_chain_ = std::move(now);
}

Task<void> ChainMonitor::poll() {
    const std::string& name = chain_->config->name;
    auto head = co_await chain_->chain->head();
    polled_ = true;
    report_wrong_chains();
    report_quorum();
    if (!head) {
        std::string error = "eth_blockNumber: " + describe(head.error());
        if (chain_->reachable || error != last_error_)
            spdlog::warn("chain monitor {}: unreachable: {}", name, error);
        chain_->reachable = false;
        last_error_ = std::move(error);
        co_return;
    }
    if (!chain_->reachable && !last_error_.empty())
        spdlog::info("chain monitor {}: reachable again at block {}", name, *head);
    chain_->reachable = true;
    last_error_.clear();
    // Any change counts as movement: a head that went back (a reorg to a shorter chain, a
    // reset devnet) is still a live chain.
    if (!last_head_ || *head != *last_head_) chain_->head_changed_at = now_ms();
    last_head_ = *head;
    chain_->head = *head;

    if (!wallet_) co_return;
    auto balance = co_await chain_->chain->balance(*wallet_);
    if (!balance) {
        // Keep the last known balance; the head poll's reachability tells how fresh it is.
        std::string error = describe(balance.error());
        if (error != last_balance_error_)
            spdlog::warn("chain monitor {}: eth_getBalance: {}", name, error);
        last_balance_error_ = std::move(error);
        co_return;
    }
    last_balance_error_.clear();
    chain_->wallet_balance = *balance;
}

void add_chain_monitors(Node& node) {
    auto ex = node.io.get_executor();
    if (node.config.relayer) {
        for (auto& [id, rt] : node.chains)
            node.monitors.push_back(std::make_unique<ChainMonitor>(rt, node.relayer_address, ex));
        return;
    }
    // A validator-only node needs its one chain; the others in the config are not its concern.
    for (auto& [id, rt] : node.validator_chain)
        node.monitors.push_back(std::make_unique<ChainMonitor>(rt, std::nullopt, ex));
}

}  // namespace ferry::relayer

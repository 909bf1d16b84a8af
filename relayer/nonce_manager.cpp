#include "relayer/nonce_manager.hpp"

#include "relayer/runtime.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace ferry::relayer {

NonceManager::NonceManager(storage::Queue& queue, crypto::ChainId chain, crypto::Address account)
    : queue_(&queue), chain_(chain), account_(account) {}

void NonceManager::observe(std::uint64_t latest, std::optional<std::uint64_t> pending) {
    observed_ = true;
    floor_ = std::max(floor_, latest);
    pending_ = pending;
}

void NonceManager::mined(std::uint64_t nonce) { floor_ = std::max(floor_, nonce + 1); }

void NonceManager::reorged() noexcept {
    floor_ = 0;
    pending_.reset();
    observed_ = false;
}

std::optional<std::uint64_t> NonceManager::next(const std::vector<storage::Delivery>& live) {
    if (!observed_) return std::nullopt;
    auto stored = queue_->account_nonce(chain_, account_);
    if (!stored) return std::nullopt;
    const std::uint64_t handed = stored->value_or(0);
    std::set<std::uint64_t> held;
    for (const auto& d : live)
        if (d.account == account_) held.insert(d.account_nonce);
    // A gap: a nonce below the next one that was handed out once, is not used on the chain nor
    // in the node's pool, and no live delivery holds (its delivery failed or was dropped).
    // Every later transaction waits for it, so it is handed out again, lowest first.
    std::uint64_t gap = std::max(floor_, pending_.value_or(floor_));
    while (held.count(gap) != 0) ++gap;
    if (gap < handed) {
        spdlog::info("nonces {}: account nonce {} is free on the chain; using it again",
                     crypto::to_u64(chain_), gap);
        return gap;
    }
    std::uint64_t n = std::max(handed, floor_);
    while (held.count(n) != 0) ++n;
    return n;
}

void NonceManager::give_back(std::uint64_t nonce) {
    auto stored = queue_->account_nonce(chain_, account_);
    if (!stored || !*stored || **stored != nonce + 1) return;
    if (!queue_->set_account_nonce(chain_, account_, nonce, now_ms()))
        spdlog::error("nonces {}: giving back account nonce {}: {}", crypto::to_u64(chain_), nonce,
                      queue_->last_error());
}

}  // namespace ferry::relayer

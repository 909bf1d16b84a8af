#include "relayer/receipt_tracker.hpp"

#include "relayer/logging.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRebroadcastEvery = std::chrono::seconds(10);
constexpr auto kConsumedGrace = std::chrono::seconds(3);

}  // namespace

ReceiptTracker::ReceiptTracker(ChainRuntime& dst, storage::Queue& queue, NodeCounters& counters,
                               DeliveryTxs& txs, NonceManager& nonces)
    : dst_(&dst), queue_(&queue), counters_(&counters), txs_(&txs), nonces_(&nonces) {}

Task<bool> ReceiptTracker::track(const std::vector<storage::Delivery>& live,
                                 std::uint64_t chain_nonce) {
    bool reverted = false;
    for (const auto& d : live) {
        std::vector<crypto::Hash32> hashes = d.replaced;
        hashes.push_back(d.tx_hash);
        std::optional<evm::Receipt> mined;
        bool rpc_failed = false;
        for (const auto& h : hashes) {
            auto receipt = co_await dst_->chain->receipt(h);
            if (!receipt) {
                dst_->last_error = "eth_getTransactionReceipt: " + describe(receipt.error());
                rpc_failed = true;
                break;
            }
            if (*receipt) {
                mined = std::move(**receipt);
                break;
            }
        }
        if (rpc_failed) co_return reverted;
        if (mined) {
            nonces_->mined(d.account_nonce);
            const bool recorded = co_await record_mined(d, *mined);
            if (recorded && !mined->success) reverted = true;
            continue;
        }
        if (chain_nonce > d.account_nonce) {
            // Another transaction used this nonce (or our receipt is not visible yet).
            auto [it, fresh] = nonce_consumed_since_.try_emplace(d.tx_hash, Clock::now());
            if (!fresh && Clock::now() - it->second > kConsumedGrace) {
                auto moved = queue_->drop_delivery(d.tx_hash, now_ms());
                if (moved) {
                    ++counters_->deliveries_dropped;
                    spdlog::warn(
                        "submitter {}: nonce {} of tx {} was used by another transaction; {} "
                        "packets back to attested",
                        dst_->config->name, d.account_nonce, short_hash(d.tx_hash), *moved);
                }
                nonce_consumed_since_.erase(it);
            }
            continue;
        }
        co_await replace_or_rebroadcast(d);
    }
    co_return reverted;
}

storage::Receipt ReceiptTracker::receipt_row(const evm::Receipt& receipt,
                                             std::size_t& rejected) const {
    const auto& inbox = *dst_->config->inbox;
    storage::Receipt r;
    r.tx_hash = receipt.tx_hash;
    r.block_number = receipt.block_number;
    r.block_hash = receipt.block_hash;
    r.status = receipt.success;
    r.gas_used = receipt.gas_used;
    r.effective_gas_price =
        receipt.effective_gas_price ? receipt.effective_gas_price->to_u64().value_or(0) : 0;
    for (const auto& log : receipt.logs) {
        if (log.address != inbox || log.topics.empty()) continue;
        if (log.topics[0] == evm::packet_delivered_topic()) {
            if (auto e = evm::decode_packet_delivered(log))
                r.delivered.push_back({e->id, e->success});
        } else if (log.topics[0] == evm::packet_rejected_topic()) {
            if (auto e = evm::decode_packet_rejected(log)) {
                ++rejected;
                spdlog::warn("submitter {}: the Inbox rejected the packet: {} tx={} {}",
                             dst_->config->name, nlohmann::json(e->reason).dump(),
                             receipt.tx_hash.hex(), packet_fields(*queue_, e->id));
            }
        }
    }
    return r;
}

std::size_t ReceiptTracker::mark_delivered_elsewhere(const std::vector<crypto::PacketId>& ids,
                                                     const crypto::Hash32& tx,
                                                     storage::UnixMillis now) {
    std::size_t by_another = 0;
    for (const auto& id : ids) {
        // failed (or dead) → attested → delivered, as the submitter marks packets it finds
        // delivered before sending.
        if (queue_->retry_packet(id, now) && queue_->mark_delivered_elsewhere({&id, 1}, now))
            ++by_another;
    }
    if (by_another > 0) {
        counters_->packets_delivered_elsewhere += by_another;
        spdlog::info(
            "submitter {}: {} packets of tx {} were already delivered by another relayer tx={} "
            "count={}",
            dst_->config->name, by_another, short_hash(tx), tx.hex(), by_another);
    }
    return by_another;
}

void ReceiptTracker::log_mined(const evm::Receipt& receipt, const storage::Receipt& r,
                               const storage::ReceiptOutcome& outcome, std::size_t rejected,
                               storage::UnixMillis now) {
    // Delivery latency: from entering the queue to the receipt. One read per packet serves the
    // latency and the packet's log line.
    std::uint64_t worst = 0;
    std::vector<std::string> fields;
    fields.reserve(r.delivered.size());
    for (const auto& p : r.delivered) {
        auto rec = queue_->packet(p.id);
        if (!rec || !*rec) {
            fields.push_back("id=" + p.id.hex());
            continue;
        }
        fields.push_back(packet_fields(**rec));
        const auto ms =
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - (*rec)->created_at));
        counters_->record_latency(ms);
        worst = std::max(worst, ms);
    }
    spdlog::info(
        "submitter {}: tx {} mined in block {}: {} delivered, {} failed, {} dead, {} rejected; gas "
        "{}; latency up to {} ms tx={} block={}",
        dst_->config->name, short_hash(receipt.tx_hash), receipt.block_number, outcome.delivered,
        outcome.failed, outcome.dead, rejected, receipt.gas_used, worst, receipt.tx_hash.hex(),
        receipt.block_number);
    for (std::size_t i = 0; i < r.delivered.size(); ++i)
        spdlog::info(
            "submitter {}: packet delivered{} {} tx={}", dst_->config->name,
            r.delivered[i].success ? "" : " (the recipient reverted; retryFailed() can re-run it)",
            fields[i], receipt.tx_hash.hex());
}

Task<void> ReceiptTracker::report_revert(const storage::Delivery& d, const evm::Receipt& receipt) {
    ++counters_->txs_failed;
    const auto reason = co_await revert_reason(d, receipt);
    // The metric's label is one of a fixed few: an Inbox error name, other or unknown.
    ++counters_->txs_reverted[reason.starts_with("other") ? "other" : reason];
    spdlog::error(
        "submitter {}: delivery tx {} reverted in block {}: {} (gas limit {}, used {}); its {} "
        "packets retry tx={} reason={}",
        dst_->config->name, short_hash(receipt.tx_hash), receipt.block_number, reason, d.gas_limit,
        receipt.gas_used, d.packets.size(), receipt.tx_hash.hex(), reason);
}

Task<bool> ReceiptTracker::record_mined(const storage::Delivery& d, const evm::Receipt& receipt) {
    std::size_t rejected = 0;
    const storage::Receipt r = receipt_row(receipt, rejected);
    // Packets the Inbox skipped without a word: delivered before, by another relayer (or by a
    // transaction of ours whose receipt was never seen). Not failures.
    std::vector<crypto::PacketId> elsewhere;
    if (receipt.success) elsewhere = co_await skipped_as_delivered(d, r);
    const auto now = now_ms();
    auto outcome = queue_->record_receipt(r, now);
    if (!outcome) {
        spdlog::error("submitter {}: recording the receipt of {}: {}", dst_->config->name,
                      receipt.tx_hash.hex(), queue_->last_error());
        co_return false;
    }
    const std::size_t by_another = mark_delivered_elsewhere(elsewhere, receipt.tx_hash, now);
    outcome->failed -= std::min(outcome->failed, by_another);
    counters_->packets_delivered += outcome->delivered;
    counters_->gas_used += receipt.gas_used;
    log_mined(receipt, r, *outcome, rejected, now);
    if (!receipt.success) co_await report_revert(d, receipt);
    for (const auto& h : d.replaced) txs_->forget(h);
    txs_->forget(d.tx_hash);
    nonce_consumed_since_.erase(d.tx_hash);
    co_return true;
}

Task<std::vector<crypto::PacketId>> ReceiptTracker::skipped_as_delivered(
    const storage::Delivery& d, const storage::Receipt& r) {
    std::vector<crypto::PacketId> out;
    for (const auto& id : d.packets) {
        const bool logged = std::any_of(r.delivered.begin(), r.delivered.end(),
                                        [&](const auto& p) { return p.id == id; });
        if (logged) continue;
        auto returned = co_await dst_->chain->delivered(*dst_->config->inbox, id);
        if (returned && *returned && **returned) out.push_back(id);
    }
    co_return out;
}

Task<std::string> ReceiptTracker::revert_reason(const storage::Delivery& d,
                                                const evm::Receipt& receipt) {
    std::string error;
    auto built = txs_->build(d.packets, error);
    if (!built || receipt.block_number == 0) co_return "unknown";
    evm::CallRequest replay;
    replay.from = d.account;
    replay.to = *dst_->config->inbox;
    replay.data = built->calldata;
    replay.gas = d.gas_limit;
    auto returned = co_await dst_->chain->call_at(std::move(replay), receipt.block_number - 1);
    if (returned || returned.error().code != evm::RpcError::Code::execution_reverted)
        co_return "unknown";  // it succeeds there: it depended on the block's other transactions
    const auto& e = returned.error();
    if (auto name = evm::ferry_error_name(e.revert_data)) co_return std::string(*name);
    if (e.revert_reason && !e.revert_reason->empty())
        co_return "other (" + e.revert_reason->substr(0, 120) + ")";
    co_return "unknown";
}

Task<void> ReceiptTracker::replace_or_rebroadcast(const storage::Delivery& d) {
    const auto& gas = dst_->config->gas;
    const auto age = std::chrono::milliseconds(now_ms() - d.created_at);
    std::string error;
    auto built = txs_->build(d.packets, error);
    if (!built) {
        spdlog::error("submitter {}: cannot rebuild tx {}: {}", dst_->config->name, d.tx_hash.hex(),
                      error);
        co_return;
    }
    if (age >= std::chrono::milliseconds(gas.replace_after_ms)) {
        const auto bumped = co_await txs_->replacement_fees(d);
        if (bumped) {
            const evm::Fees& fees = *bumped;
            auto tx = txs_->sign(built->calldata, d.account_nonce, d.gas_limit, fees);
            if (!tx) co_return;
            storage::Delivery replacement = d;
            replacement.tx_hash = tx->hash;
            replacement.max_fee_per_gas = fees.max_fee;
            replacement.max_priority_fee_per_gas = fees.tip;
            replacement.replaced.clear();
            if (auto r = queue_->replace_delivery(d.tx_hash, replacement, now_ms()); !r) {
                spdlog::error("submitter {}: recording the replacement of {}: {}",
                              dst_->config->name, d.tx_hash.hex(), queue_->last_error());
                co_return;
            }
            ++counters_->txs_replaced;
            spdlog::warn(
                "submitter {}: tx {} (nonce {}) not mined after {} ms; replaced by {} with max fee "
                "{} wei, tip {} wei",
                dst_->config->name, short_hash(d.tx_hash), d.account_nonce, age.count(),
                short_hash(tx->hash), fees.max_fee, fees.tip);
            co_await txs_->broadcast(tx->raw, tx->hash);
            co_return;
        }
        // At the fee cap: keep the tx and make sure the node has it.
    }
    const auto last = txs_->last_broadcast(d.tx_hash);
    if (last && Clock::now() - *last < kRebroadcastEvery) co_return;
    const evm::Fees fees{d.max_fee_per_gas, d.max_priority_fee_per_gas};
    auto tx = txs_->sign(built->calldata, d.account_nonce, d.gas_limit, fees);
    if (!tx) co_return;
    if (tx->hash != d.tx_hash) {
        // Its signatures changed since (e.g. the validator set): a new fee level is needed.
        txs_->defer_broadcast(d.tx_hash);
        spdlog::warn("submitter {}: tx {} cannot be rebuilt identically; waiting to replace it",
                     dst_->config->name, short_hash(d.tx_hash));
        co_return;
    }
    if (last) ++counters_->txs_rebroadcast;
    co_await txs_->broadcast(tx->raw, tx->hash);
}

Task<void> ReceiptTracker::confirm(std::uint64_t head) {
    const ChainConfig& cfg = *dst_->config;
    std::uint64_t up_to = 0;
    if (cfg.finalized) {
        auto block = co_await dst_->chain->block(evm::BlockTag::finalized);
        if (!block || !*block) co_return;
        up_to = (*block)->number;
    } else {
        if (head < cfg.confirmations) co_return;
        up_to = head - cfg.confirmations;
    }
    auto due = queue_->unconfirmed_deliveries(cfg.chain_id, up_to, 64);
    if (!due) co_return;
    for (const auto& d : *due) {
        bool canonical = false;
        if (cfg.confirmations == 0 && !cfg.finalized) {
            canonical = true;
        } else {
            auto block = co_await dst_->chain->block(d.block_number);
            if (!block) co_return;
            canonical = *block && (*block)->hash == d.block_hash;
        }
        if (!canonical) {
            // The block changed: is every packet still delivered (the tx re-mined elsewhere)?
            canonical = true;
            for (const auto& id : d.packets) {
                auto returned = co_await dst_->chain->delivered(*cfg.inbox, id);
                if (!returned) co_return;
                auto delivered = std::move(*returned);
                if (!delivered || !*delivered) {
                    canonical = false;
                    break;
                }
            }
        }
        const auto now = now_ms();
        if (canonical) {
            (void)queue_->confirm_delivery(d.tx_hash, now);
            continue;
        }
        auto moved = queue_->revert_delivery(d.tx_hash, now);
        if (moved) {
            ++counters_->deliveries_reverted;
            nonces_->reorged();
            spdlog::warn(
                "submitter {}: delivery tx {} in block {} was reorged out; {} packets back to "
                "attested",
                cfg.name, short_hash(d.tx_hash), d.block_number, *moved);
        }
    }
}

}  // namespace ferry::relayer

#include "relayer/delivery_tx.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;

evm::FeePolicy fee_policy(const GasPolicy& gas) {
    evm::FeePolicy policy;
    policy.fixed_tip = gas.priority_fee_wei;
    policy.fallback_tip = 1'000'000'000;
    policy.base_fee_multiplier = gas.fee_multiplier;
    policy.max_fee_cap = gas.max_fee_wei;
    policy.bump_percent = gas.fee_bump_percent;
    return policy;
}

std::string short_hash(const crypto::Hash32& hash) { return hash.hex().substr(0, 12); }

DeliveryTxs::DeliveryTxs(ChainRuntime& dst, storage::Queue& queue,
                         const std::vector<SubmitterRoute>& routes, crypto::PrivateKey key,
                         crypto::Address account)
    : dst_(&dst),
      queue_(&queue),
      routes_(&routes),
      key_(std::move(key)),
      account_(account),
      policy_(fee_policy(dst.config->gas)) {}

const SubmitterRoute* DeliveryTxs::find_route(const storage::Route& r) const {
    for (const auto& route : *routes_)
        if (route.config->src == r.src && route.config->dst == r.dst) return &route;
    return nullptr;
}

std::optional<DeliveryTxs::Built> DeliveryTxs::build(const std::vector<crypto::PacketId>& ids,
                                                     std::string& error) {
    Built out;
    std::vector<evm::Delivery> items;
    items.reserve(ids.size());
    for (const auto& id : ids) {
        auto rec = queue_->packet(id);
        if (!rec || !*rec || (*rec)->encoded.empty()) {
            error = "packet " + id.hex() + " has no bytes in the queue";
            return std::nullopt;
        }
        const SubmitterRoute* route = find_route((*rec)->route);
        if (route == nullptr || !route->attestor->validator_set()) {
            error = "route " + storage::route_name((*rec)->route) + " has no validator set yet";
            return std::nullopt;
        }
        const auto& set = *route->attestor->validator_set();
        auto atts = queue_->attestations(id);
        if (!atts) {
            error = "reading signatures of " + id.hex() + ": " + std::string(queue_->last_error());
            return std::nullopt;
        }
        evm::Delivery item;
        item.packet = (*rec)->encoded;
        std::size_t taken = 0;
        for (const auto& a : *atts) {  // ascending signer order, as the Inbox wants
            if (taken == set.threshold) break;
            if (std::find(set.validators.begin(), set.validators.end(), a.validator) ==
                set.validators.end())
                continue;
            item.signatures.insert(item.signatures.end(), a.signature.view().begin(),
                                   a.signature.view().end());
            ++taken;
        }
        if (taken < set.threshold) {
            error = "packet " + id.hex() + " has " + std::to_string(taken) + " of " +
                    std::to_string(set.threshold) + " signatures of the current set";
            return std::nullopt;
        }
        out.packet_sizes.push_back(item.packet.size());
        out.signatures += taken;
        items.push_back(std::move(item));
        out.ids.push_back(id);
    }
    out.calldata = evm::inbox_deliver_batch_calldata(items);
    return out;
}

std::optional<evm::SignedTx> DeliveryTxs::sign(const crypto::Bytes& calldata, std::uint64_t nonce,
                                               std::uint64_t gas, const evm::Fees& fees) {
    evm::Eip1559Tx tx;
    tx.chain_id = dst_->config->chain_id;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = evm::U256::from_u64(fees.tip);
    tx.max_fee_per_gas = evm::U256::from_u64(fees.max_fee);
    tx.gas_limit = gas;
    tx.to = *dst_->config->inbox;
    tx.data = calldata;
    auto signed_tx = evm::sign(tx, key_);
    if (!signed_tx) {
        spdlog::error("submitter {}: signing failed: {}", dst_->config->name,
                      signed_tx.error().message());
        return std::nullopt;
    }
    return std::move(*signed_tx);
}

Task<std::optional<evm::Fees>> DeliveryTxs::market_fees() {
    auto quote = co_await dst_->chain->fee_quote(policy_.tip_from_node());
    if (!quote || !quote->base_fee) co_return std::nullopt;
    std::optional<std::uint64_t> node_tip;
    if (quote->priority_fee) node_tip = quote->priority_fee->to_u64();
    const auto base = quote->base_fee->to_u64();
    if (!base) co_return std::nullopt;
    co_return policy_.quote(*base, policy_.tip(node_tip));
}

Task<std::optional<evm::Fees>> DeliveryTxs::replacement_fees(const storage::Delivery& d) {
    auto market = co_await market_fees();
    co_return policy_.replacement(evm::Fees{d.max_fee_per_gas, d.max_priority_fee_per_gas}, market);
}

Task<DeliveryTxs::Sent> DeliveryTxs::broadcast(const crypto::Bytes& raw,
                                               const crypto::Hash32& hash) {
    last_broadcast_[hash] = Clock::now();
    auto sent = co_await dst_->chain->send_raw(raw);
    if (sent) co_return Sent::accepted;
    const auto code = sent.error().code;
    if (code == evm::RpcError::Code::already_known) co_return Sent::accepted;
    if (code == evm::RpcError::Code::nonce_too_low) co_return Sent::nonce_used;
    dst_->last_error = "eth_sendRawTransaction: " + describe(sent.error());
    spdlog::warn("submitter {}: sending tx {}: {} tx={}", dst_->config->name, short_hash(hash),
                 describe(sent.error()), hash.hex());
    co_return sent.error().transient() ? Sent::accepted : Sent::refused;
}

std::optional<DeliveryTxs::Clock::time_point> DeliveryTxs::last_broadcast(
    const crypto::Hash32& hash) const {
    const auto it = last_broadcast_.find(hash);
    if (it == last_broadcast_.end()) return std::nullopt;
    return it->second;
}

}  // namespace ferry::relayer

#include "relayer/submitter.hpp"

#include "relayer/logging.hpp"

#include "chains/evm/transaction.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRebroadcastEvery = std::chrono::seconds(10);
constexpr auto kConsumedGrace = std::chrono::seconds(3);
constexpr auto kHousekeepingEvery = std::chrono::seconds(2);

std::uint64_t bump(std::uint64_t v, std::uint32_t percent) {
    const auto wide = static_cast<unsigned __int128>(v) * (100u + percent) / 100u + 1u;
    return wide > std::numeric_limits<std::uint64_t>::max()
               ? std::numeric_limits<std::uint64_t>::max()
               : static_cast<std::uint64_t>(wide);
}

std::string short_hash(const crypto::Hash32& h) { return h.hex().substr(0, 12); }

}  // namespace

Submitter::Submitter(ChainRuntime& dst, storage::Queue& queue, NodeCounters& counters,
                     RouteWaiting& waiting, std::vector<SubmitterRoute> routes,
                     crypto::PrivateKey key, crypto::Address account,
                     boost::asio::any_io_executor executor)
    : dst_(&dst),
      queue_(&queue),
      counters_(&counters),
      waiting_(&waiting),
      routes_(std::move(routes)),
      key_(std::move(key)),
      account_(account),
      wake_(std::move(executor)) {}

void Submitter::set_waiting(const storage::Route& r, std::string why) {
    auto& slot = (*waiting_)[r];
    if (why.empty()) return;  // the attestor clears it when the route moves again
    if (why != slot)
        spdlog::warn("submitter {}: waiting: {} route={}", storage::route_name(r), why,
                     storage::route_name(r));
    slot = std::move(why);
}

const SubmitterRoute* Submitter::find_route(const storage::Route& r) const {
    for (const auto& route : routes_)
        if (route.config->src == r.src && route.config->dst == r.dst) return &route;
    return nullptr;
}

Task<void> Submitter::run() {
    const auto poll = std::chrono::milliseconds(dst_->config->poll_interval_ms);
    while (!wake_.closed()) {
        try {
            co_await round();
        } catch (const std::exception& e) {
            spdlog::error("submitter {}: internal error: {}", dst_->config->name, e.what());
        }
        co_await wake_.wait(poll);
    }
}

Task<void> Submitter::round() {
    auto head = co_await dst_->chain->head();
    if (!head) {
        dst_->last_error = "eth_blockNumber: " + describe(head.error());
        co_return;
    }
    dst_->head = *head;
    auto chain_nonce = co_await dst_->chain->account_nonce(account_, chains::NonceAt::latest);
    if (!chain_nonce) {
        dst_->last_error = "eth_getTransactionCount: " + describe(chain_nonce.error());
        co_return;
    }
    auto live = queue_->pending_deliveries(dst_->config->chain_id, 1024);
    if (!live) {
        spdlog::error("submitter {}: reading live deliveries: {}", dst_->config->name,
                      queue_->last_error());
        co_return;
    }
    if (!live->empty()) co_await track(*live, *chain_nonce);
    co_await confirm(*head);

    const auto now = Clock::now();
    if (now - last_housekeeping_ > kHousekeepingEvery) {
        last_housekeeping_ = now;
        const auto t = now_ms();
        if (auto n = queue_->expire_due(t); n && *n > 0)
            spdlog::info("queue: {} packets expired before delivery", *n);
        if (auto due = queue_->due_retries(t, 1000); due && !due->empty()) {
            std::vector<crypto::PacketId> ids;
            for (const auto& p : *due)
                if (p.route.dst == dst_->config->chain_id) ids.push_back(p.id);
            if (!ids.empty() && queue_->requeue(ids, t))
                spdlog::info("submitter {}: {} failed packets back to attested for a retry",
                             dst_->config->name, ids.size());
        }
    }

    // Re-read: tracking may have finished some.
    live = queue_->pending_deliveries(dst_->config->chain_id, 1024);
    if (!live) co_return;
    co_await submit(*live, *chain_nonce);
}

// ---- tracking ----

Task<bool> Submitter::record_mined(const storage::Delivery& d, const evm::Receipt& receipt) {
    const auto& inbox = *dst_->config->inbox;
    storage::Receipt r;
    r.tx_hash = receipt.tx_hash;
    r.block_number = receipt.block_number;
    r.block_hash = receipt.block_hash;
    r.status = receipt.success;
    r.gas_used = receipt.gas_used;
    r.effective_gas_price =
        receipt.effective_gas_price ? receipt.effective_gas_price->to_u64().value_or(0) : 0;
    std::size_t rejected = 0;
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
    const auto now = now_ms();
    auto outcome = queue_->record_receipt(r, now);
    if (!outcome) {
        spdlog::error("submitter {}: recording the receipt of {}: {}", dst_->config->name,
                      receipt.tx_hash.hex(), queue_->last_error());
        co_return false;
    }
    counters_->packets_delivered += outcome->delivered;
    counters_->gas_used += receipt.gas_used;
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
        dst_->config->name, short_hash(receipt.tx_hash), receipt.block_number, outcome->delivered,
        outcome->failed, outcome->dead, rejected, receipt.gas_used, worst, receipt.tx_hash.hex(),
        receipt.block_number);
    for (std::size_t i = 0; i < r.delivered.size(); ++i)
        spdlog::info(
            "submitter {}: packet delivered{} {} tx={}", dst_->config->name,
            r.delivered[i].success ? "" : " (the recipient reverted; retryFailed() can re-run it)",
            fields[i], receipt.tx_hash.hex());
    if (!receipt.success) {
        ++counters_->txs_failed;
        gas_reference_.clear();  // perhaps out of gas: estimate the next batches afresh
    }
    for (const auto& h : d.replaced) last_broadcast_.erase(h);
    last_broadcast_.erase(d.tx_hash);
    nonce_consumed_since_.erase(d.tx_hash);
    delivery_nonces_.erase(d.tx_hash);
    co_return true;
}

Task<bool> Submitter::broadcast(const crypto::Bytes& raw, const crypto::Hash32& hash) {
    last_broadcast_[hash] = Clock::now();
    auto sent = co_await dst_->chain->send_raw(raw);
    if (sent) co_return true;
    const auto code = sent.error().code;
    if (code == evm::RpcError::Code::already_known || code == evm::RpcError::Code::nonce_too_low)
        co_return true;  // in the pool already, or mined: tracking finds out
    dst_->last_error = "eth_sendRawTransaction: " + describe(sent.error());
    spdlog::warn("submitter {}: sending tx {}: {} tx={}", dst_->config->name, short_hash(hash),
                 describe(sent.error()), hash.hex());
    co_return sent.error().transient();
}

Task<void> Submitter::replace_or_rebroadcast(const storage::Delivery& d) {
    const auto& gas = dst_->config->gas;
    const auto age = std::chrono::milliseconds(now_ms() - d.created_at);
    std::string error;
    auto built = build(d.packets, error);
    if (!built) {
        spdlog::error("submitter {}: cannot rebuild tx {}: {}", dst_->config->name, d.tx_hash.hex(),
                      error);
        co_return;
    }
    if (age >= std::chrono::milliseconds(gas.replace_after_ms)) {
        auto market = co_await market_fees();
        Fees fees{bump(d.max_fee_per_gas, gas.fee_bump_percent),
                  bump(d.max_priority_fee_per_gas, gas.fee_bump_percent)};
        if (market) {
            fees.tip = std::max(fees.tip, market->tip);
            fees.max_fee = std::max(fees.max_fee, market->max_fee);
        }
        fees.max_fee = std::min(fees.max_fee, gas.max_fee_wei);
        fees.tip = std::min(fees.tip, fees.max_fee);
        if (fees.max_fee > d.max_fee_per_gas && fees.tip > d.max_priority_fee_per_gas) {
            auto tx = sign(built->calldata, d.account_nonce, d.gas_limit, fees);
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
            delivery_nonces_.erase(d.tx_hash);
            co_await broadcast(tx->raw, tx->hash);
            co_return;
        }
        // At the fee cap: keep the tx and make sure the node has it.
    }
    const auto last = last_broadcast_.find(d.tx_hash);
    if (last != last_broadcast_.end() && Clock::now() - last->second < kRebroadcastEvery) co_return;
    Fees fees{d.max_fee_per_gas, d.max_priority_fee_per_gas};
    auto tx = sign(built->calldata, d.account_nonce, d.gas_limit, fees);
    if (!tx) co_return;
    if (tx->hash != d.tx_hash) {
        // Its signatures changed since (e.g. the validator set): a new fee level is needed.
        last_broadcast_[d.tx_hash] = Clock::now();
        spdlog::warn("submitter {}: tx {} cannot be rebuilt identically; waiting to replace it",
                     dst_->config->name, short_hash(d.tx_hash));
        co_return;
    }
    if (last != last_broadcast_.end()) ++counters_->txs_rebroadcast;
    co_await broadcast(tx->raw, tx->hash);
}

Task<void> Submitter::track(const std::vector<storage::Delivery>& live, std::uint64_t chain_nonce) {
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
        if (rpc_failed) co_return;
        if (mined) {
            co_await record_mined(d, *mined);
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
                delivery_nonces_.erase(d.tx_hash);
            }
            continue;
        }
        co_await replace_or_rebroadcast(d);
    }
}

Task<void> Submitter::confirm(std::uint64_t head) {
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
            spdlog::warn(
                "submitter {}: delivery tx {} in block {} was reorged out; {} packets back to "
                "attested",
                cfg.name, short_hash(d.tx_hash), d.block_number, *moved);
        }
    }
}

// ---- submitting ----

std::optional<Submitter::Built> Submitter::build(const std::vector<crypto::PacketId>& ids,
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
        items.push_back(std::move(item));
        out.ids.push_back(id);
    }
    out.calldata = evm::inbox_deliver_batch_calldata(items);
    return out;
}

std::optional<evm::SignedTx> Submitter::sign(const crypto::Bytes& calldata, std::uint64_t nonce,
                                             std::uint64_t gas, const Fees& fees) {
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

Task<std::optional<Submitter::Fees>> Submitter::market_fees() {
    const GasPolicy& gas = dst_->config->gas;
    std::uint64_t tip = 1'000'000'000;
    auto quote = co_await dst_->chain->fee_quote(!gas.priority_fee_wei);
    if (gas.priority_fee_wei) {
        tip = *gas.priority_fee_wei;
    } else if (quote && quote->priority_fee) {
        tip = quote->priority_fee->to_u64().value_or(tip);
    }
    if (!quote || !quote->base_fee) co_return std::nullopt;
    const auto base = quote->base_fee->to_u64();
    if (!base) co_return std::nullopt;
    const double max_fee =
        static_cast<double>(*base) * gas.fee_multiplier + static_cast<double>(tip);
    Fees fees;
    fees.max_fee = max_fee >= static_cast<double>(gas.max_fee_wei)
                       ? gas.max_fee_wei
                       : static_cast<std::uint64_t>(std::ceil(max_fee));
    fees.tip = std::min(tip, fees.max_fee);
    if (fees.max_fee < *base) co_return std::nullopt;  // the cap is below the base fee
    co_return fees;
}

std::map<storage::Route, std::uint64_t> Submitter::live_nonces(
    const std::vector<storage::Delivery>& live) {
    std::map<storage::Route, std::uint64_t> out;
    for (const auto& d : live) {
        auto it = delivery_nonces_.find(d.tx_hash);
        if (it == delivery_nonces_.end()) {
            std::map<storage::Route, std::uint64_t> m;
            for (const auto& id : d.packets) {
                auto rec = queue_->packet(id);
                if (!rec || !*rec) continue;
                auto& slot = m[(*rec)->route];
                slot = std::max(slot, crypto::to_u64((*rec)->nonce));
            }
            it = delivery_nonces_.emplace(d.tx_hash, std::move(m)).first;
        }
        for (const auto& [route, nonce] : it->second) out[route] = std::max(out[route], nonce);
    }
    return out;
}

Task<std::size_t> Submitter::submit(std::vector<storage::Delivery>& live,
                                    std::uint64_t chain_nonce) {
    std::size_t total = 0;
    if (routes_.empty()) co_return 0;
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const auto& route = routes_[(next_route_ + i) % routes_.size()];
        total += co_await submit_route(route, live, chain_nonce);
    }
    next_route_ = (next_route_ + 1) % routes_.size();
    co_return total;
}

Task<std::size_t> Submitter::submit_route(const SubmitterRoute& route,
                                          std::vector<storage::Delivery>& live,
                                          std::uint64_t chain_nonce) {
    const ChainConfig& cfg = *dst_->config;
    const storage::Route r{route.config->src, route.config->dst};
    if (!route.attestor->validator_set()) co_return 0;
    std::size_t sent_packets = 0;
    // Read once per call: the Inbox's next nonce only grows (the live deliveries carry the
    // route on from there), and one fee quote serves every batch sent in this burst.
    std::optional<std::uint64_t> inbound_at_start;
    std::optional<Fees> burst_fees;
    while (live.size() < cfg.gas.max_in_flight) {
        auto batch = queue_->next_attested(r, route.config->batch_size);
        if (!batch) {
            spdlog::error("submitter {}: reading attested packets: {}", cfg.name,
                          queue_->last_error());
            co_return sent_packets;
        }
        if (batch->empty()) co_return sent_packets;

        // Packets the Inbox already holds leave the batch (delivered by someone else, or by a
        // transaction of ours whose receipt we did not see).
        std::uint64_t next_inbound = inbound_at_start.value_or(0);
        if (route.config->ordered && !inbound_at_start) {
            auto returned = co_await dst_->chain->next_inbound_nonce(*cfg.inbox, r.src);
            if (!returned) {
                dst_->last_error = "nextInboundNonce: " + describe(returned.error());
                co_return sent_packets;
            }
            auto n = std::move(*returned);
            if (!n) co_return sent_packets;
            next_inbound = crypto::to_u64(*n);
            inbound_at_start = next_inbound;
        }
        std::vector<crypto::PacketId> already;
        std::vector<storage::PacketRecord> todo;
        for (auto& p : *batch) {
            const bool must_check =
                !route.config->ordered || crypto::to_u64(p.nonce) < next_inbound;
            if (must_check) {
                auto returned = co_await dst_->chain->delivered(*cfg.inbox, p.id);
                if (!returned) {
                    dst_->last_error = "delivered(id): " + describe(returned.error());
                    co_return sent_packets;
                }
                auto delivered = std::move(*returned);
                if (delivered && *delivered) {
                    already.push_back(p.id);
                    continue;
                }
            }
            todo.push_back(std::move(p));
        }
        if (!already.empty()) {
            if (queue_->mark_delivered_elsewhere(already, now_ms())) {
                counters_->packets_delivered_elsewhere += already.size();
                spdlog::info("submitter {}: {} packets were already delivered route={} count={}",
                             cfg.name, already.size(), storage::route_name(r), already.size());
            }
            continue;  // read the batch again
        }
        if (route.config->ordered) {
            // Only a run of consecutive nonces starting where the chain (and our live txs) are.
            const auto in_flight = live_nonces(live);
            std::uint64_t expected = next_inbound;
            if (auto it = in_flight.find(r); it != in_flight.end())
                expected = std::max(expected, it->second + 1);
            std::vector<storage::PacketRecord> run;
            for (auto& p : todo) {
                if (crypto::to_u64(p.nonce) != expected + run.size()) break;
                run.push_back(std::move(p));
            }
            if (run.empty()) {
                if (!todo.empty() && crypto::to_u64(todo.front().nonce) < next_inbound)
                    set_waiting(r, "nonce " + std::to_string(crypto::to_u64(todo.front().nonce)) +
                                       " is below the Inbox's next nonce " +
                                       std::to_string(next_inbound) +
                                       " but not delivered there (skipped by the Inbox owner?)");
                co_return sent_packets;  // the next nonce is not attested yet
            }
            todo = std::move(run);
        }
        if (todo.empty()) co_return sent_packets;

        std::vector<crypto::PacketId> ids;
        for (const auto& p : todo) ids.push_back(p.id);
        std::string error;
        auto built = build(ids, error);
        if (!built) {
            set_waiting(r, error);
            co_return sent_packets;
        }
        // A batch whose predecessors on this route are not mined yet cannot be simulated
        // against the latest state (an ordered Inbox refuses its first nonce there), and
        // estimating every batch would serialise a burst on the node's slowest call: such a
        // batch takes the route's last estimate, scaled up by packets and by calldata size but
        // never down (the Inbox keeps a fixed reserve for the last recipient call, so a smaller
        // batch does not need proportionally less gas).
        std::uint64_t estimated = 0;
        const auto reference = gas_reference_.find(r);
        if (reference != gas_reference_.end() && live_nonces(live).count(r) != 0) {
            const auto& g = reference->second;
            const double scale =
                std::max({1.0, static_cast<double>(ids.size()) / static_cast<double>(g.packets),
                          static_cast<double>(built->calldata.size()) /
                              static_cast<double>(g.calldata_bytes)});
            estimated = static_cast<std::uint64_t>(std::ceil(static_cast<double>(g.gas) * scale));
        } else {
            evm::CallRequest estimate_call;
            estimate_call.from = account_;
            estimate_call.to = *cfg.inbox;
            estimate_call.data = built->calldata;
            auto estimate = co_await dst_->chain->estimate_gas(estimate_call);
            if (!estimate) {
                set_waiting(
                    r, "eth_estimateGas for deliverBatch failed: " + describe(estimate.error()));
                co_return sent_packets;
            }
            estimated = *estimate;
            gas_reference_[r] = {*estimate, std::max<std::size_t>(ids.size(), 1),
                                 std::max<std::size_t>(built->calldata.size(), 1)};
        }
        const auto gas_limit = static_cast<std::uint64_t>(
            std::ceil(static_cast<double>(estimated) * cfg.gas.gas_margin));
        if (!burst_fees) burst_fees = co_await market_fees();
        const auto& fees = burst_fees;
        if (!fees) {
            set_waiting(r,
                        "cannot price the transaction (no base fee, or it is above max_fee_wei)");
            co_return sent_packets;
        }
        // The lowest account nonce from the chain's that no live delivery holds.
        std::set<std::uint64_t> used;
        for (const auto& d : live) used.insert(d.account_nonce);
        std::uint64_t nonce = chain_nonce;
        while (used.count(nonce) != 0) ++nonce;

        auto tx = sign(built->calldata, nonce, gas_limit, *fees);
        if (!tx) co_return sent_packets;
        storage::Delivery d;
        d.chain = cfg.chain_id;
        d.tx_hash = tx->hash;
        d.account = account_;
        d.account_nonce = nonce;
        d.max_fee_per_gas = fees->max_fee;
        d.max_priority_fee_per_gas = fees->tip;
        d.gas_limit = gas_limit;
        d.packets = built->ids;
        const auto now = now_ms();
        if (auto rec = queue_->record_delivery(d, now); !rec) {
            spdlog::error("submitter {}: recording delivery {}: {}", cfg.name, tx->hash.hex(),
                          queue_->last_error());
            co_return sent_packets;
        }
        d.created_at = now;
        ++counters_->txs_sent;
        spdlog::info(
            "submitter {}: route {} nonces {}..{} ({} packets) in tx {} (account nonce "
            "{}, gas {}, max fee {} wei) route={} nonces={}..{} tx={}",
            cfg.name, storage::route_name(r), crypto::to_u64(todo.front().nonce),
            crypto::to_u64(todo.back().nonce), todo.size(), short_hash(tx->hash), nonce, gas_limit,
            fees->max_fee, storage::route_name(r), crypto::to_u64(todo.front().nonce),
            crypto::to_u64(todo.back().nonce), tx->hash.hex());
        for (const auto& p : todo)
            spdlog::debug("submitter {}: packet submitted {} tx={}", cfg.name, packet_fields(p),
                          tx->hash.hex());
        const bool ok = co_await broadcast(tx->raw, tx->hash);
        if (!ok) {
            // Refused as it stands (funds, fee cap, …): the packets fail and retry with backoff.
            auto moved = queue_->fail_delivery(tx->hash, dst_->last_error,
                                               storage::FailureKind::transient, now_ms());
            ++counters_->txs_failed;
            if (moved)
                spdlog::warn("submitter {}: {} packets failed: {} route={} nonces={}..{} tx={}",
                             cfg.name, *moved, dst_->last_error, storage::route_name(r),
                             crypto::to_u64(todo.front().nonce), crypto::to_u64(todo.back().nonce),
                             tx->hash.hex());
            co_return sent_packets;
        }
        delivery_nonces_[d.tx_hash][r] = crypto::to_u64(todo.back().nonce);
        live.push_back(std::move(d));
        sent_packets += todo.size();
    }
    co_return sent_packets;
}

}  // namespace ferry::relayer

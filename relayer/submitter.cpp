#include "relayer/submitter.hpp"

#include "chains/evm/inbox_gas.hpp"
#include "relayer/logging.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kHousekeepingEvery = std::chrono::seconds(2);

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
      txs_(dst, queue, routes_, std::move(key), account),
      nonces_(queue, dst.config->chain_id, account),
      tracker_(dst, queue, counters, txs_, nonces_),
      wake_(std::move(executor)) {}

void Submitter::set_waiting(const storage::Route& r, std::string why) {
    auto& slot = (*waiting_)[r];
    if (why.empty()) return;  // the attestor clears it when the route moves again
    if (why != slot)
        spdlog::warn("submitter {}: waiting: {} route={}", storage::route_name(r), why,
                     storage::route_name(r));
    slot = std::move(why);
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
    auto chain_nonce = co_await dst_->chain->account_nonce(txs_.account(), chains::NonceAt::latest);
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
    if (!live->empty()) (void)co_await tracker_.track(*live, *chain_nonce);
    co_await tracker_.confirm(*head);
    housekeeping();

    // Re-read: tracking may have finished some. The account is read again after tracking: a
    // receipt seen meanwhile is then in the chain's count (the count read above may predate it).
    live = queue_->pending_deliveries(dst_->config->chain_id, 1024);
    if (!live) co_return;
    if (!co_await observe_account()) co_return;
    co_await submit(*live);
}

Task<bool> Submitter::observe_account() {
    auto latest = co_await dst_->chain->account_nonce(txs_.account(), chains::NonceAt::latest);
    if (!latest) {
        dst_->last_error = "eth_getTransactionCount: " + describe(latest.error());
        co_return false;
    }
    auto pending = co_await dst_->chain->account_nonce(txs_.account(), chains::NonceAt::pending);
    if (!pending) {
        dst_->last_error = "eth_getTransactionCount (pending): " + describe(pending.error());
        co_return false;
    }
    nonces_.observe(*latest, *pending);
    co_return true;
}

void Submitter::housekeeping() {
    const auto now = Clock::now();
    if (now - last_housekeeping_ <= kHousekeepingEvery) return;
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

void Submitter::prune_live_nonces(const std::vector<storage::Delivery>& live) {
    if (delivery_nonces_.empty()) return;
    std::set<crypto::Hash32> hashes;
    for (const auto& d : live) hashes.insert(d.tx_hash);
    std::erase_if(delivery_nonces_, [&](const auto& kv) { return hashes.count(kv.first) == 0; });
}

Task<std::size_t> Submitter::submit(std::vector<storage::Delivery>& live) {
    std::size_t total = 0;
    if (routes_.empty()) co_return 0;
    prune_live_nonces(live);
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const auto& route = routes_[(next_route_ + i) % routes_.size()];
        total += co_await submit_route(route, live);
    }
    next_route_ = (next_route_ + 1) % routes_.size();
    co_return total;
}

Task<std::size_t> Submitter::submit_route(const SubmitterRoute& route,
                                          std::vector<storage::Delivery>& live) {
    const ChainConfig& cfg = *dst_->config;
    if (!route.attestor->validator_set()) co_return 0;
    Burst burst;
    burst.route = &route;
    burst.r = storage::Route{route.config->src, route.config->dst};
    while (live.size() < cfg.gas.max_in_flight) {
        auto batch = queue_->next_attested(burst.r, route.config->batch_size);
        if (!batch) {
            spdlog::error("submitter {}: reading attested packets: {}", cfg.name,
                          queue_->last_error());
            break;
        }
        if (batch->empty()) break;
        const Step dropped = co_await drop_delivered(burst, *batch);
        if (dropped == Step::again) continue;  // read the batch again
        if (dropped == Step::stop) break;
        if (!take_consecutive_run(burst, *batch, live) || batch->empty()) break;
        const bool sent = co_await send_batch(burst, *batch, live);
        if (!sent) break;
    }
    co_return burst.sent_packets;
}

Task<Submitter::Step> Submitter::drop_delivered(Burst& burst,
                                                std::vector<storage::PacketRecord>& batch) {
    const ChainConfig& cfg = *dst_->config;
    const RouteConfig& route = *burst.route->config;
    const storage::Route& r = burst.r;
    // Packets the Inbox already holds leave the batch (delivered by someone else, or by a
    // transaction of ours whose receipt we did not see).
    std::uint64_t next_inbound = burst.inbound.value_or(0);
    if (route.ordered && !burst.inbound) {
        auto returned = co_await dst_->chain->next_inbound_nonce(*cfg.inbox, r.src);
        if (!returned) {
            dst_->last_error = "nextInboundNonce: " + describe(returned.error());
            co_return Step::stop;
        }
        auto n = std::move(*returned);
        if (!n) co_return Step::stop;
        next_inbound = crypto::to_u64(*n);
        burst.inbound = next_inbound;
    }
    std::vector<crypto::PacketId> already;
    std::vector<storage::PacketRecord> todo;
    for (auto& p : batch) {
        const bool must_check = !route.ordered || crypto::to_u64(p.nonce) < next_inbound;
        if (must_check) {
            auto returned = co_await dst_->chain->delivered(*cfg.inbox, p.id);
            if (!returned) {
                dst_->last_error = "delivered(id): " + describe(returned.error());
                co_return Step::stop;
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
        co_return Step::again;
    }
    batch = std::move(todo);
    co_return Step::go;
}

bool Submitter::take_consecutive_run(const Burst& burst, std::vector<storage::PacketRecord>& todo,
                                     const std::vector<storage::Delivery>& live) {
    if (!burst.route->config->ordered) return true;
    const storage::Route& r = burst.r;
    const std::uint64_t next_inbound = burst.inbound.value_or(0);
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
                               " is below the Inbox's next nonce " + std::to_string(next_inbound) +
                               " but not delivered there (skipped by the Inbox owner?)");
        return false;  // the next nonce is not attested yet
    }
    todo = std::move(run);
    return true;
}

Task<bool> Submitter::send_batch(Burst& burst, const std::vector<storage::PacketRecord>& todo,
                                 std::vector<storage::Delivery>& live) {
    if (!co_await load_gas_rules(burst)) co_return false;
    auto fitting = build_fitting(burst, todo);
    if (!fitting) co_return false;
    auto& [built, bound] = *fitting;
    const auto gas_limit = co_await batch_gas(burst, built, bound, live);
    if (!gas_limit) co_return false;
    if (!burst.fees) burst.fees = co_await txs_.market_fees();
    if (!burst.fees) {
        set_waiting(burst.r,
                    "cannot price the transaction (no base fee, or it is above max_fee_wei)");
        co_return false;
    }
    const auto nonce = nonces_.next(live);
    if (!nonce) co_return false;
    const std::span<const storage::PacketRecord> taken(todo.data(), built.ids.size());
    co_return co_await record_then_send(burst, taken, built, *nonce, *gas_limit, live);
}

Task<bool> Submitter::load_gas_rules(Burst& burst) {
    if (burst.handle_gas_limit) co_return true;
    const ChainConfig& cfg = *dst_->config;
    auto returned = co_await dst_->chain->handle_gas_limit(*cfg.inbox);
    if (!returned) {
        dst_->last_error = "handleGasLimit: " + describe(returned.error());
        co_return false;
    }
    if (!*returned) {
        set_waiting(burst.r, "the Inbox's handleGasLimit() answer does not decode: " +
                                 returned->error().message());
        co_return false;
    }
    auto block = co_await dst_->chain->block(evm::BlockTag::latest);
    if (!block || !*block) {
        if (!block) dst_->last_error = "eth_getBlockByNumber: " + describe(block.error());
        co_return false;
    }
    burst.handle_gas_limit = **returned;
    burst.block_gas_limit = (*block)->gas_limit;
    co_return true;
}

std::optional<std::pair<DeliveryTxs::Built, std::uint64_t>> Submitter::build_fitting(
    const Burst& burst, std::span<const storage::PacketRecord> todo) {
    std::size_t count = todo.size();
    for (;;) {
        std::vector<crypto::PacketId> ids;
        for (const auto& p : todo.first(count)) ids.push_back(p.id);
        std::string error;
        auto built = txs_.build(ids, error);
        if (!built) {
            set_waiting(burst.r, error);
            return std::nullopt;
        }
        const auto bound = evm::deliver_batch_gas_bound(
            *burst.handle_gas_limit,
            {built->packet_sizes, built->signatures, built->calldata.size()});
        if (bound <= burst.block_gas_limit) return std::pair{std::move(*built), bound};
        if (count == 1) {
            set_waiting(burst.r, "a delivery of one packet may need " + std::to_string(bound) +
                                     " gas (Inbox handleGasLimit " +
                                     std::to_string(*burst.handle_gas_limit) +
                                     ") but a block holds " +
                                     std::to_string(burst.block_gas_limit));
            return std::nullopt;
        }
        // Fewer packets, in proportion (the bound is nearly linear in them), at least one less.
        const auto scaled = static_cast<std::size_t>(static_cast<double>(count) *
                                                     static_cast<double>(burst.block_gas_limit) /
                                                     static_cast<double>(bound));
        count = std::clamp<std::size_t>(scaled, 1, count - 1);
    }
}

Task<std::optional<std::uint64_t>> Submitter::batch_gas(
    const Burst& burst, const DeliveryTxs::Built& built, std::uint64_t bound,
    const std::vector<storage::Delivery>& live) {
    const ChainConfig& cfg = *dst_->config;
    // Behind unmined batches of its route a batch cannot be simulated (an ordered Inbox refuses
    // its first nonce at the latest state): the bound alone, which needs no simulation.
    if (live_nonces(live).count(burst.r) != 0) co_return bound;
    evm::CallRequest estimate_call;
    estimate_call.from = txs_.account();
    estimate_call.to = *cfg.inbox;
    estimate_call.data = built.calldata;
    auto estimate = co_await dst_->chain->estimate_gas(estimate_call);
    if (!estimate) {
        set_waiting(burst.r,
                    "eth_estimateGas for deliverBatch failed: " + describe(estimate.error()));
        co_return std::nullopt;
    }
    const auto margin =
        static_cast<std::uint64_t>(std::ceil(static_cast<double>(*estimate) * cfg.gas.gas_margin));
    co_return std::max(bound, margin);
}

Task<void> Submitter::settle_used_nonce(const storage::Delivery& d) {
    const ChainConfig& cfg = *dst_->config;
    auto receipt = co_await dst_->chain->receipt(d.tx_hash);
    if (receipt && *receipt) co_return;  // it was ours and is mined: tracking records it
    // Another transaction holds the nonce (sent by someone else with this key, or one this
    // node lost track of): nothing of this delivery reached the chain.
    auto moved = queue_->drop_delivery(d.tx_hash, now_ms());
    ++counters_->nonce_conflicts;
    if (auto latest = co_await dst_->chain->account_nonce(d.account, chains::NonceAt::latest))
        nonces_.observe(*latest, std::nullopt);
    spdlog::warn(
        "submitter {}: account nonce {} is already used on the chain by another transaction; "
        "tx {} not sent, {} packets back to attested; next account nonce at least {} tx={}",
        cfg.name, d.account_nonce, short_hash(d.tx_hash), moved ? *moved : 0, nonces_.floor(),
        d.tx_hash.hex());
}

Task<bool> Submitter::record_then_send(Burst& burst, std::span<const storage::PacketRecord> todo,
                                       const DeliveryTxs::Built& built, std::uint64_t nonce,
                                       std::uint64_t gas_limit,
                                       std::vector<storage::Delivery>& live) {
    const ChainConfig& cfg = *dst_->config;
    const storage::Route& r = burst.r;
    const evm::Fees& fees = *burst.fees;
    auto tx = txs_.sign(built.calldata, nonce, gas_limit, fees);
    if (!tx) co_return false;
    storage::Delivery d;
    d.chain = cfg.chain_id;
    d.tx_hash = tx->hash;
    d.account = txs_.account();
    d.account_nonce = nonce;
    d.max_fee_per_gas = fees.max_fee;
    d.max_priority_fee_per_gas = fees.tip;
    d.gas_limit = gas_limit;
    d.packets = built.ids;
    const auto now = now_ms();
    if (auto rec = queue_->record_delivery(d, now); !rec) {
        spdlog::error("submitter {}: recording delivery {}: {}", cfg.name, tx->hash.hex(),
                      queue_->last_error());
        co_return false;
    }
    d.created_at = now;
    ++counters_->txs_sent;
    const auto first = crypto::to_u64(todo.front().nonce);
    const auto last = crypto::to_u64(todo.back().nonce);
    spdlog::info(
        "submitter {}: route {} nonces {}..{} ({} packets) in tx {} (account nonce "
        "{}, gas {}, max fee {} wei) route={} nonces={}..{} tx={}",
        cfg.name, storage::route_name(r), first, last, todo.size(), short_hash(tx->hash), nonce,
        gas_limit, fees.max_fee, storage::route_name(r), first, last, tx->hash.hex());
    for (const auto& p : todo)
        spdlog::debug("submitter {}: packet submitted {} tx={}", cfg.name, packet_fields(p),
                      tx->hash.hex());
    const auto sent = co_await txs_.broadcast(tx->raw, tx->hash);
    if (sent == DeliveryTxs::Sent::nonce_used) {
        co_await settle_used_nonce(d);
        co_return false;
    }
    if (sent == DeliveryTxs::Sent::refused) {
        nonces_.give_back(nonce);
        // Refused as it stands (funds, fee cap, …): the packets fail and retry with backoff.
        auto moved = queue_->fail_delivery(tx->hash, dst_->last_error,
                                           storage::FailureKind::transient, now_ms());
        ++counters_->txs_failed;
        if (moved)
            spdlog::warn("submitter {}: {} packets failed: {} route={} nonces={}..{} tx={}",
                         cfg.name, *moved, dst_->last_error, storage::route_name(r), first, last,
                         tx->hash.hex());
        co_return false;
    }
    delivery_nonces_[d.tx_hash][r] = last;
    live.push_back(std::move(d));
    burst.sent_packets += todo.size();
    co_return true;
}

}  // namespace ferry::relayer

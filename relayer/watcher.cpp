#include "relayer/watcher.hpp"

#include "chains/evm/packet.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;

Watcher::Watcher(ChainRuntime& chain, storage::Queue& queue, NodeCounters& counters,
                 WatcherOptions options, std::function<void()> on_new_packets,
                 boost::asio::any_io_executor executor)
    : chain_(&chain),
      queue_(&queue),
      counters_(&counters),
      options_(std::move(options)),
      on_new_(std::move(on_new_packets)),
      wake_(std::move(executor)) {}

void Watcher::fail(std::string message) {
    if (message != chain_->last_error)
        spdlog::warn("watcher {}: {}", chain_->config->name, message);
    chain_->last_error = std::move(message);
}

Task<void> Watcher::run() {
    const auto poll = std::chrono::milliseconds(chain_->config->poll_interval_ms);
    while (!wake_.closed()) {
        bool more = false;
        try {
            more = co_await step();
        } catch (const std::exception& e) {
            fail(std::string("internal error: ") + e.what());
        }
        if (!more) co_await wake_.wait(poll);
    }
}

Task<std::optional<std::uint64_t>> Watcher::confirmed_head() {
    const ChainConfig& cfg = *chain_->config;
    auto head = co_await chain_->chain->head();
    if (!head) {
        fail("eth_blockNumber: " + describe(head.error()));
        co_return std::nullopt;
    }
    chain_->head = *head;
    if (cfg.finalized) {
        auto block = co_await chain_->chain->block(evm::BlockTag::finalized);
        if (!block) {
            fail("eth_getBlockByNumber(finalized): " + describe(block.error()));
            co_return std::nullopt;
        }
        if (!*block) co_return std::nullopt;
        co_return (*block)->number;
    }
    if (*head < cfg.confirmations) co_return std::nullopt;
    co_return *head - cfg.confirmations;
}

Task<bool> Watcher::check_reorg(const storage::Cursor& cursor) {
    auto block = co_await chain_->chain->block(cursor.block_number);
    if (!block) {
        fail("eth_getBlockByNumber: " + describe(block.error()));
        co_return false;
    }
    if (*block && (*block)->hash == cursor.block_hash) co_return true;
    // The block we scanned to is gone (or differs): rewind and rescan. Packets already stored
    // stay (ids are unique; a different packet at a known nonce is equivocation).
    ++counters_->reorgs;
    const std::uint64_t back = cursor.block_number > options_.reorg_rewind_blocks
                                   ? cursor.block_number - options_.reorg_rewind_blocks
                                   : 0;
    auto rewound = co_await chain_->chain->block(back);
    if (!rewound || !*rewound) {
        fail("reorg below block " + std::to_string(cursor.block_number) + ": cannot read block " +
             std::to_string(back));
        co_return false;
    }
    spdlog::warn("watcher {}: reorg: block {} changed hash; rescanning from block {}",
                 chain_->config->name, cursor.block_number, back + 1);
    storage::Cursor c = cursor;
    c.block_number = back;
    c.block_hash = (*rewound)->hash;
    if (auto r = queue_->insert_packets({}, c, now_ms()); !r) {
        fail("storing the rewound cursor: " + std::string(queue_->last_error()));
        co_return false;
    }
    chain_->scanned_block = back;
    co_return false;
}

Task<std::optional<std::vector<evm::Log>>> Watcher::fetch_logs(std::uint64_t from,
                                                               std::uint64_t to) {
    evm::LogFilter filter;
    filter.from_block = from;
    filter.to_block = to;
    filter.addresses = {options_.outbox};
    filter.topics = {{evm::packet_sent_topic()}};
    auto logs = co_await chain_->chain->logs(std::move(filter));
    if (!logs) {
        fail("eth_getLogs " + std::to_string(from) + ".." + std::to_string(to) + ": " +
             describe(logs.error()));
        co_return std::nullopt;
    }
    co_return std::move(*logs);
}

std::vector<storage::NewPacket> Watcher::accept(const std::vector<evm::Log>& logs) {
    const ChainConfig& cfg = *chain_->config;
    std::vector<storage::NewPacket> out;
    out.reserve(logs.size());
    for (const auto& log : logs) {
        if (log.removed || log.address != options_.outbox) continue;
        auto refuse = [&](std::string_view why) {
            ++counters_->packets_invalid;
            spdlog::warn("watcher {}: refused PacketSent: {} id={} block={} tx={}", cfg.name, why,
                         log.topics.size() > 1 ? log.topics[1].hex() : std::string("none"),
                         log.block_number, log.tx_hash.hex());
        };
        auto event = evm::decode_packet_sent(log);
        if (!event) {
            refuse(event.error().message());
            continue;
        }
        auto packet = evm::decode_sent_packet(*event, options_.max_body_bytes);
        if (!packet) {
            refuse(packet.error().message());
            continue;
        }
        if (packet->src_chain != cfg.chain_id) {
            refuse("source chain " + std::to_string(crypto::to_u64(packet->src_chain)) +
                   " is not this chain");
            continue;
        }
        if (options_.destinations && options_.destinations->count(packet->dst_chain) == 0) {
            spdlog::debug(
                "watcher {}: packet to chain {} has no route here id={} route={} nonce={}",
                cfg.name, crypto::to_u64(packet->dst_chain), event->id.hex(),
                storage::route_name({packet->src_chain, packet->dst_chain}),
                crypto::to_u64(packet->nonce));
            continue;
        }
        storage::NewPacket p;
        p.id = event->id;
        p.route = {packet->src_chain, packet->dst_chain};
        p.nonce = packet->nonce;
        p.sender = packet->sender;
        p.recipient = packet->recipient;
        p.expiry = packet->expiry;
        p.source_block = log.block_number;
        p.encoded = std::move(event->packet);
        out.push_back(std::move(p));
    }
    return out;
}

Task<void> Watcher::rescan_gaps(const storage::Cursor& cursor) {
    auto routes = queue_->routes();
    if (!routes) co_return;
    for (const auto& info : *routes) {
        if (info.route.src != chain_->config->chain_id || info.contiguous >= info.highest) continue;
        const auto missing = crypto::to_u64(info.contiguous) + 1;
        // Rescan from the block of the last packet before the gap up to the cursor.
        std::uint64_t from = chain_->config->start_block;
        if (info.contiguous != crypto::Nonce{0}) {
            storage::PacketFilter f;
            f.route = info.route;
            f.after = storage::PageKey{
                info.route, crypto::Nonce{crypto::to_u64(info.contiguous) - 1},
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())};
            f.limit = 1;
            if (auto page = queue_->list_packets(f); page && !page->packets.empty())
                from = page->packets.front().source_block;
        }
        ++counters_->gap_rescans;
        spdlog::warn("watcher {}: nonce missing; rescanning blocks {}..{} route={} nonce={}",
                     chain_->config->name, from, cursor.block_number,
                     storage::route_name(info.route), missing);
        for (std::uint64_t lo = from; lo <= cursor.block_number;) {
            const std::uint64_t hi =
                std::min(cursor.block_number, lo + chain_->config->max_log_range - 1);
            auto logs = co_await fetch_logs(lo, hi);
            if (!logs) co_return;
            auto packets = accept(*logs);
            if (!packets.empty()) {
                auto r = queue_->insert_packets(packets, cursor, now_ms());
                if (r) {
                    counters_->replays_rejected += r->duplicates;
                    counters_->equivocations_rejected += r->equivocations;
                }
                if (r && r->inserted > 0) {
                    counters_->packets_observed += r->inserted;
                    on_new_();
                }
            }
            lo = hi + 1;
        }
    }
}

Task<bool> Watcher::step() {
    const ChainConfig& cfg = *chain_->config;
    auto confirmed = co_await confirmed_head();
    if (!confirmed) co_return false;

    auto stored = queue_->cursor(cfg.chain_id, options_.outbox);
    if (!stored) {
        fail("reading the cursor: " + std::string(queue_->last_error()));
        co_return false;
    }
    std::uint64_t from = cfg.start_block;
    if (*stored) {
        if (!co_await check_reorg(**stored)) co_return false;
        from = (*stored)->block_number + 1;
        chain_->scanned_block = (*stored)->block_number;
        if (std::chrono::steady_clock::now() - last_gap_scan_ > options_.gap_rescan_interval) {
            last_gap_scan_ = std::chrono::steady_clock::now();
            co_await rescan_gaps(**stored);
        }
    }
    if (from > *confirmed) co_return false;
    const std::uint64_t span = span_ == 0 ? first_span() : span_;
    const std::uint64_t to = std::min(*confirmed, from + span - 1);

    auto logs = co_await fetch_logs(from, to);
    if (!logs) co_return false;
    adapt_span(to - from + 1, logs->size());
    auto block = co_await chain_->chain->block(to);
    if (!block || !*block) {
        fail("eth_getBlockByNumber(" + std::to_string(to) +
             "): " + (block ? std::string("no such block") : describe(block.error())));
        co_return false;
    }
    auto packets = accept(*logs);
    const storage::Cursor cursor{cfg.chain_id, options_.outbox, to, (*block)->hash};
    auto r = queue_->insert_packets(packets, cursor, now_ms());
    if (!r) {
        fail("storing " + std::to_string(packets.size()) +
             " packets: " + std::string(queue_->last_error()));
        co_return false;
    }
    chain_->scanned_block = to;
    chain_->last_error.clear();
    counters_->replays_rejected += r->duplicates;
    counters_->equivocations_rejected += r->equivocations;
    if (r->inserted > 0) {
        counters_->packets_observed += r->inserted;
        for (const auto& p : packets)
            spdlog::debug("watcher {}: packet observed id={} route={} nonce={} block={}", cfg.name,
                          p.id.hex(), storage::route_name(p.route), crypto::to_u64(p.nonce),
                          p.source_block);
        spdlog::info("watcher {}: blocks {}..{}: {} new packets{} count={}", cfg.name, from, to,
                     r->inserted,
                     r->equivocations > 0
                         ? " (" + std::to_string(r->equivocations) + " equivocations rejected)"
                         : std::string(),
                     r->inserted);
        on_new_();
    }
    if (to < *confirmed)
        report_catch_up(to, *confirmed);
    else
        catch_up_from_.reset();
    co_return to < *confirmed;
}

std::uint64_t Watcher::first_span() const noexcept {
    const std::uint64_t widest = std::max<std::uint64_t>(chain_->config->max_log_range, 1);
    return options_.first_log_span == 0 ? widest : std::min(options_.first_log_span, widest);
}

void Watcher::adapt_span(std::uint64_t blocks, std::size_t logs) {
    const std::uint64_t widest = std::max<std::uint64_t>(chain_->config->max_log_range, 1);
    const std::size_t most = std::max<std::size_t>(options_.max_logs_per_step, 1);
    std::uint64_t next = span_ == 0 ? first_span() : span_;
    if (logs > most) {
        // As many blocks as held `most` logs in this answer, at least one.
        next = std::max<std::uint64_t>(1, blocks * most / logs);
    } else if (logs < most / 4) {
        next = std::min(widest, next * 2);
    }
    if (next != span_ && span_ != 0 && logs > most)
        spdlog::debug("watcher {}: {} logs in {} blocks; asking {} blocks at a time",
                      chain_->config->name, logs, blocks, next);
    span_ = next;
}

void Watcher::report_catch_up(std::uint64_t scanned, std::uint64_t confirmed) {
    // A long catch-up (first start, or back after downtime) says how far it is every few
    // seconds; keeping up with the head stays quiet.
    const auto now = std::chrono::steady_clock::now();
    if (!catch_up_from_) {
        catch_up_from_ = scanned;
        last_progress_ = now;
        return;
    }
    if (now - last_progress_ < std::chrono::seconds(5)) return;
    last_progress_ = now;
    const auto total = static_cast<double>(confirmed - *catch_up_from_);
    const auto done = static_cast<double>(scanned - *catch_up_from_);
    spdlog::info("watcher {}: catching up: block {} of {} ({:.0f}%, {} blocks to go)",
                 chain_->config->name, scanned, confirmed, total > 0 ? 100.0 * done / total : 100.0,
                 confirmed - scanned);
}

}  // namespace ferry::relayer

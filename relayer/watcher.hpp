// The watcher (docs/design.md §1, §4): reads an Outbox's PacketSent logs up to the confirmed head
// in bounded ranges, checks each packet, and stores the packets together with the cursor in one
// queue transaction. It notices a reorg below its cursor by block hash and rescans, and rescans
// the blocks around a nonce gap. The relayer and the validator role each run one per source.
#pragma once

#include "relayer/runtime.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

namespace ferry::relayer {

struct WatcherOptions {
    crypto::Address outbox;
    std::size_t max_body_bytes = 32768;
    /// Destinations whose packets are kept; nullopt keeps every destination (validator role).
    std::optional<std::set<crypto::ChainId>> destinations;
    /// How far back a reorg below the cursor rewinds before rescanning.
    std::uint64_t reorg_rewind_blocks = 64;
    std::chrono::milliseconds gap_rescan_interval{10'000};
    /// Logs one step should hold at most: an answer with more makes the next ranges narrower
    /// (in proportion), one with under a quarter of it doubles them, up to max_log_range.
    std::size_t max_logs_per_step = 1000;
    /// Blocks of the first request (0: max_log_range). One by default: a backlog may hold
    /// hundreds of logs per block and an answer is held whole; empty ranges double the span
    /// back to max_log_range in a few steps.
    std::uint64_t first_log_span = 1;
};

class Watcher {
public:
    Watcher(ChainRuntime& chain, storage::Queue& queue, NodeCounters& counters,
            WatcherOptions options, std::function<void()> on_new_packets,
            boost::asio::any_io_executor executor);

    /// Scans until stop().
    chains::Task<void> run();
    void stop() noexcept { wake_.close(); }

    /// One scan step (what run() repeats); true when more confirmed blocks wait (scan again at
    /// once).
    chains::Task<bool> step();

private:
    chains::Task<std::optional<std::uint64_t>> confirmed_head();
    chains::Task<bool> check_reorg(const storage::Cursor& cursor);
    chains::Task<void> rescan_gaps(const storage::Cursor& cursor);
    /// Decodes and checks the logs of [from, to]; invalid ones are counted and logged.
    std::vector<storage::NewPacket> accept(const std::vector<chains::evm::Log>& logs);
    chains::Task<std::optional<std::vector<chains::evm::Log>>> fetch_logs(std::uint64_t from,
                                                                          std::uint64_t to);
    void fail(std::string message);
    /// Logs the progress of a catch-up scan (at most every 5 s).
    void report_catch_up(std::uint64_t scanned, std::uint64_t confirmed);

    ChainRuntime* chain_;
    storage::Queue* queue_;
    NodeCounters* counters_;
    WatcherOptions options_;
    std::function<void()> on_new_;
    Wakeup wake_;
    std::chrono::steady_clock::time_point last_progress_{};  // of the catch-up report
    std::optional<std::uint64_t> catch_up_from_;             // set while catching up
    std::chrono::steady_clock::time_point last_gap_scan_{};
    std::uint64_t span_ = 0;  ///< blocks per log request; 0 until the first answer
    /// Adapts span_ to an answer of `logs` logs for `blocks` blocks.
    void adapt_span(std::uint64_t blocks, std::size_t logs);
    std::uint64_t first_span() const noexcept;
};

}  // namespace ferry::relayer

// What the stage tests share: one io_context, one chain as a FakeChain behind a ChainRuntime,
// an in-memory queue, the node's counters, and packets of the route 1 -> 10 encoded as
// docs/design.md §2 says.
#pragma once

#include "relayer/config.hpp"
#include "relayer/runtime.hpp"
#include "storage/sqlite_queue.hpp"
#include "tests/support/fake_chain.hpp"
#include "tests/support/run_task.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <vector>

namespace ferry::test {

using namespace ferry::crypto::literals;

inline constexpr crypto::ChainId kSrc{1};
inline constexpr crypto::ChainId kDst{10};
inline constexpr crypto::Address kOutbox = "0x00000000000000000000000000000000000000b0"_address;

/// Packet `nonce` of the route kSrc -> kDst; `salt` is its one-byte body.
inline chains::evm::Packet route_packet(std::uint64_t nonce, std::uint8_t salt = 0) {
    chains::evm::Packet p;
    p.nonce = crypto::Nonce{nonce};
    p.src_chain = kSrc;
    p.sender.bytes[31] = 0x51;
    p.dst_chain = kDst;
    p.recipient.bytes[31] = 0x52;
    p.body = {salt};
    return p;
}

inline crypto::PacketId id_of(const chains::evm::Packet& p) {
    return chains::evm::packet_id(chains::evm::encode(p));
}

class StageFixture : public ::testing::Test {
protected:
    StageFixture() {
        config_.name = "src";
        config_.chain_id = kSrc;
        config_.confirmations = 2;
        config_.max_log_range = 100;
        config_.outbox = kOutbox;
        auto chain = std::make_unique<FakeChain>(kSrc);
        fake_ = chain.get();
        runtime_.config = &config_;
        runtime_.chain = std::move(chain);
        auto q = storage::SqliteQueue::open(":memory:", storage::SqliteQueueOptions{});
        if (!q) throw std::runtime_error("cannot open an in-memory queue");
        queue_ = std::move(*q);
    }

    /// Stores `packets` as observed, as a watcher of the source would (cursor at block 1).
    void queue_packets(const std::vector<chains::evm::Packet>& packets) {
        std::vector<storage::NewPacket> out;
        for (const auto& packet : packets) {
            storage::NewPacket p;
            p.encoded = chains::evm::encode(packet);
            p.id = chains::evm::packet_id(p.encoded);
            p.route = {packet.src_chain, packet.dst_chain};
            p.nonce = packet.nonce;
            p.sender = packet.sender;
            p.recipient = packet.recipient;
            p.source_block = 1;
            out.push_back(std::move(p));
        }
        EXPECT_TRUE(queue_->insert_packets(out, {kSrc, kOutbox, 1, {}}, 1));
    }

    /// The packet's state in the queue; nullopt when the queue does not hold it.
    std::optional<storage::PacketState> state_of(const chains::evm::Packet& p) {
        auto rec = queue_->packet(id_of(p));
        if (!rec || !*rec) return std::nullopt;
        return (*rec)->state;
    }

    boost::asio::io_context io_;
    relayer::ChainConfig config_;
    relayer::ChainRuntime runtime_;
    FakeChain* fake_ = nullptr;
    std::unique_ptr<storage::SqliteQueue> queue_;
    relayer::NodeCounters counters_;
};

}  // namespace ferry::test

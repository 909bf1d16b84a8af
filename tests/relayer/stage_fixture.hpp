// What the stage tests share: one io_context, one chain as a FakeChain behind a ChainRuntime,
// an in-memory queue, the node's counters, and packets of the route 1 -> 10 encoded as
// docs/design.md §2 says.
#pragma once

#include "relayer/attestor.hpp"
#include "relayer/config.hpp"
#include "relayer/runtime.hpp"
#include "storage/sqlite_queue.hpp"
#include "tests/support/fake_chain.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/run_task.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ferry::test {

using namespace ferry::crypto::literals;

inline constexpr crypto::ChainId kSrc{1};
inline constexpr crypto::ChainId kDst{10};
inline constexpr crypto::Address kOutbox = "0x00000000000000000000000000000000000000b0"_address;
inline constexpr crypto::Address kInbox = "0x00000000000000000000000000000000000000c0"_address;
/// The dev account the destination's submitter signs with.
inline constexpr std::size_t kRelayerAccount = 5;

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

    /// Stores signatures of dev accounts 0 .. signers-1 for `packets` (observed) and marks
    /// them attested, as the attestor would.
    void attest_packets(const std::vector<chains::evm::Packet>& packets, std::size_t signers) {
        std::vector<storage::Attestation> atts;
        std::vector<crypto::PacketId> ids;
        for (const auto& p : packets) {
            const auto id = id_of(p);
            for (std::size_t i = 0; i < signers; ++i)
                atts.push_back(
                    {id, dev_account(i).address, attest(kSrc, kOutbox, id, dev_account(i).key)});
            ids.push_back(id);
        }
        EXPECT_TRUE(queue_->store_attestations(atts, 2));
        EXPECT_TRUE(queue_->mark_attested(ids, 2));
    }

    /// Runs `co_await stage.run()` until `done` holds (checked between handlers) or 2 s pass,
    /// then stops the stage and waits for run() to return.
    template <class Stage>
    void run_until(Stage& stage, const std::function<bool()>& done) {
        bool finished = false;
        auto body = [&]() -> chains::Task<void> {
            co_await stage.run();
            finished = true;
        };
        io_.restart();  // an earlier stage's run may have left it out of work
        boost::asio::co_spawn(io_, body(), boost::asio::detached);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!done() && std::chrono::steady_clock::now() < deadline)
            io_.run_one_for(std::chrono::milliseconds(20));
        stage.stop();
        while (!finished) io_.run_one_for(std::chrono::milliseconds(20));
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

/// The stages of the destination chain kDst: its Inbox at kInbox holds a validator set of dev
/// accounts 0, 1 and 2 with threshold 2 for the route kSrc -> kDst.
class DestinationFixture : public StageFixture {
protected:
    DestinationFixture() {
        config_.name = "dst";
        config_.chain_id = kDst;
        config_.inbox = kInbox;
        route_.from = "src";
        route_.to = "dst";
        route_.src = kSrc;
        route_.dst = kDst;
        set_.source = "src";
        set_.src = kSrc;
        set_.threshold = 2;
        chains::evm::ValidatorSet on_chain;
        on_chain.outbox = kOutbox;
        on_chain.threshold = 2;
        on_chain.ordered = true;
        for (std::size_t i = 0; i < 3; ++i) on_chain.validators.push_back(dev_account(i).address);
        fake_->set_validator_set(kSrc, on_chain);
    }

    /// Validator `i` (dev account i) at `url`.
    void add_validator(std::size_t i, std::string url) {
        set_.validators.push_back({dev_account(i).address, std::move(url)});
    }

    std::unique_ptr<relayer::Attestor> make_attestor() {
        return std::make_unique<relayer::Attestor>(
            route_, set_, runtime_, *queue_, counters_, waiting_, limits_, pool_, [] {},
            io_.get_executor());
    }

    /// An attestor of the route that has read the Inbox's validator set, as the submitter's
    /// delivery transactions need (the configured validators are not reachable: no packet is
    /// observed, so none is asked).
    relayer::Attestor& loaded_attestor() {
        if (!attestor_) {
            for (std::size_t i = 0; i < 3; ++i) add_validator(i, "http://127.0.0.1:1/");
            attestor_ = make_attestor();
            run_until(*attestor_, [&] { return attestor_->validator_set().has_value(); });
            EXPECT_TRUE(attestor_->validator_set());
        }
        return *attestor_;
    }

    /// The live deliveries of the destination, oldest first.
    std::vector<storage::Delivery> live_deliveries() {
        auto out = queue_->pending_deliveries(kDst, 100);
        EXPECT_TRUE(out);
        return out ? *out : std::vector<storage::Delivery>{};
    }

    relayer::RouteConfig route_;
    relayer::ValidatorSetConfig set_;
    relayer::LimitsConfig limits_;
    relayer::RouteWaiting waiting_;
    boost::asio::thread_pool pool_{1};
    std::unique_ptr<relayer::Attestor> attestor_;
};

}  // namespace ferry::test

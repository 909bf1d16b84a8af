// The watcher on a scripted chain: confirmations, reorgs below the cursor, nonce gaps, forged
// or malformed logs and equivocation end in the queue states and counters they should.
#include "relayer/watcher.hpp"

#include "tests/relayer/stage_fixture.hpp"

#include <algorithm>

namespace ferry::test {
namespace {

using storage::PacketState;

class WatcherTest : public StageFixture {
protected:
    WatcherTest() {
        options_.outbox = kOutbox;
        options_.reorg_rewind_blocks = 4;
        options_.gap_rescan_interval = std::chrono::milliseconds(0);
    }

    relayer::Watcher& watcher() {
        if (!watcher_)
            watcher_ = std::make_unique<relayer::Watcher>(
                runtime_, *queue_, counters_, options_, [this] { ++notified_; },
                io_.get_executor());
        return *watcher_;
    }
    bool step() { return run_task(io_, watcher().step()); }

    void emit(const chains::evm::Packet& p, std::uint64_t block) {
        fake_->add_log(FakeChain::packet_sent_log(p, kOutbox, block));
    }
    std::optional<storage::Cursor> cursor() {
        auto c = queue_->cursor(kSrc, kOutbox);
        return c ? *c : std::nullopt;
    }

    /// The first request as wide as max_log_range: these tests count the steps of a scan (the
    /// narrow start has its own test).
    relayer::WatcherOptions options_ = wide_first_span();

    static relayer::WatcherOptions wide_first_span() {
        relayer::WatcherOptions o;
        o.first_log_span = 0;
        return o;
    }
    std::unique_ptr<relayer::Watcher> watcher_;
    int notified_ = 0;
};

TEST_F(WatcherTest, stores_only_packets_at_the_required_confirmations) {
    const auto first = route_packet(1);
    const auto second = route_packet(2);
    emit(first, 3);
    emit(second, 5);
    fake_->set_head(6);  // confirmations 2: blocks up to 4 are confirmed

    EXPECT_FALSE(step());
    EXPECT_EQ(state_of(first), PacketState::observed);
    EXPECT_EQ(state_of(second), std::nullopt);
    ASSERT_TRUE(cursor());
    EXPECT_EQ(cursor()->block_number, 4u);
    EXPECT_EQ(cursor()->block_hash, fake_->block_hash(4));
    EXPECT_EQ(runtime_.head, 6u);
    EXPECT_EQ(counters_.packets_observed, 1u);
    EXPECT_EQ(notified_, 1);

    fake_->set_head(7);
    EXPECT_FALSE(step());
    EXPECT_EQ(state_of(second), PacketState::observed);
    EXPECT_EQ(cursor()->block_number, 5u);
    EXPECT_EQ(counters_.packets_observed, 2u);
}

TEST_F(WatcherTest, scans_a_long_range_in_bounded_steps) {
    config_.max_log_range = 10;
    emit(route_packet(1), 25);
    fake_->set_head(40);
    EXPECT_TRUE(step());  // 0..9: more confirmed blocks wait
    EXPECT_EQ(cursor()->block_number, 9u);
    while (step()) {
    }
    EXPECT_EQ(cursor()->block_number, 38u);
    EXPECT_EQ(state_of(route_packet(1)), PacketState::observed);
}

TEST_F(WatcherTest, rewinds_and_rescans_after_a_reorg_below_its_cursor) {
    const auto kept = route_packet(1);
    emit(kept, 3);
    fake_->set_head(12);
    step();
    ASSERT_EQ(cursor()->block_number, 10u);

    // Blocks 8.. are replaced; the new branch holds a packet the old one did not.
    fake_->reorg_from(8);
    const auto fresh = route_packet(2);
    emit(fresh, 9);

    EXPECT_FALSE(step());
    EXPECT_EQ(counters_.reorgs, 1u);
    EXPECT_EQ(cursor()->block_number, 6u);  // 10 - reorg_rewind_blocks
    EXPECT_EQ(cursor()->block_hash, fake_->block_hash(6));
    EXPECT_EQ(state_of(fresh), std::nullopt);

    step();
    EXPECT_EQ(state_of(fresh), PacketState::observed);
    EXPECT_EQ(state_of(kept), PacketState::observed);
    EXPECT_EQ(cursor()->block_number, 10u);
    EXPECT_EQ(cursor()->block_hash, fake_->block_hash(10));
    EXPECT_EQ(counters_.reorgs, 1u);
}

TEST_F(WatcherTest, rescans_the_blocks_around_a_nonce_gap) {
    emit(route_packet(1), 2);
    emit(route_packet(3), 6);
    fake_->set_head(12);
    step();  // nonce 2 was not in the node's answer
    ASSERT_EQ(state_of(route_packet(3)), PacketState::observed);
    ASSERT_EQ(state_of(route_packet(2)), std::nullopt);

    emit(route_packet(2), 4);  // now the node has it
    step();
    EXPECT_GE(counters_.gap_rescans, 1u);
    EXPECT_EQ(state_of(route_packet(2)), PacketState::observed);
    EXPECT_EQ(counters_.packets_observed, 3u);
    EXPECT_EQ(counters_.packets_invalid, 0u);
}

TEST_F(WatcherTest, ignores_forged_malformed_and_foreign_logs) {
    fake_->ignore_log_filter(true);  // a node that answers more than was asked
    const auto good = route_packet(1);
    emit(good, 2);

    // From another contract: dropped by address before any check (not counted as invalid).
    constexpr auto kStranger = "0x00000000000000000000000000000000000000f0"_address;
    fake_->add_log(FakeChain::packet_sent_log(route_packet(2, 0xf0), kStranger, 2));
    // Malformed data.
    auto malformed = FakeChain::packet_sent_log(route_packet(3), kOutbox, 3);
    malformed.data = {0x01, 0x02, 0x03};
    fake_->add_log(malformed);
    // Another event's topic.
    auto wrong_topic = FakeChain::packet_sent_log(route_packet(4), kOutbox, 3);
    wrong_topic.topics[0] = chains::evm::packet_delivered_topic();
    fake_->add_log(wrong_topic);
    // An id that is not keccak256 of the packet.
    auto forged_id = FakeChain::packet_sent_log(route_packet(5), kOutbox, 4);
    forged_id.topics[1] = id_of(route_packet(6));
    fake_->add_log(forged_id);
    // A packet claiming another source chain.
    auto other_src = route_packet(7);
    other_src.src_chain = crypto::ChainId{2};
    emit(other_src, 4);
    // Removed by a reorg.
    auto removed = FakeChain::packet_sent_log(route_packet(8), kOutbox, 4);
    removed.removed = true;
    fake_->add_log(removed);

    fake_->set_head(8);
    step();
    EXPECT_EQ(state_of(good), PacketState::observed);
    EXPECT_EQ(counters_.packets_observed, 1u);
    EXPECT_EQ(counters_.packets_invalid, 4u);
    auto page = queue_->list_packets(storage::PacketFilter{});
    ASSERT_TRUE(page);
    EXPECT_EQ(page->packets.size(), 1u);
}

TEST_F(WatcherTest, refuses_two_packets_with_one_nonce) {
    const auto first = route_packet(1, 0xaa);
    const auto twin = route_packet(1, 0xbb);  // same route and nonce, another packet
    emit(first, 2);
    fake_->set_head(5);
    step();
    ASSERT_EQ(state_of(first), PacketState::observed);

    emit(twin, 4);
    fake_->set_head(7);
    step();
    EXPECT_EQ(counters_.equivocations_rejected, 1u);
    EXPECT_EQ(state_of(twin), PacketState::rejected);
    EXPECT_EQ(state_of(first), PacketState::rejected);
}

TEST_F(WatcherTest, counts_a_replayed_log_once) {
    const auto p = route_packet(1);
    emit(p, 2);
    fake_->set_head(5);
    step();
    emit(p, 4);  // the same packet again, in a later block
    fake_->set_head(8);
    step();
    EXPECT_EQ(state_of(p), PacketState::observed);
    EXPECT_EQ(counters_.packets_observed, 1u);
    EXPECT_EQ(counters_.replays_rejected, 1u);
}

TEST_F(WatcherTest, keeps_its_cursor_while_the_chain_fails) {
    emit(route_packet(1), 2);
    fake_->set_head(8);
    fake_->fail_next("logs", FakeChain::unreachable());
    step();
    EXPECT_FALSE(cursor());
    EXPECT_NE(runtime_.last_error.find("eth_getLogs 0..6"), std::string::npos);
    EXPECT_EQ(state_of(route_packet(1)), std::nullopt);

    fake_->fail_next("head", FakeChain::unreachable());
    step();
    EXPECT_NE(runtime_.last_error.find("eth_blockNumber"), std::string::npos);

    step();
    EXPECT_EQ(state_of(route_packet(1)), PacketState::observed);
    EXPECT_TRUE(runtime_.last_error.empty());
}

TEST_F(WatcherTest, follows_the_finalized_block_when_configured) {
    config_.finalized = true;
    emit(route_packet(1), 3);
    emit(route_packet(2), 6);
    fake_->set_head(10);
    fake_->set_finalized(std::nullopt);
    step();
    EXPECT_FALSE(cursor());
    fake_->set_finalized(4);
    step();
    EXPECT_EQ(cursor()->block_number, 4u);
    EXPECT_EQ(state_of(route_packet(1)), PacketState::observed);
    EXPECT_EQ(state_of(route_packet(2)), std::nullopt);
}

// Issue: a log query covered up to 2,000 blocks and the whole answer was held; with 20,000
// packets waiting the relayer peaked at 97.5 MiB.
TEST_F(WatcherTest, narrows_the_log_range_when_answers_are_large_and_widens_it_again) {
    config_.max_log_range = 10;
    options_.max_logs_per_step = 25;
    options_.first_log_span = 1;
    std::uint64_t nonce = 0;
    for (std::uint64_t block = 15; block <= 34; ++block)
        for (int k = 0; k < 10; ++k) emit(route_packet(++nonce), block);
    fake_->set_head(82);  // confirmed up to 80

    while (step()) {
    }
    EXPECT_EQ(counters_.packets_observed, 200u);
    ASSERT_TRUE(cursor());
    EXPECT_EQ(cursor()->block_number, 80u);

    const auto& filters = fake_->log_filters();
    auto span = [&](std::size_t i) { return filters[i].to_block - filters[i].from_block + 1; };
    ASSERT_GE(filters.size(), 6u);
    // One block first, then doubling over the empty blocks up to max_log_range: 0, 1-2, 3-6,
    // 7-14, 15-24 (100 logs: four times too many).
    EXPECT_EQ(span(0), 1u);
    EXPECT_EQ(span(1), 2u);
    EXPECT_EQ(span(2), 4u);
    EXPECT_EQ(span(3), 8u);
    EXPECT_EQ(span(4), 10u);
    EXPECT_EQ(filters[4].from_block, 15u);
    // While blocks hold 10 logs each, at most 2 blocks (20 logs) per request.
    std::size_t i = 5;
    for (; i < filters.size() && filters[i].to_block <= 34; ++i)
        EXPECT_LE(span(i), 2u) << "request " << i;
    // Past the packets the range widens again, back to max_log_range.
    bool wide_again = false;
    for (; i < filters.size(); ++i) wide_again = wide_again || span(i) == 10u;
    EXPECT_TRUE(wide_again);
}

}  // namespace
}  // namespace ferry::test

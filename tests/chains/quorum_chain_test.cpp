// The quorum over several endpoints, on scripted chains: a forged log is never taken, one
// endpoint down or behind does not stop k = 2 of 3, and too few words make the answer wait.
#include "chains/quorum_chain.hpp"

#include "tests/support/fake_chain.hpp"
#include "tests/support/run_task.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <vector>

namespace ferry::test {
namespace {

using namespace ferry::crypto::literals;
namespace evm = chains::evm;

constexpr crypto::ChainId kChain{1};
constexpr crypto::Address kOutbox = "0x00000000000000000000000000000000000000b0"_address;

evm::Packet packet(std::uint64_t nonce, std::uint8_t body = 0) {
    evm::Packet p;
    p.nonce = crypto::Nonce{nonce};
    p.src_chain = kChain;
    p.sender.bytes[31] = 0x51;
    p.dst_chain = crypto::ChainId{10};
    p.recipient.bytes[31] = 0x52;
    p.body = {body};
    return p;
}

class QuorumChainTest : public ::testing::Test {
protected:
    /// Three endpoints of one chain (the same blocks and logs), quorum `k`; `fakes_[0]` also
    /// serves as the primary.
    void make(std::size_t k) {
        std::vector<chains::QuorumMember> members;
        for (int i = 0; i < 3; ++i) {
            auto fake = std::make_unique<FakeChain>(kChain);
            fakes_.push_back(fake.get());
            chains::QuorumMember m;
            m.name = "endpoint-" + std::to_string(i);
            m.chain = std::move(fake);
            members.push_back(std::move(m));
        }
        auto primary = std::make_unique<FakeChain>(kChain);
        quorum_ = std::make_unique<chains::QuorumChain>(std::move(primary), std::move(members), k);
    }
    /// Packets 1..`count` at blocks 2, 4, … on every endpoint, head 20.
    void emit_everywhere(std::uint64_t count) {
        for (auto* f : fakes_) {
            for (std::uint64_t n = 1; n <= count; ++n)
                f->add_log(FakeChain::packet_sent_log(packet(n), kOutbox, 2 * n));
            f->set_head(20);
        }
    }
    evm::LogFilter range(std::uint64_t from, std::uint64_t to) {
        evm::LogFilter f;
        f.from_block = from;
        f.to_block = to;
        return f;
    }
    std::uint64_t head() { return run_task(io_, quorum_->head()).value(); }

    boost::asio::io_context io_;
    std::vector<FakeChain*> fakes_;
    std::unique_ptr<chains::QuorumChain> quorum_;
};

TEST_F(QuorumChainTest, a_log_one_endpoint_forges_is_never_taken) {
    make(2);
    emit_everywhere(3);
    const auto forged = FakeChain::packet_sent_log(packet(4, 0xf0), kOutbox, 9);
    fakes_[2]->add_log(forged);
    head();

    auto logs = run_task(io_, quorum_->logs(range(1, 20)));
    ASSERT_TRUE(logs) << logs.error().message;
    ASSERT_EQ(logs->size(), 3u);
    for (const auto& l : *logs) EXPECT_NE(l.tx_hash, forged.tx_hash);
    EXPECT_EQ(quorum_->members()[2].disagreements, 1u);
    EXPECT_NE(quorum_->members()[2].last_disagreement.find("no quorum confirms"),
              std::string::npos);
    EXPECT_EQ(quorum_->members()[0].disagreements, 0u);
    EXPECT_EQ(quorum_->members()[1].disagreements, 0u);
}

TEST_F(QuorumChainTest, a_log_one_endpoint_leaves_out_is_still_taken_and_it_is_counted) {
    make(2);
    emit_everywhere(2);
    fakes_[1]->reorg_from(4);  // drops its logs from block 4 on and changes those hashes
    fakes_[1]->set_head(20);
    head();
    auto logs = run_task(io_, quorum_->logs(range(1, 20)));
    ASSERT_TRUE(logs) << logs.error().message;
    EXPECT_EQ(logs->size(), 2u);
    EXPECT_EQ(quorum_->members()[1].disagreements, 1u);
}

TEST_F(QuorumChainTest, one_endpoint_down_or_behind_does_not_stop_two_of_three) {
    make(2);
    emit_everywhere(5);  // blocks 2, 4, 6, 8, 10
    fakes_[2]->reorg_from(5);
    fakes_[2]->set_head(4);  // behind: has not seen blocks 5.. (nor their logs) yet
    EXPECT_EQ(head(), 20u);  // the second highest
    auto logs = run_task(io_, quorum_->logs(range(1, 10)));
    ASSERT_TRUE(logs) << logs.error().message;
    EXPECT_EQ(logs->size(), 5u);
    EXPECT_EQ(quorum_->members()[2].disagreements, 0u);  // behind is not disagreeing

    // Endpoint 1 down as well: only endpoint 0 saw blocks 5..10, so their logs wait.
    fakes_[1]->fail_next("logs", FakeChain::unreachable());
    logs = run_task(io_, quorum_->logs(range(1, 10)));
    ASSERT_FALSE(logs);
    EXPECT_NE(logs.error().message.find("quorum"), std::string::npos);

    // Endpoint 2 down instead: 0 and 1 carry on.
    fakes_[2]->fail_next("head", FakeChain::unreachable());
    fakes_[2]->fail_next("logs", FakeChain::unreachable());
    EXPECT_EQ(head(), 20u);
    logs = run_task(io_, quorum_->logs(range(1, 20)));
    ASSERT_TRUE(logs) << logs.error().message;
    EXPECT_EQ(logs->size(), 5u);
}

TEST_F(QuorumChainTest, too_few_words_make_the_answer_wait_rather_than_drop_a_packet) {
    make(2);
    emit_everywhere(1);
    fakes_[2]->add_log(FakeChain::packet_sent_log(packet(2, 0xf0), kOutbox, 9));
    head();
    fakes_[1]->fail_next("logs", FakeChain::unreachable());
    // Endpoint 0 and the forger answer: the forged log could still win endpoint 1's vote.
    auto logs = run_task(io_, quorum_->logs(range(1, 20)));
    ASSERT_FALSE(logs);
    EXPECT_EQ(quorum_->members()[2].disagreements, 0u);

    fakes_[0]->fail_next("logs", FakeChain::unreachable());
    fakes_[1]->fail_next("logs", FakeChain::unreachable());
    logs = run_task(io_, quorum_->logs(range(1, 20)));
    ASSERT_FALSE(logs);  // one answer of the two needed
}

TEST_F(QuorumChainTest, the_head_is_the_kth_highest_and_blocks_need_k_equal_hashes) {
    make(2);
    fakes_[0]->set_head(30);
    fakes_[1]->set_head(25);
    fakes_[2]->set_head(10);
    EXPECT_EQ(head(), 25u);

    fakes_[2]->set_head(30);
    fakes_[2]->reorg_from(8);  // another fork from block 8
    auto b = run_task(io_, quorum_->block(std::uint64_t{9}));
    ASSERT_TRUE(b && *b);
    EXPECT_EQ((*b)->hash, fakes_[0]->block_hash(9));
    EXPECT_EQ(quorum_->members()[2].disagreements, 1u);

    fakes_[1]->reorg_from(8);  // endpoint 1 forks twice: three different hashes
    fakes_[1]->reorg_from(8);
    fakes_[1]->set_head(25);
    b = run_task(io_, quorum_->block(std::uint64_t{9}));
    ASSERT_FALSE(b);  // three different hashes: no two agree
}

TEST_F(QuorumChainTest, quorum_one_takes_any_single_answer) {
    make(1);
    emit_everywhere(2);
    fakes_[0]->fail_next("head", FakeChain::unreachable());
    fakes_[1]->fail_next("head", FakeChain::unreachable());
    EXPECT_EQ(head(), 20u);
}

}  // namespace
}  // namespace ferry::test

// The chain monitor on a scripted chain: a poll fills head, reachability and the wallet
// balance; a failing chain is marked unreachable and keeps its last known balance.
#include "relayer/chain_monitor.hpp"

#include "tests/relayer/stage_fixture.hpp"

namespace ferry::test {
namespace {

constexpr crypto::Address kWallet = "0x00000000000000000000000000000000000000a1"_address;

class ChainMonitorTest : public StageFixture {
protected:
    void poll() { run_task(io_, monitor_.poll()); }

    relayer::ChainMonitor monitor_{runtime_, kWallet, io_.get_executor()};
};

TEST_F(ChainMonitorTest, reads_the_head_and_the_wallet_balance) {
    fake_->set_head(42);
    fake_->set_balance(kWallet, 5'000);
    poll();
    EXPECT_TRUE(monitor_.polled());
    EXPECT_TRUE(runtime_.reachable);
    EXPECT_EQ(runtime_.head, 42u);
    EXPECT_GT(runtime_.head_changed_at, 0);
    ASSERT_TRUE(runtime_.wallet_balance);
    EXPECT_EQ(runtime_.wallet_balance->to_u64(), 5'000u);
    EXPECT_EQ(fake_->requests("head"), 1u);
    EXPECT_EQ(fake_->requests("balance"), 1u);
}

TEST_F(ChainMonitorTest, marks_a_failing_chain_unreachable_and_keeps_the_balance) {
    fake_->set_head(7);
    fake_->set_balance(kWallet, 9);
    poll();
    fake_->fail_next("head", FakeChain::unreachable());
    poll();
    EXPECT_FALSE(runtime_.reachable);
    EXPECT_NE(monitor_.last_error().find("eth_blockNumber"), std::string::npos);
    EXPECT_EQ(fake_->requests("balance"), 1u);  // no balance request while unreachable

    fake_->fail_next("balance", FakeChain::unreachable());
    poll();
    EXPECT_TRUE(runtime_.reachable);
    EXPECT_TRUE(monitor_.last_error().empty());
    ASSERT_TRUE(runtime_.wallet_balance);
    EXPECT_EQ(runtime_.wallet_balance->to_u64(), 9u);
}

}  // namespace
}  // namespace ferry::test

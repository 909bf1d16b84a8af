// The receipt tracker on a scripted destination chain: a mined receipt delivers its packets
// once, a tx not mined in time is replaced on the same account nonce with higher fees, a
// reverted tx fails its packets, a delivery reorged out before its confirmations puts them back
// to attested, and one at its confirmations is confirmed.
#include "relayer/receipt_tracker.hpp"

#include "chains/evm/abi.hpp"
#include "chains/evm/transaction.hpp"
#include "tests/relayer/stage_fixture.hpp"

#include <vector>

namespace ferry::test {
namespace {

using storage::PacketState;

constexpr std::uint64_t kAccountNonce = 7;
constexpr std::uint64_t kMinedIn = 21;

class ReceiptTrackerTest : public DestinationFixture {
protected:
    ReceiptTrackerTest() {
        fake_->set_head(kMinedIn);
        for (std::uint64_t n = 1; n <= 3; ++n) packets_.push_back(route_packet(n));
        queue_packets(packets_);
        attest_packets(packets_, 2);
        routes_.push_back({&route_, &loaded_attestor()});
        txs_ = std::make_unique<relayer::DeliveryTxs>(runtime_, *queue_, routes_,
                                                      dev_account(kRelayerAccount).key,
                                                      dev_account(kRelayerAccount).address);
        nonces_ = std::make_unique<relayer::NonceManager>(*queue_, kDst,
                                                          dev_account(kRelayerAccount).address);
        tracker_ = std::make_unique<relayer::ReceiptTracker>(runtime_, *queue_, counters_, *txs_,
                                                             *nonces_);
    }

    /// Records a delivery of every packet at the market's fees, as the submitter does (it is
    /// not sent: the tests script what the chain did with it).
    void record_delivery() {
        std::string error;
        std::vector<crypto::PacketId> ids;
        for (const auto& p : packets_) ids.push_back(id_of(p));
        auto built = txs_->build(ids, error);
        ASSERT_TRUE(built) << error;
        const auto fees = run_task(io_, txs_->market_fees());
        ASSERT_TRUE(fees);
        fees_ = *fees;
        auto tx = txs_->sign(built->calldata, kAccountNonce, 240'000, fees_);
        ASSERT_TRUE(tx);
        delivery_.chain = kDst;
        delivery_.tx_hash = tx->hash;
        delivery_.account = dev_account(kRelayerAccount).address;
        delivery_.account_nonce = kAccountNonce;
        delivery_.max_fee_per_gas = fees_.max_fee;
        delivery_.max_priority_fee_per_gas = fees_.tip;
        delivery_.gas_limit = 240'000;
        delivery_.packets = ids;
        ASSERT_TRUE(queue_->record_delivery(delivery_, relayer::now_ms()));
    }

    /// The receipt of the delivery, mined in block kMinedIn, with a PacketDelivered log per
    /// packet when it succeeded.
    chains::evm::Receipt receipt(bool success) const {
        chains::evm::Receipt r;
        r.tx_hash = delivery_.tx_hash;
        r.block_number = kMinedIn;
        r.block_hash = fake_->block_hash(kMinedIn);
        r.success = success;
        r.gas_used = 150'000;
        r.from = delivery_.account;
        r.to = kInbox;
        if (success)
            for (const auto& p : packets_)
                r.logs.push_back(FakeChain::packet_delivered_log(p, kInbox, kMinedIn));
        return r;
    }

    std::vector<storage::MinedDelivery> unconfirmed() {
        auto out = queue_->unconfirmed_deliveries(kDst, 1000, 100);
        EXPECT_TRUE(out);
        return out ? *out : std::vector<storage::MinedDelivery>{};
    }
    std::size_t in_state(PacketState s) {
        std::size_t n = 0;
        for (const auto& p : packets_) n += state_of(p) == s ? 1u : 0u;
        return n;
    }

    /// A delivery of every packet, mined in block kMinedIn and recorded by the tracker.
    void mine_delivery() {
        record_delivery();
        fake_->set_receipt(delivery_.tx_hash, receipt(true));
        track(kAccountNonce + 1);
        ASSERT_EQ(in_state(PacketState::delivered), 3u);
        ASSERT_EQ(unconfirmed().size(), 1u);
    }

    bool track(std::uint64_t chain_nonce) {
        return run_task(io_, tracker_->track(live_deliveries(), chain_nonce));
    }
    void confirm(std::uint64_t head) {
        fake_->set_head(head);
        run_task(io_, tracker_->confirm(head));
    }

    std::vector<chains::evm::Packet> packets_;
    std::vector<relayer::SubmitterRoute> routes_;
    std::unique_ptr<relayer::DeliveryTxs> txs_;
    std::unique_ptr<relayer::NonceManager> nonces_;
    std::unique_ptr<relayer::ReceiptTracker> tracker_;
    storage::Delivery delivery_;
    chains::evm::Fees fees_;
};

TEST_F(ReceiptTrackerTest, records_a_mined_receipt_once) {
    record_delivery();
    fake_->set_receipt(delivery_.tx_hash, receipt(true));
    const auto seen =
        live_deliveries();  // what a second round that read the queue before would hold

    EXPECT_FALSE(run_task(io_, tracker_->track(seen, kAccountNonce + 1)));
    EXPECT_EQ(in_state(PacketState::delivered), 3u);
    EXPECT_EQ(counters_.packets_delivered, 3u);
    EXPECT_EQ(counters_.gas_used, 150'000u);
    EXPECT_TRUE(live_deliveries().empty());
    ASSERT_EQ(unconfirmed().size(), 1u);

    // A second round over the same deliveries changes nothing.
    EXPECT_FALSE(run_task(io_, tracker_->track(seen, kAccountNonce + 1)));
    EXPECT_EQ(in_state(PacketState::delivered), 3u);
    EXPECT_EQ(counters_.packets_delivered, 3u);
    EXPECT_EQ(counters_.gas_used, 150'000u);
    EXPECT_EQ(unconfirmed().size(), 1u);
    EXPECT_TRUE(fake_->sent().empty());
}

TEST_F(ReceiptTrackerTest, replaces_a_tx_not_mined_in_time_on_the_same_nonce) {
    config_.gas.replace_after_ms = 0;
    record_delivery();

    EXPECT_FALSE(track(kAccountNonce));
    ASSERT_EQ(fake_->sent().size(), 1u);
    const auto tx = chains::evm::decode_signed(fake_->sent().front());
    ASSERT_TRUE(tx);
    EXPECT_NE(tx->hash, delivery_.tx_hash);
    EXPECT_EQ(tx->sender, delivery_.account);
    EXPECT_EQ(tx->tx.nonce, kAccountNonce);
    EXPECT_EQ(tx->tx.gas_limit, delivery_.gas_limit);
    EXPECT_GT(tx->tx.max_fee_per_gas.to_u64().value_or(0), fees_.max_fee);
    EXPECT_GT(tx->tx.max_priority_fee_per_gas.to_u64().value_or(0), fees_.tip);
    EXPECT_EQ(counters_.txs_replaced, 1u);

    const auto now_live = live_deliveries();
    ASSERT_EQ(now_live.size(), 1u);
    EXPECT_EQ(now_live.front().tx_hash, tx->hash);
    EXPECT_EQ(now_live.front().account_nonce, kAccountNonce);
    EXPECT_EQ(now_live.front().replaced, std::vector<crypto::Hash32>{delivery_.tx_hash});
    EXPECT_EQ(in_state(PacketState::submitted), 3u);
}

TEST_F(ReceiptTrackerTest, fails_the_packets_of_a_reverted_tx) {
    record_delivery();
    fake_->set_receipt(delivery_.tx_hash, receipt(false));

    EXPECT_TRUE(track(kAccountNonce + 1));
    EXPECT_EQ(in_state(PacketState::failed), 3u);
    EXPECT_EQ(counters_.packets_delivered, 0u);
    EXPECT_EQ(counters_.txs_failed, 1u);
    EXPECT_TRUE(live_deliveries().empty());
}

TEST_F(ReceiptTrackerTest, puts_packets_back_when_the_delivery_is_reorged_out) {
    mine_delivery();

    fake_->reorg_from(kMinedIn);  // the block changes and the Inbox no longer holds the packets
    confirm(kMinedIn + 2);
    EXPECT_EQ(in_state(PacketState::attested), 3u);
    EXPECT_EQ(counters_.deliveries_reverted, 1u);
    EXPECT_TRUE(unconfirmed().empty());
}

// A reorg took the delivery's transaction out of the chain: its account nonce is free again, and
// the next delivery must use it (a higher one would wait behind the gap for ever).
TEST_F(ReceiptTrackerTest, a_delivery_reorged_out_frees_its_account_nonce) {
    nonces_->observe(kAccountNonce, kAccountNonce);
    mine_delivery();
    nonces_->observe(kAccountNonce + 1, kAccountNonce + 1);
    EXPECT_EQ(nonces_->next({}), std::optional<std::uint64_t>(kAccountNonce + 1));

    fake_->reorg_from(kMinedIn);
    confirm(kMinedIn + 2);
    ASSERT_EQ(counters_.deliveries_reverted, 1u);
    // The chain counts the account's transactions again before a nonce is handed out.
    EXPECT_EQ(nonces_->next({}), std::nullopt);
    nonces_->observe(kAccountNonce, kAccountNonce);
    EXPECT_EQ(nonces_->next({}), std::optional<std::uint64_t>(kAccountNonce));
}

TEST_F(ReceiptTrackerTest, confirms_a_delivery_at_the_required_confirmations) {
    mine_delivery();

    confirm(kMinedIn + 1);  // one confirmation of the two required
    EXPECT_EQ(unconfirmed().size(), 1u);

    confirm(kMinedIn + 2);
    EXPECT_TRUE(unconfirmed().empty());
    EXPECT_EQ(in_state(PacketState::delivered), 3u);
    EXPECT_EQ(counters_.deliveries_reverted, 0u);
}

TEST_F(ReceiptTrackerTest, names_why_a_mined_delivery_reverted_and_counts_it) {
    record_delivery();
    fake_->set_receipt(delivery_.tx_hash, receipt(false));
    // Replayed on the block's parent, the batch reverts with the Inbox's InsufficientGas().
    auto reverted = chains::evm::make_rpc_error(chains::evm::RpcError::Code::execution_reverted,
                                                "execution reverted");
    const auto selector = chains::evm::function_selector("InsufficientGas()");
    reverted.revert_data.assign(selector.bytes.begin(), selector.bytes.end());
    fake_->fail_next("call_at", reverted);

    EXPECT_TRUE(track(kAccountNonce + 1));
    EXPECT_EQ(fake_->requests("call_at"), 1u);
    EXPECT_EQ(counters_.txs_reverted["InsufficientGas"], 1u);
    EXPECT_EQ(in_state(PacketState::failed), 3u);
}

TEST_F(ReceiptTrackerTest, a_replay_that_does_not_revert_counts_as_unknown) {
    record_delivery();
    fake_->set_receipt(delivery_.tx_hash, receipt(false));
    EXPECT_TRUE(track(kAccountNonce + 1));
    EXPECT_EQ(counters_.txs_reverted["unknown"], 1u);
}

// Two relayers on one route: the loser's batch is mined, and the Inbox skips the packets the
// winner delivered without an event. They are delivered (by another relayer), not failed.
TEST_F(ReceiptTrackerTest, packets_the_inbox_skipped_as_delivered_are_not_failures) {
    record_delivery();
    auto r = receipt(true);
    r.logs.resize(1);  // a PacketDelivered for the first packet only
    fake_->set_receipt(delivery_.tx_hash, r);
    fake_->set_delivered(id_of(packets_[1]), true);
    fake_->set_delivered(id_of(packets_[2]), true);

    EXPECT_FALSE(track(kAccountNonce + 1));
    EXPECT_EQ(in_state(PacketState::delivered), 3u);
    EXPECT_EQ(counters_.packets_delivered, 1u);
    EXPECT_EQ(counters_.packets_delivered_elsewhere, 2u);
    EXPECT_EQ(counters_.txs_failed, 0u);
}

}  // namespace
}  // namespace ferry::test

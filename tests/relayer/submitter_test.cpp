// The submitter on a scripted destination chain: attested packets go out in batches of at most
// batch_size, each recorded before it is sent, in nonce order from the Inbox's next nonce,
// without packets the Inbox already holds, on the lowest free account nonce, and not at all
// while gas estimation reverts.
#include "relayer/submitter.hpp"

#include "chains/evm/transaction.hpp"
#include "crypto/keccak.hpp"
#include "tests/relayer/stage_fixture.hpp"

#include <algorithm>
#include <functional>
#include <vector>

namespace ferry::test {
namespace {

using storage::PacketState;

class SubmitterTest : public DestinationFixture {
protected:
    SubmitterTest() {
        fake_->set_head(20);
        fake_->set_account_nonce(account(), 7, 7);
        for (std::uint64_t n = 1; n <= 5; ++n) packets_.push_back(route_packet(n));
        queue_packets(packets_);
    }

    static crypto::Address account() { return dev_account(kRelayerAccount).address; }

    /// Runs one submitter of the route until `done` holds.
    void submit_until(const std::function<bool()>& done) {
        auto& attestor = loaded_attestor();
        relayer::Submitter submitter(runtime_, *queue_, counters_, waiting_, {{&route_, &attestor}},
                                     dev_account(kRelayerAccount).key, account(),
                                     io_.get_executor());
        run_until(submitter, done);
    }

    /// What the fake chain was sent, decoded.
    std::vector<chains::evm::SignedTx> sent() {
        std::vector<chains::evm::SignedTx> out;
        for (const auto& raw : fake_->sent()) {
            auto tx = chains::evm::decode_signed(raw);
            EXPECT_TRUE(tx);
            if (tx) out.push_back(std::move(*tx));
        }
        return out;
    }

    std::vector<crypto::PacketId> ids_of(std::initializer_list<std::size_t> indexes) const {
        std::vector<crypto::PacketId> out;
        for (auto i : indexes) out.push_back(id_of(packets_[i]));
        return out;
    }

    std::string why() { return waiting_[storage::Route{kSrc, kDst}]; }

    std::vector<chains::evm::Packet> packets_;
};

TEST_F(SubmitterTest, records_a_batch_before_sending_it) {
    attest_packets(packets_, 2);
    // When send_raw is called, the queue must already hold the delivery of that very tx.
    std::vector<bool> recorded_first;
    fake_->on_send_raw([&](const crypto::Bytes& raw) {
        const auto tx = chains::evm::decode_signed(raw);
        const auto held = live_deliveries();
        recorded_first.push_back(
            tx &&
            std::any_of(held.begin(), held.end(),
                        [&](const auto& d) { return d.tx_hash == tx->hash; }) &&
            state_of(packets_[0]) == PacketState::submitted);
    });
    submit_until([&] { return !fake_->sent().empty(); });

    ASSERT_EQ(recorded_first, std::vector<bool>{true});
    const auto txs = sent();
    ASSERT_EQ(txs.size(), 1u);
    const auto& tx = txs.front();
    EXPECT_EQ(tx.sender, account());
    EXPECT_EQ(tx.tx.to, kInbox);
    EXPECT_EQ(tx.tx.chain_id, kDst);
    EXPECT_EQ(tx.tx.nonce, 7u);            // the account's nonce on the chain
    EXPECT_EQ(tx.tx.gas_limit, 240'000u);  // the estimate 200 000 times gas_margin 1.2
    for (const auto& p : packets_) EXPECT_EQ(state_of(p), PacketState::submitted);
    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held.front().tx_hash, tx.hash);
    EXPECT_EQ(held.front().account_nonce, 7u);
    EXPECT_EQ(held.front().gas_limit, 240'000u);
    EXPECT_EQ(held.front().packets, ids_of({0, 1, 2, 3, 4}));
    EXPECT_EQ(counters_.txs_sent, 1u);
}

TEST_F(SubmitterTest, sends_at_most_batch_size_packets_per_transaction) {
    route_.batch_size = 2;
    attest_packets(packets_, 2);
    submit_until([&] { return fake_->sent().size() >= 3; });

    const auto txs = sent();
    ASSERT_EQ(txs.size(), 3u);
    EXPECT_EQ(txs[0].tx.nonce, 7u);
    EXPECT_EQ(txs[1].tx.nonce, 8u);
    EXPECT_EQ(txs[2].tx.nonce, 9u);
    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 3u);
    EXPECT_EQ(held[0].packets, ids_of({0, 1}));
    EXPECT_EQ(held[1].packets, ids_of({2, 3}));
    EXPECT_EQ(held[2].packets, ids_of({4}));
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(held[i].tx_hash, txs[i].hash);
    for (const auto& p : packets_) EXPECT_EQ(state_of(p), PacketState::submitted);
}

TEST_F(SubmitterTest, takes_only_the_consecutive_run_from_the_inbox_next_nonce) {
    // The Inbox expects nonce 3 next; 3, 4 and 6 are attested, 5 is not yet.
    packets_.push_back(route_packet(6));
    queue_packets({packets_[5]});
    attest_packets({packets_[2], packets_[3], packets_[5]}, 2);  // nonces 3, 4 and 6
    fake_->set_next_inbound_nonce(kSrc, 3);
    submit_until([&] { return !fake_->sent().empty(); });

    ASSERT_EQ(sent().size(), 1u);
    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held.front().packets, ids_of({2, 3}));
    EXPECT_EQ(state_of(packets_[5]), PacketState::attested);  // nonce 5 is not attested yet
    EXPECT_EQ(state_of(packets_[4]), PacketState::observed);
}

TEST_F(SubmitterTest, leaves_out_packets_the_inbox_already_delivered) {
    attest_packets(packets_, 2);
    fake_->set_next_inbound_nonce(kSrc, 2);
    fake_->set_delivered(id_of(packets_[0]), true);
    submit_until([&] { return !fake_->sent().empty(); });

    EXPECT_EQ(state_of(packets_[0]), PacketState::delivered);
    EXPECT_EQ(counters_.packets_delivered_elsewhere, 1u);
    ASSERT_EQ(sent().size(), 1u);
    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held.front().packets, ids_of({1, 2, 3, 4}));
    for (std::size_t i = 1; i < packets_.size(); ++i)
        EXPECT_EQ(state_of(packets_[i]), PacketState::submitted);
}

TEST_F(SubmitterTest, picks_the_lowest_account_nonce_no_live_delivery_holds) {
    route_.batch_size = 1;
    attest_packets(packets_, 2);
    // A live delivery of packet 1 already holds account nonce 8 (7 is free below it). Its hash
    // is not the one its packets would sign to, so the tracker does not rebroadcast it.
    storage::Delivery held;
    held.chain = kDst;
    held.tx_hash = crypto::keccak256(crypto::Bytes{0x08});
    held.account = account();
    held.account_nonce = 8;
    held.max_fee_per_gas = 3'000'000'000;
    held.max_priority_fee_per_gas = 1'000'000'000;
    held.gas_limit = 240'000;
    held.packets = ids_of({0});
    ASSERT_TRUE(queue_->record_delivery(held, relayer::now_ms()));
    submit_until([&] { return fake_->sent().size() >= 4; });

    const auto txs = sent();
    ASSERT_EQ(txs.size(), 4u);  // packets 2..5, one per tx
    EXPECT_EQ(txs[0].tx.nonce, 7u);
    EXPECT_EQ(txs[1].tx.nonce, 9u);
    EXPECT_EQ(txs[2].tx.nonce, 10u);
    EXPECT_EQ(txs[3].tx.nonce, 11u);
    const auto now_live = live_deliveries();
    ASSERT_EQ(now_live.size(), 5u);
    for (const auto& d : now_live) {
        if (d.account_nonce == 7) {
            EXPECT_EQ(d.packets, ids_of({1}));  // continues packet 1
        }
        if (d.account_nonce == 8) {
            EXPECT_EQ(d.tx_hash, held.tx_hash);
        }
    }
}

TEST_F(SubmitterTest, sends_nothing_while_gas_estimation_reverts) {
    attest_packets(packets_, 2);
    fake_->revert_next("estimate_gas", "bad signatures", 1000);
    submit_until([&] { return fake_->requests("estimate_gas") > 0; });

    EXPECT_GT(fake_->requests("estimate_gas"), 0u);
    EXPECT_TRUE(fake_->sent().empty());
    EXPECT_TRUE(live_deliveries().empty());
    for (const auto& p : packets_) EXPECT_EQ(state_of(p), PacketState::attested);
    EXPECT_NE(why().find("eth_estimateGas"), std::string::npos);
    EXPECT_EQ(counters_.txs_sent, 0u);
}

}  // namespace
}  // namespace ferry::test

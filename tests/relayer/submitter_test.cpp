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
    EXPECT_EQ(tx.tx.nonce, 7u);  // the account's nonce on the chain
    // The Inbox's bound, not the estimate (200 000 · 1.2): five recipients may burn 100 000.
    EXPECT_GT(tx.tx.gas_limit, 5 * 100'000u + 100'000u / 63 + 10'000u);
    for (const auto& p : packets_) EXPECT_EQ(state_of(p), PacketState::submitted);
    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held.front().tx_hash, tx.hash);
    EXPECT_EQ(held.front().account_nonce, 7u);
    EXPECT_EQ(held.front().gas_limit, tx.tx.gas_limit);
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

// Issue: a round read the account's count, then tracking saw a receipt of the nonce it had
// counted as free, and the next delivery was signed with that nonce again ("nonce too low"
// taken as sent; 182 of 382 transactions rejected on chain with 200 packets at batch size 1).
TEST_F(SubmitterTest, never_hands_out_an_account_nonce_twice_when_a_tx_is_mined_meanwhile) {
    route_.batch_size = 1;
    fake_->set_next_inbound_nonce(kSrc, 1);
    attest_packets({packets_[0]}, 2);
    submit_until([&] { return fake_->sent().size() >= 1; });
    ASSERT_EQ(sent().size(), 1u);
    const auto first = sent().front();
    EXPECT_EQ(first.tx.nonce, 7u);

    // Mined: the receipt is there, the chain counts 8 — but the round's first read of the count
    // still answers 7, as a read made just before the block would.
    chains::evm::Receipt r;
    r.tx_hash = first.hash;
    r.block_number = 20;
    r.block_hash = fake_->block_hash(20);
    r.success = true;
    r.gas_used = 100'000;
    r.from = account();
    r.to = kInbox;
    r.logs.push_back(FakeChain::packet_delivered_log(packets_[0], kInbox, 20));
    fake_->set_receipt(first.hash, r);
    fake_->set_next_inbound_nonce(kSrc, 2);
    fake_->set_account_nonce(account(), 8, 8);
    fake_->answer_next_latest_nonce(7);
    attest_packets({packets_[1]}, 2);
    submit_until([&] { return fake_->sent().size() >= 2; });

    const auto txs = sent();
    ASSERT_EQ(txs.size(), 2u);
    EXPECT_EQ(txs[1].tx.nonce, 8u);
    EXPECT_EQ(state_of(packets_[0]), PacketState::delivered);
    EXPECT_EQ(state_of(packets_[1]), PacketState::submitted);
}

TEST_F(SubmitterTest, continues_from_the_queues_next_nonce_after_a_restart) {
    route_.batch_size = 1;
    fake_->set_next_inbound_nonce(kSrc, 1);
    attest_packets({packets_[0]}, 2);
    submit_until([&] { return fake_->sent().size() >= 1; });
    // A new submitter (a restarted node) on a chain that has not mined the first one yet.
    attest_packets({packets_[1]}, 2);
    submit_until([&] { return live_deliveries().size() >= 2; });

    const auto txs = sent();
    ASSERT_GE(txs.size(), 2u);
    EXPECT_EQ(txs[0].tx.nonce, 7u);
    for (std::size_t i = 1; i < txs.size(); ++i) {
        // After a restart the live delivery may be rebroadcast (same tx); a new one is nonce 8.
        if (txs[i].hash == txs[0].hash) continue;
        EXPECT_EQ(txs[i].tx.nonce, 8u);
    }
    EXPECT_EQ(live_deliveries().size(), 2u);
}

TEST_F(SubmitterTest, a_nonce_the_chain_already_used_requeues_the_packets_and_follows_the_chain) {
    route_.batch_size = 5;
    attest_packets(packets_, 2);
    // Another sender used nonces 7 and 8 with this key after the round read the count.
    fake_->fail_next("send_raw", chains::evm::make_rpc_error(
                                     chains::evm::RpcError::Code::nonce_too_low, "nonce too low"));
    fake_->on_send_raw([&](const crypto::Bytes&) { fake_->set_account_nonce(account(), 9, 9); });
    submit_until([&] { return fake_->sent().size() >= 2; });

    const auto txs = sent();
    ASSERT_EQ(txs.size(), 2u);
    EXPECT_EQ(txs[0].tx.nonce, 7u);
    EXPECT_EQ(txs[1].tx.nonce, 9u);
    EXPECT_EQ(counters_.nonce_conflicts, 1u);
    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 1u);  // the refused one is not live: its packets went back
    EXPECT_EQ(held.front().tx_hash, txs[1].hash);
    EXPECT_EQ(held.front().packets, ids_of({0, 1, 2, 3, 4}));
}

TEST_F(SubmitterTest, gives_back_the_nonce_of_a_transaction_the_node_refused) {
    route_.batch_size = 5;
    attest_packets(packets_, 2);
    fake_->fail_next("send_raw",
                     chains::evm::make_rpc_error(chains::evm::RpcError::Code::insufficient_funds,
                                                 "insufficient funds for gas * price + value"));
    submit_until([&] { return fake_->sent().size() >= 1; });
    EXPECT_EQ(counters_.txs_failed, 1u);
    EXPECT_TRUE(live_deliveries().empty());
    // The packets retry after their backoff; the next transaction takes the same nonce.
    ASSERT_TRUE(queue_->requeue(ids_of({0, 1, 2, 3, 4}), relayer::now_ms()));
    submit_until([&] { return fake_->sent().size() >= 2; });

    const auto txs = sent();
    ASSERT_EQ(txs.size(), 2u);
    EXPECT_EQ(txs[0].tx.nonce, 7u);
    EXPECT_EQ(txs[1].tx.nonce, 7u);
}

// Issue: batches sent behind unmined ones reused the route's last estimate; one holding a
// recipient that burns all its gas reverted with InsufficientGas() (limit 1,033,085, used
// 701,330) and every batch behind it was refused NonceOutOfOrder.
TEST_F(SubmitterTest, gives_every_batch_the_inbox_gas_bound_even_behind_unmined_ones) {
    route_.batch_size = 2;
    fake_->set_handle_gas_limit(300'000);
    fake_->set_gas_estimate(150'000);  // what the first batch needs when its recipients idle
    attest_packets(packets_, 2);
    submit_until([&] { return fake_->sent().size() >= 3; });

    const auto txs = sent();
    ASSERT_EQ(txs.size(), 3u);
    EXPECT_EQ(fake_->requests("estimate_gas"), 1u);  // only the first can be simulated
    // Each recipient may burn all of its 300 000, and the last call needs 64/63 of it + 10 000.
    const std::uint64_t reserve = 300'000 / 63 + 10'000;
    EXPECT_GE(txs[0].tx.gas_limit, 2 * 300'000u + reserve);
    EXPECT_GE(txs[1].tx.gas_limit, 2 * 300'000u + reserve);
    EXPECT_GE(txs[2].tx.gas_limit, 1 * 300'000u + reserve);
    EXPECT_EQ(txs[0].tx.gas_limit, txs[1].tx.gas_limit);  // same shape, same bound
    EXPECT_LT(txs[2].tx.gas_limit, txs[1].tx.gas_limit);
}

TEST_F(SubmitterTest, cuts_a_batch_to_what_a_block_can_hold_at_its_gas_bound) {
    fake_->set_handle_gas_limit(1'000'000);
    fake_->set_block_gas_limit(2'500'000);  // two packets at their bound, not three
    attest_packets(packets_, 2);
    submit_until([&] { return fake_->sent().size() >= 3; });

    const auto held = live_deliveries();
    ASSERT_EQ(held.size(), 3u);
    EXPECT_EQ(held[0].packets, ids_of({0, 1}));
    EXPECT_EQ(held[1].packets, ids_of({2, 3}));
    EXPECT_EQ(held[2].packets, ids_of({4}));
    for (const auto& d : held) EXPECT_LE(d.gas_limit, 2'500'000u);
}

TEST_F(SubmitterTest, waits_when_one_packet_may_need_more_gas_than_a_block_holds) {
    fake_->set_handle_gas_limit(40'000'000);
    attest_packets(packets_, 2);
    submit_until([&] { return !why().empty(); });

    EXPECT_TRUE(fake_->sent().empty());
    EXPECT_NE(why().find("handleGasLimit 40000000"), std::string::npos) << why();
    for (const auto& p : packets_) EXPECT_EQ(state_of(p), PacketState::attested);
}

}  // namespace
}  // namespace ferry::test

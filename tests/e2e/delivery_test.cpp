// The delivery path on real anvil chains, read from the destination chain itself: the relayer
// account's transactions (every block's transactions from it and their receipts), the Inbox's
// PacketDelivered and PacketRejected logs. No transaction may be wasted: none reverts, none is
// refused for its nonce, none delivers nothing.
#include "chains/evm/abi.hpp"
#include "chains/evm/contracts.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "devnet/devnet.hpp"
#include "tests/e2e/devnet_fixture.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/rpc_client.hpp"
#include "tests/support/tcp_proxy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

namespace evm = ferry::chains::evm;
using namespace ferry;
using devnet::Devnet;
using devnet::SentPacket;
using nlohmann::json;

namespace {

using test::devnet_options;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string quantity(std::uint64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(n));
    return buf;
}

/// What one account did on a chain, read block by block from the chain.
struct AccountTxs {
    std::size_t sent = 0;
    std::size_t reverted = 0;
    std::uint64_t gas_used = 0;
};

AccountTxs account_txs(test::ChainClient& client, const crypto::Address& account,
                       std::uint64_t from_block) {
    AccountTxs out;
    const auto head = test::quantity_u64(client.rpc().call("eth_blockNumber"));
    const auto who = lower(account.hex());
    for (std::uint64_t n = from_block; n <= head; ++n) {
        const json block =
            client.rpc().call("eth_getBlockByNumber", json::array({quantity(n), true}));
        for (const auto& tx : block.at("transactions")) {
            if (lower(tx.at("from").get<std::string>()) != who) continue;
            ++out.sent;
            const json receipt =
                client.rpc().call("eth_getTransactionReceipt", json::array({tx.at("hash")}));
            if (receipt.at("status") != "0x1") ++out.reverted;
            out.gas_used += test::quantity_u64(receipt.at("gasUsed"));
        }
    }
    return out;
}

class e2e_delivery : public test::DevnetTest {
protected:
    void burn_every_tenth(bool ordered);

    /// The relayer's account on `chain`, its PacketDelivered success flags by id (each id must
    /// be delivered once) and the count of PacketRejected logs.
    struct ChainTruth {
        AccountTxs txs;
        std::map<crypto::PacketId, bool> delivered;
        std::size_t rejected = 0;
        std::uint64_t account_nonce = 0;
    };

    ChainTruth truth(std::string_view chain_name) {
        const auto* chain = net_->chain(chain_name).value();
        test::ChainClient client(chain->rpc_url);
        const auto relayer = test::dev_account(devnet::kRelayerAccount).address;
        ChainTruth t;
        t.txs = account_txs(client, relayer, chain->deploy_block);
        const auto head = test::quantity_u64(client.rpc().call("eth_blockNumber"));
        for (const auto& log :
             client.get_logs(chain->inbox, evm::packet_delivered_topic(), 0, head)) {
            auto e = evm::decode_packet_delivered(log);
            EXPECT_TRUE(e);
            if (!e) continue;
            EXPECT_EQ(t.delivered.count(e->id), 0u) << "delivered twice: " << e->id.hex();
            t.delivered[e->id] = e->success;
        }
        t.rejected = client.get_logs(chain->inbox, evm::packet_rejected_topic(), 0, head).size();
        t.account_nonce = test::quantity_u64(
            client.rpc().call("eth_getTransactionCount", json::array({relayer.hex(), "latest"})));
        return t;
    }
};

}  // namespace

// Issue: with batch_size 1 and 200 packets on an ordered route the relayer reused its own
// account nonces: 382 transactions, 182 of them rejected on chain with NonceOutOfOrder.
TEST_F(e2e_delivery, two_hundred_packets_at_batch_size_one_take_two_hundred_transactions) {
    auto options = devnet_options("nonces");
    options.batch_size = 1;
    Devnet& net = prepare(std::move(options));
    // The destination's provider answers 100 ms late, as a distant one does: a block is then
    // often mined between the relayer's reading of its account nonce and of its receipts.
    test::RpcClient direct(net.chain("beta").value()->rpc_url);
    test::TcpProxy provider(direct.port());
    provider.set_delay(std::chrono::milliseconds(100));
    json config = test::read_json(net.relayer_config_path());
    test::chain_entry(config, "beta")["rpc"] = json::array({provider.url()});
    test::write_json(net.relayer_config_path(), config);
    start_nodes({1, 2, 3});
    const auto sent = test::send(net, "alpha", 200, "one by one");
    const auto outcome = wait(sent, std::chrono::seconds(240));
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of 200 delivered";
    std::this_thread::sleep_for(std::chrono::seconds(3));  // anything else it would send
    ASSERT_TRUE(net.kill_relayer(SIGTERM));

    const auto t = truth("beta");
    EXPECT_EQ(t.txs.sent, 200u);
    EXPECT_EQ(t.account_nonce, 200u);
    EXPECT_EQ(t.txs.reverted, 0u);
    EXPECT_EQ(t.rejected, 0u);
    EXPECT_EQ(t.delivered.size(), 200u);
    DevnetTest::expect_delivered_once(sent);
    std::printf(
        "[ e2e_delivery ] 200 packets at batch size 1: %zu delivery txs, %zu rejected "
        "packets, %zu reverted, gas %llu\n",
        t.txs.sent, t.rejected, t.txs.reverted, static_cast<unsigned long long>(t.txs.gas_used));
}

// Issue: batches sent behind unmined ones reused the route's last estimate, and a batch holding
// a recipient that burns all the gas it is given reverted with InsufficientGas(); on an ordered
// route every batch in flight behind it was then refused NonceOutOfOrder.
// 200 packets in batches of 4, every 10th to a recipient that burns all the gas it is given.
void e2e_delivery::burn_every_tenth(bool ordered) {
    auto options = devnet_options(ordered ? "burn-ordered" : "burn-unordered");
    options.batch_size = 4;
    options.ordered = ordered;
    // A backlog: the packets are sent and attested before the relayer starts, so it sends its
    // batches in bursts, most of them behind unmined ones.
    Devnet& net = prepare(std::move(options));
    for (std::size_t i = 1; i <= 3; ++i) net.start_validator(i).value();
    const auto* beta = net.chain("beta").value();
    test::ChainClient client(beta->rpc_url);
    const auto owner = test::dev_account(devnet::kDeployerAccount);
    // Recipients may use up to 500,000 gas each (the Inbox owner's setting), as in the report.
    ASSERT_TRUE(client
                    .send(owner, beta->inbox,
                          evm::AbiEncoder().add_uint(500'000).encode_call(
                              evm::function_selector("setHandleGasLimit(uint64)")))
                    .success);
    const auto limit_out = client.call(
        beta->inbox, evm::AbiEncoder().encode_call(evm::function_selector("handleGasLimit()")));
    const auto handle_gas_limit = evm::AbiDecoder(limit_out).read_uint(64).value();
    // A second TestRecipient that burns everything it is given (and so fails).
    const auto burner = client.deploy(owner, evm::Contract::test_recipient, {});
    ASSERT_TRUE(client
                    .send(owner, burner,
                          evm::AbiEncoder()
                              .add_uint(handle_gas_limit)
                              .encode_call(evm::function_selector("setGasToBurn(uint64)")))
                    .success);

    const auto sent =
        net.send_packets_to("alpha", 200, "burn",
                            [&](std::size_t k) { return k % 10 == 0 ? burner : beta->recipient; })
            .value();
    std::this_thread::sleep_for(std::chrono::seconds(3));  // attested meanwhile
    net.start_relayer().value();
    const auto outcome = wait(sent, std::chrono::seconds(240));
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of 200 delivered";
    std::this_thread::sleep_for(std::chrono::seconds(3));
    ASSERT_TRUE(net.kill_relayer(SIGTERM));

    const auto t = truth("beta");
    EXPECT_EQ(t.txs.reverted, 0u);
    EXPECT_EQ(t.rejected, 0u);
    ASSERT_EQ(t.delivered.size(), 200u);
    for (std::size_t k = 1; k <= sent.size(); ++k) {
        const auto it = t.delivered.find(sent[k - 1].id);
        ASSERT_NE(it, t.delivered.end()) << "nonce " << k;
        EXPECT_EQ(it->second, k % 10 != 0) << "nonce " << k;  // the burner's calls fail
    }
    std::printf(
        "[ e2e_delivery ] %s route, 200 packets in batches of 4, every 10th burning "
        "%llu gas: %zu delivery txs, %zu reverted, %zu rejected packets, gas %llu\n",
        ordered ? "ordered" : "unordered", static_cast<unsigned long long>(handle_gas_limit),
        t.txs.sent, t.txs.reverted, t.rejected, static_cast<unsigned long long>(t.txs.gas_used));
}

TEST_F(e2e_delivery, recipients_burning_all_their_gas_never_make_a_delivery_revert) {
    burn_every_tenth(true);
}

TEST_F(e2e_delivery, on_an_unordered_route_recipients_burning_all_their_gas_revert_nothing) {
    burn_every_tenth(false);
}

// Proves every RPC client method works against a real anvil node and its errors are classified.
#include "chains/evm/rpc_client.hpp"
#include "chains/evm/transaction.hpp"
#include "crypto/hex.hpp"
#include "tests/support/anvil.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace ferry::chains::evm;
using namespace ferry::crypto::literals;
using ferry::crypto::Bytes;
using ferry::crypto::from_hex;
using ferry::crypto::PrivateKey;
using ferry::test::AnvilProcess;
using nlohmann::json;
using Code = RpcError::Code;

namespace {

template <class T>
T run(boost::asio::io_context& ioc, ferry::chains::Task<T> task) {
    auto future = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    return future.get();
}

constexpr std::uint64_t kChainId = 4242;
constexpr std::uint64_t kGwei = 1'000'000'000;
// anvil's first two dev accounts (its published test mnemonic).
constexpr auto kDev = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;
constexpr auto kDev1 = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"_address;
constexpr std::string_view kDevKey =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Init code that reverts with Error("no"): four PUSH32/MSTORE of the 100-byte revert data
/// (selector 0x08c379a0, offset 0x20, length 2, "no" = 0x6e6f), then REVERT(0, 100).
Bytes reverting_init_code() {
    const Bytes payload = from_hex(
                              "08c379a0"
                              "0000000000000000000000000000000000000000000000000000000000000020"
                              "0000000000000000000000000000000000000000000000000000000000000002"
                              "6e6f000000000000000000000000000000000000000000000000000000000000")
                              .value();
    Bytes padded = payload;
    padded.resize(128, 0);
    Bytes code;
    for (std::size_t word = 0; word < 4; ++word) {
        code.push_back(0x7f);  // PUSH32
        code.insert(code.end(), padded.begin() + static_cast<std::ptrdiff_t>(32 * word),
                    padded.begin() + static_cast<std::ptrdiff_t>(32 * word + 32));
        code.push_back(0x60);  // PUSH1 offset
        code.push_back(static_cast<std::uint8_t>(32 * word));
        code.push_back(0x52);  // MSTORE
    }
    const Bytes revert = {0x60, 0x64, 0x60, 0x00, 0xfd};  // PUSH1 100, PUSH1 0, REVERT
    code.insert(code.end(), revert.begin(), revert.end());
    return code;
}

/// Init code that emits LOG1(topic) with no data and deploys no code: PUSH32 topic, PUSH1 0,
/// PUSH1 0, LOG1, STOP.
Bytes logging_init_code(const ferry::crypto::Hash32& topic) {
    Bytes code;
    code.push_back(0x7f);  // PUSH32
    for (const auto b : topic.bytes) code.push_back(b);
    const Bytes rest = {0x60, 0x00, 0x60, 0x00, 0xa1, 0x00};  // PUSH1 0, PUSH1 0, LOG1, STOP
    code.insert(code.end(), rest.begin(), rest.end());
    return code;
}

Eip1559Tx tx_template(std::uint64_t nonce) {
    Eip1559Tx tx;
    tx.chain_id = ferry::crypto::ChainId{kChainId};
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = U256::from_u64(kGwei);
    tx.max_fee_per_gas = U256::from_u64(100 * kGwei);
    tx.gas_limit = 21000;
    return tx;
}

/// The receipt once anvil has mined the transaction (automine answers before it has): polls
/// for up to 10 s.
RpcResult<std::optional<Receipt>> wait_receipt(boost::asio::io_context& ioc, RpcClient& client,
                                               const ferry::crypto::Hash32& hash) {
    for (int i = 0;; ++i) {
        auto r = run(ioc, client.get_transaction_receipt(hash));
        if (!r || *r || i == 200) return r;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace

TEST(rpc_anvil, every_method_against_a_real_node) {
    AnvilProcess anvil({.chain_id = kChainId, .block_time = std::nullopt});
    boost::asio::io_context ioc;
    RpcClientConfig config;
    config.endpoints = {anvil.url()};
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    EXPECT_EQ(run(ioc, client.chain_id()).value(), kChainId);

    const auto before = run(ioc, client.block_number()).value();
    ASSERT_TRUE(run(ioc, client.request("evm_mine", json::array())));
    EXPECT_EQ(run(ioc, client.block_number()).value(), before + 1);

    // 10000 ether = 10^22 wei = 0x021e19e0c9bab2400000.
    const auto balance = run(ioc, client.get_balance(kDev));
    ASSERT_TRUE(balance);
    EXPECT_EQ(*balance, *U256::from_be_bytes(from_hex("0x021e19e0c9bab2400000").value()));

    for (const BlockTag tag : {BlockTag::latest, BlockTag::safe, BlockTag::finalized}) {
        const auto block = run(ioc, client.get_block_by_number(tag));
        ASSERT_TRUE(block) << block.error().to_string();
        ASSERT_TRUE(*block);
        EXPECT_LE((*block)->number, before + 1);
        EXPECT_FALSE((*block)->hash.is_zero());
    }
    const auto latest = run(ioc, client.get_block_by_number(BlockTag::latest)).value();
    EXPECT_EQ(latest->number, before + 1);
    const auto parent = run(ioc, client.get_block_by_number(before)).value();
    ASSERT_TRUE(parent);
    EXPECT_EQ(parent->hash, latest->parent_hash);
    EXPECT_FALSE(run(ioc, client.get_block_by_number(std::uint64_t{1'000'000})).value());

    CallRequest transfer;
    transfer.from = kDev;
    transfer.to = kDev1;
    transfer.value = U256::from_u64(1);
    EXPECT_EQ(run(ioc, client.estimate_gas(transfer)).value(), 21000u);
    CallRequest no_code;
    no_code.to = kDev1;
    EXPECT_TRUE(run(ioc, client.call(no_code)).value().empty());

    const auto history = run(ioc, client.fee_history(2, BlockTag::latest, {50.0}));
    ASSERT_TRUE(history) << history.error().to_string();
    EXPECT_EQ(history->base_fee_per_gas.size(), history->gas_used_ratio.size() + 1);
    EXPECT_EQ(history->reward.size(), history->gas_used_ratio.size());
    EXPECT_TRUE(run(ioc, client.max_priority_fee_per_gas()));

    // A signed transfer: sent, mined (automine), its receipt read back.
    EXPECT_EQ(run(ioc, client.get_transaction_count(kDev)).value(), 0u);
    const auto key = PrivateKey::from_hex(kDevKey).value();
    Eip1559Tx send = tx_template(0);
    send.to = kDev1;
    send.value = U256::from_u64(1);
    const auto signed_tx = sign(send, key).value();
    const auto hash = run(ioc, client.send_raw_transaction(signed_tx.raw));
    ASSERT_TRUE(hash) << hash.error().to_string();
    EXPECT_EQ(*hash, signed_tx.hash);
    const auto receipt = wait_receipt(ioc, client, *hash);
    ASSERT_TRUE(receipt) << receipt.error().to_string();
    ASSERT_TRUE(*receipt);
    EXPECT_TRUE((*receipt)->success);
    EXPECT_EQ((*receipt)->gas_used, 21000u);
    EXPECT_EQ((*receipt)->from, kDev);
    EXPECT_EQ((*receipt)->to, kDev1);
    EXPECT_EQ(run(ioc, client.get_transaction_count(kDev)).value(), 1u);
    EXPECT_FALSE(run(ioc, client.get_transaction_receipt(ferry::crypto::Hash32{})).value());

    // The same transaction again: its nonce is used.
    const auto again = run(ioc, client.send_raw_transaction(signed_tx.raw));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Code::nonce_too_low) << again.error().to_string();
    EXPECT_EQ(again.error().kind, RpcError::Kind::permanent);

    // A contract creation that emits one log; eth_getLogs finds it.
    const auto topic = "0x00000000000000000000000000000000000000000000000000000000656d6974"_hash;
    Eip1559Tx create = tx_template(1);
    create.gas_limit = 100'000;
    create.data = logging_init_code(topic);
    const auto created = sign(create, key).value();
    ASSERT_TRUE(run(ioc, client.send_raw_transaction(created.raw)));
    const auto creation = wait_receipt(ioc, client, created.hash).value();
    ASSERT_TRUE(creation);
    ASSERT_TRUE(creation->contract_address);
    ASSERT_EQ(creation->logs.size(), 1u);
    const auto head = run(ioc, client.block_number()).value();
    const auto logs =
        run(ioc, client.get_logs(LogFilter{0, head, {*creation->contract_address}, {{topic}}}));
    ASSERT_TRUE(logs) << logs.error().to_string();
    ASSERT_EQ(logs->size(), 1u);
    EXPECT_EQ((*logs)[0], creation->logs[0]);
    EXPECT_EQ((*logs)[0].block_number, creation->block_number);
    EXPECT_EQ((*logs)[0].topics, std::vector<ferry::crypto::Hash32>{topic});
}

TEST(rpc_anvil, reverts_and_refusals_are_classified) {
    AnvilProcess anvil({.chain_id = kChainId, .block_time = std::nullopt});
    boost::asio::io_context ioc;
    RpcClientConfig config;
    config.endpoints = {anvil.url()};
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    CallRequest reverting;
    reverting.from = kDev;
    reverting.data = reverting_init_code();
    const auto call = run(ioc, client.call(reverting));
    ASSERT_FALSE(call);
    EXPECT_EQ(call.error().code, Code::execution_reverted) << call.error().to_string();
    ASSERT_TRUE(call.error().revert_reason) << call.error().to_string();
    EXPECT_EQ(*call.error().revert_reason, "no");
    const auto estimate = run(ioc, client.estimate_gas(reverting));
    ASSERT_FALSE(estimate);
    EXPECT_EQ(estimate.error().code, Code::execution_reverted) << estimate.error().to_string();
    ASSERT_TRUE(estimate.error().revert_reason);
    EXPECT_EQ(*estimate.error().revert_reason, "no");

    // An account without funds: private key 1 has never been given any ether on anvil.
    const auto poor =
        PrivateKey::from_hex("0x0000000000000000000000000000000000000000000000000000000000000001")
            .value();
    Eip1559Tx tx = tx_template(0);
    tx.to = kDev1;
    tx.value = U256::from_u64(1);
    const auto broke = run(ioc, client.send_raw_transaction(sign(tx, poor).value().raw));
    ASSERT_FALSE(broke);
    EXPECT_EQ(broke.error().code, Code::insufficient_funds) << broke.error().to_string();
}

// Proves EIP-1559 txs built and signed by Ferry are accepted, hashed alike and mined by anvil.
#include "chains/evm/transaction.hpp"
#include "crypto/hex.hpp"
#include "crypto/secp256k1.hpp"
#include "tests/support/anvil.hpp"
#include "tests/support/rpc_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

using namespace ferry::chains::evm;
using ferry::crypto::Address;
using ferry::crypto::ChainId;
using ferry::crypto::Hash32;
using ferry::crypto::PrivateKey;
using ferry::test::AnvilProcess;
using ferry::test::RpcClient;
using nlohmann::json;
using namespace ferry::crypto::literals;

namespace {

using u128 = unsigned __int128;

constexpr std::uint64_t kChainId = 4242;
constexpr std::uint64_t kGwei = 1'000'000'000;
// anvil's first dev account (from its published test mnemonic).
constexpr std::string_view kDevKey =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr std::string_view kDevAddress = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

// A JSON-RPC quantity; anvil's balances and fees fit in 128 bits.
u128 quantity(const json& j) {
    const auto s = j.get<std::string>();
    EXPECT_TRUE(s.starts_with("0x")) << s;
    EXPECT_LE(s.size(), 2u + 32u) << s;
    u128 v = 0;
    for (const char c : s.substr(2)) {
        const int d = ferry::crypto::hex_digit_value(c);
        EXPECT_GE(d, 0) << s;
        v = (v << 4) | static_cast<u128>(d);
    }
    return v;
}

U256 u256(u128 v) {
    U256 out;
    for (std::size_t i = 0; i < 16; ++i)
        out.bytes[31 - i] = static_cast<std::uint8_t>(v >> (8 * i));
    return out;
}

std::string quantity_hex(const U256& v) {
    std::string h = ferry::crypto::to_hex(v.bytes, false);
    const auto first = h.find_first_not_of('0');
    return "0x" + (first == std::string::npos ? std::string("0") : h.substr(first));
}

PrivateKey dev_key() { return PrivateKey::from_hex(kDevKey).value(); }

// Nonce from the node and fees from the latest block: 2 * base fee + a 1 gwei tip.
Eip1559Tx base_tx(RpcClient& rpc) {
    Eip1559Tx tx;
    tx.chain_id = ChainId{kChainId};
    tx.nonce = static_cast<std::uint64_t>(
        quantity(rpc.call("eth_getTransactionCount", {std::string(kDevAddress), "pending"})));
    const auto block = rpc.call("eth_getBlockByNumber", {"latest", false});
    const u128 base_fee = quantity(block.at("baseFeePerGas"));
    tx.max_priority_fee_per_gas = u256(kGwei);
    tx.max_fee_per_gas = u256(2 * base_fee + kGwei);
    return tx;
}

// Polls until the node has a receipt (anvil automines, so this is quick).
json wait_for_receipt(RpcClient& rpc, const Hash32& hash) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        auto receipt = rpc.call("eth_getTransactionReceipt", {hash.hex()});
        if (!receipt.is_null()) return receipt;
        if (std::chrono::steady_clock::now() > deadline) return json();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace

TEST(anvil_tx, transfer_is_mined_with_ferrys_hash_and_moves_value) {
    AnvilProcess anvil({.chain_id = kChainId, .block_time = std::nullopt});
    RpcClient rpc(anvil.url());
    ASSERT_EQ(quantity(rpc.call("eth_chainId")), kChainId);

    const std::string recipient = "0x00000000000000000000000000000000f3a7e001";
    const u128 amount = u128{1'500'000'000} * kGwei;  // 1.5 ether
    const u128 recipient_before = quantity(rpc.call("eth_getBalance", {recipient, "latest"}));
    const u128 sender_before = quantity(rpc.call("eth_getBalance", {kDevAddress, "latest"}));

    Eip1559Tx tx = base_tx(rpc);
    tx.gas_limit = 21'000;
    tx.to = Address::from_hex(recipient).value();
    tx.value = u256(amount);
    const auto signed_tx = sign(tx, dev_key());
    ASSERT_TRUE(signed_tx);
    EXPECT_EQ(signed_tx->sender.hex(), kDevAddress);

    const auto hash = rpc.call("eth_sendRawTransaction", {ferry::crypto::to_hex(signed_tx->raw)});
    EXPECT_EQ(hash.get<std::string>(), signed_tx->hash.hex());

    const json receipt = wait_for_receipt(rpc, signed_tx->hash);
    ASSERT_FALSE(receipt.is_null()) << "not mined";
    EXPECT_EQ(receipt.at("status"), "0x1");
    EXPECT_EQ(receipt.at("type"), "0x2");
    EXPECT_EQ(receipt.at("from"), std::string(kDevAddress));
    EXPECT_EQ(receipt.at("to"), recipient);
    EXPECT_EQ(quantity(receipt.at("gasUsed")), 21'000u);

    const u128 recipient_after = quantity(rpc.call("eth_getBalance", {recipient, "latest"}));
    const u128 sender_after = quantity(rpc.call("eth_getBalance", {kDevAddress, "latest"}));
    EXPECT_TRUE(recipient_after - recipient_before == amount);
    const u128 fee = quantity(receipt.at("gasUsed")) * quantity(receipt.at("effectiveGasPrice"));
    EXPECT_TRUE(sender_before - sender_after == amount + fee);
}

TEST(anvil_tx, call_with_data_and_access_list_is_mined_as_built) {
    AnvilProcess anvil({.chain_id = kChainId, .block_time = std::nullopt});
    RpcClient rpc(anvil.url());

    // An address without code: the call runs nothing, but data and access list are charged
    // and recorded.
    const auto target = Address::from_hex("0x000000000000000000000000000000000000c0de").value();
    Eip1559Tx tx = base_tx(rpc);
    tx.gas_limit = 100'000;
    tx.to = target;
    tx.value = u256(0);
    tx.data = ferry::crypto::from_hex(
                  "0xa9059cbb0000000000000000000000000000000000000000000000000000"
                  "00000000000000000000000000000000000000000000000000000000002a")
                  .value();
    const Hash32 slot7 = "0x0000000000000000000000000000000000000000000000000000000000000007"_hash;
    tx.access_list = {
        {target, {Hash32{}, slot7}},
        {"0x000000000000000000000000000000000000beef"_address, {}},
    };
    const auto signed_tx = sign(tx, dev_key());
    ASSERT_TRUE(signed_tx);

    const auto hash = rpc.call("eth_sendRawTransaction", {ferry::crypto::to_hex(signed_tx->raw)});
    EXPECT_EQ(hash.get<std::string>(), signed_tx->hash.hex());
    const json receipt = wait_for_receipt(rpc, signed_tx->hash);
    ASSERT_FALSE(receipt.is_null()) << "not mined";
    EXPECT_EQ(receipt.at("status"), "0x1");

    // The node's view of the transaction is what Ferry built and signed.
    const json got = rpc.call("eth_getTransactionByHash", {signed_tx->hash.hex()});
    EXPECT_EQ(got.at("type"), "0x2");
    EXPECT_EQ(got.at("from"), std::string(kDevAddress));
    EXPECT_EQ(got.at("to"), target.hex());
    EXPECT_EQ(got.at("input"), ferry::crypto::to_hex(tx.data));
    EXPECT_EQ(quantity(got.at("nonce")), tx.nonce);
    EXPECT_EQ(quantity(got.at("gas")), tx.gas_limit);
    EXPECT_EQ(got.at("maxFeePerGas"), quantity_hex(tx.max_fee_per_gas));
    EXPECT_EQ(got.at("maxPriorityFeePerGas"), quantity_hex(tx.max_priority_fee_per_gas));
    EXPECT_EQ(quantity(got.at("chainId")), kChainId);
    ASSERT_EQ(got.at("accessList").size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& entry = got.at("accessList")[i];
        EXPECT_EQ(entry.at("address"), tx.access_list[i].address.hex());
        ASSERT_EQ(entry.at("storageKeys").size(), tx.access_list[i].storage_keys.size());
        for (std::size_t k = 0; k < tx.access_list[i].storage_keys.size(); ++k)
            EXPECT_EQ(entry.at("storageKeys")[k], tx.access_list[i].storage_keys[k].hex());
    }
    EXPECT_EQ(quantity(got.at("yParity")), signed_tx->y_parity());
    U256 r;
    U256 s;
    std::copy_n(signed_tx->signature.bytes.begin(), 32, r.bytes.begin());
    std::copy_n(signed_tx->signature.bytes.begin() + 32, 32, s.bytes.begin());
    EXPECT_EQ(got.at("r"), quantity_hex(r));
    EXPECT_EQ(got.at("s"), quantity_hex(s));
}

TEST(anvil_tx, transaction_signed_for_another_chain_is_refused) {
    AnvilProcess anvil({.chain_id = kChainId, .block_time = std::nullopt});
    RpcClient rpc(anvil.url());

    Eip1559Tx tx = base_tx(rpc);
    tx.chain_id = ChainId{kChainId + 1};
    tx.gas_limit = 21'000;
    tx.to = Address::from_hex("0x00000000000000000000000000000000f3a7e002").value();
    tx.value = u256(1);
    const auto signed_tx = sign(tx, dev_key());
    ASSERT_TRUE(signed_tx);
    EXPECT_THROW(rpc.call("eth_sendRawTransaction", {ferry::crypto::to_hex(signed_tx->raw)}),
                 ferry::test::RpcError);
}

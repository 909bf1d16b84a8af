// Proves the JSON-RPC wire decoders read real node answers, reject malformed ones precisely and
// round-trip.
#include "chains/evm/json.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ferry::chains::evm;
using namespace ferry::crypto::literals;
using nlohmann::json;

namespace {

/// Every field `encoded` has, `original` has with the same value (the encoders write a subset).
void expect_subset(const json& encoded, const json& original) {
    for (const auto& [key, value] : encoded.items()) {
        ASSERT_TRUE(original.contains(key)) << key;
        if (key == "logs") {
            ASSERT_EQ(value.size(), original[key].size());
            for (std::size_t i = 0; i < value.size(); ++i)
                expect_subset(value[i], original[key][i]);
        } else {
            EXPECT_EQ(value, original[key]) << key;
        }
    }
}

}  // namespace

TEST(rpc_json, quantities_parse_strictly) {
    EXPECT_EQ(parse_quantity_u64("0x0").value(), 0u);
    EXPECT_EQ(parse_quantity_u64("0x1092").value(), 4242u);
    EXPECT_EQ(parse_quantity_u64("0xffffffffffffffff").value(), 18446744073709551615u);
    EXPECT_EQ(parse_quantity_u64("0x00ff").value(), 255u);  // leading zeros tolerated
    EXPECT_EQ(parse_quantity_u64("0x10000000000000000").error(), Error::json_bad_quantity);
    EXPECT_EQ(parse_quantity_u64("0x").error(), Error::json_bad_quantity);
    EXPECT_EQ(parse_quantity_u64("1092").error(), Error::json_bad_quantity);
    EXPECT_EQ(parse_quantity_u64("0x10g2").error(), Error::json_bad_quantity);
    EXPECT_EQ(parse_quantity_u64("").error(), Error::json_bad_quantity);
    EXPECT_EQ(quantity_u64_from_json(json(4242)).error(), Error::json_wrong_type);

    // 10000 ether in wei = 10^22 = 0x21e19e0c9bab2400000.
    const auto wei = parse_quantity_u256("0x21e19e0c9bab2400000");
    ASSERT_TRUE(wei);
    const auto expected =
        U256::from_be_bytes(ferry::crypto::from_hex("0x021e19e0c9bab2400000").value());
    EXPECT_EQ(*wei, *expected);
    EXPECT_EQ(to_quantity(*wei), "0x21e19e0c9bab2400000");
    EXPECT_EQ(to_quantity(U256{}), "0x0");
    EXPECT_EQ(to_quantity(std::uint64_t{4242}), "0x1092");
    EXPECT_TRUE(parse_quantity_u256("0x" + std::string(64, 'f')));
    EXPECT_EQ(parse_quantity_u256("0x1" + std::string(64, '0')).error(), Error::json_bad_quantity);
}

TEST(rpc_json, nesting_depth_counts_brackets_outside_strings) {
    const std::string sixty_four = std::string(64, '[') + std::string(64, ']');
    EXPECT_FALSE(json_nested_deeper_than(sixty_four, 64));
    EXPECT_TRUE(json_nested_deeper_than("[" + sixty_four + "]", 64));
    EXPECT_TRUE(json_nested_deeper_than(R"({"a":[{"b":[1]}]})", 3));
    EXPECT_FALSE(json_nested_deeper_than(R"({"a":[{"b":[1]}]})", 4));
    // Brackets in strings, also after an escaped quote, do not count.
    EXPECT_FALSE(json_nested_deeper_than(R"(["[[[[", "\"[[[[", "\\"])", 1));
    EXPECT_TRUE(json_nested_deeper_than(R"(["\\", [[]]])", 2));
    // Stray closing brackets do not make room for deeper nesting.
    EXPECT_TRUE(json_nested_deeper_than("]]]" + std::string(3, '['), 2));
    EXPECT_FALSE(json_nested_deeper_than("", 0));
}

TEST(rpc_json, log_round_trips_against_a_literal) {
    const json literal = R"({
        "address": "0x7dcd17433742f4c0ca53122ab541d0ba67fc27df",
        "topics": ["0x00000000000000000000000000000000000000000000000000000000656d6974"],
        "data": "0x0102",
        "blockNumber": "0x3",
        "blockHash": "0x1732a5fe86d54098c431fa4fea34387b650e41dbff65ca554370028172fcdb6a",
        "transactionHash": "0x8acb279f66e5fa56b6718166c0296dfd4bfaf7be6757d35cbbcc40367f2904ba",
        "logIndex": "0x1",
        "removed": true
    })"_json;
    const auto log = log_from_json(literal);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->address, "0x7dcd17433742f4c0ca53122ab541d0ba67fc27df"_address);
    ASSERT_EQ(log->topics.size(), 1u);
    EXPECT_EQ(log->topics[0],
              "0x00000000000000000000000000000000000000000000000000000000656d6974"_hash);
    EXPECT_EQ(log->data, (ferry::crypto::Bytes{0x01, 0x02}));
    EXPECT_EQ(log->block_number, 3u);
    EXPECT_EQ(log->log_index, 1u);
    EXPECT_TRUE(log->removed);
    EXPECT_EQ(to_json(*log), literal);
}

TEST(rpc_json, decodes_recorded_geth_answers) {
    const json v = ferry::test::load_vectors("rpc_answers.json");

    const auto& dyn = v["receipt_dynamic_fee"];
    const auto receipt = receipt_from_json(dyn["answer"]);
    ASSERT_TRUE(receipt) << receipt.error().message();
    EXPECT_EQ(receipt->block_number, dyn["expected"]["block_number"].get<std::uint64_t>());
    EXPECT_EQ(receipt->gas_used, dyn["expected"]["gas_used"].get<std::uint64_t>());
    EXPECT_EQ(receipt->cumulative_gas_used,
              dyn["expected"]["cumulative_gas_used"].get<std::uint64_t>());
    EXPECT_EQ(receipt->effective_gas_price,
              U256::from_u64(dyn["expected"]["effective_gas_price"].get<std::uint64_t>()));
    EXPECT_EQ(receipt->tx_index, dyn["expected"]["tx_index"].get<std::uint64_t>());
    EXPECT_EQ(receipt->success, dyn["expected"]["success"].get<bool>());
    EXPECT_FALSE(receipt->contract_address);
    ASSERT_EQ(receipt->logs.size(), dyn["expected"]["log_count"].get<std::size_t>());
    EXPECT_EQ(receipt->logs[0].data.back(), dyn["expected"]["log_data_last_byte"].get<int>());
    expect_subset(to_json(*receipt), dyn["answer"]);

    const auto& created = v["receipt_contract_creation"];
    const auto creation = receipt_from_json(created["answer"]);
    ASSERT_TRUE(creation);
    EXPECT_FALSE(creation->to);
    ASSERT_TRUE(creation->contract_address);
    EXPECT_EQ(creation->contract_address->hex(),
              created["expected"]["contract_address"].get<std::string>());
    EXPECT_EQ(creation->gas_used, created["expected"]["gas_used"].get<std::uint64_t>());
    expect_subset(to_json(*creation), created["answer"]);

    const auto& b = v["block_london"];
    const auto header = block_header_from_json(b["answer"]);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->number, b["expected"]["number"].get<std::uint64_t>());
    EXPECT_EQ(header->timestamp, b["expected"]["timestamp"].get<std::uint64_t>());
    EXPECT_EQ(header->gas_limit, b["expected"]["gas_limit"].get<std::uint64_t>());
    EXPECT_EQ(header->gas_used, b["expected"]["gas_used"].get<std::uint64_t>());
    EXPECT_EQ(header->base_fee_per_gas,
              U256::from_u64(b["expected"]["base_fee_per_gas"].get<std::uint64_t>()));
    EXPECT_EQ(header->hash.hex(), b["answer"]["hash"].get<std::string>());
    expect_subset(to_json(*header), b["answer"]);

    const auto& l = v["logs_topic_exact_match"];
    const auto log = log_from_json(l["answer"][0]);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->block_number, l["expected"]["block_number"].get<std::uint64_t>());
    EXPECT_EQ(log->log_index, l["expected"]["log_index"].get<std::uint64_t>());
    EXPECT_EQ(log->data.back(), l["expected"]["data_last_byte"].get<int>());
    expect_subset(to_json(*log), l["answer"][0]);

    const auto& f = v["fee_history"];
    const auto history = fee_history_from_json(f["answer"]);
    ASSERT_TRUE(history);
    EXPECT_EQ(history->oldest_block, f["expected"]["oldest_block"].get<std::uint64_t>());
    ASSERT_EQ(history->base_fee_per_gas.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i)
        EXPECT_EQ(history->base_fee_per_gas[i],
                  U256::from_u64(f["expected"]["base_fee_per_gas"][i].get<std::uint64_t>()));
    EXPECT_EQ(history->gas_used_ratio, f["expected"]["gas_used_ratio"].get<std::vector<double>>());
    ASSERT_EQ(history->reward.size(), 1u);
    EXPECT_EQ(history->reward[0], (std::vector<U256>{U256::from_u64(1), U256::from_u64(1)}));
    EXPECT_EQ(to_json(*history), f["answer"]);
}

TEST(rpc_json, rejects_malformed_answers_with_precise_errors) {
    const json v = ferry::test::load_vectors("rpc_answers.json");
    json receipt = v["receipt_dynamic_fee"]["answer"];

    auto broken = receipt;
    broken.erase("status");
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_missing_field);
    broken = receipt;
    broken["gasUsed"] = 51868;
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_wrong_type);
    broken = receipt;
    broken["status"] = "0x2";
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_bad_quantity);
    broken = receipt;
    broken["from"] = "0x7435ed30a8b4aeb0877cef0c6e8cffe834eb86";  // 19 bytes
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_bad_data);
    broken = receipt;
    broken["logs"][0]["topics"][0] = "0x1234";
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_bad_data);
    broken = receipt;
    broken["logs"][0]["data"] = "0x123";
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_bad_data);
    broken = receipt;
    broken["logs"] = json::object();
    EXPECT_EQ(receipt_from_json(broken).error(), Error::json_wrong_type);
    EXPECT_EQ(receipt_from_json(json::array()).error(), Error::json_wrong_type);

    json fee = v["fee_history"]["answer"];
    fee["baseFeePerGas"].push_back("0x1");  // one more than gasUsedRatio + 1
    EXPECT_EQ(fee_history_from_json(fee).error(), Error::json_bad_data);
    fee = v["fee_history"]["answer"];
    fee["gasUsedRatio"][0] = "0.5";
    EXPECT_EQ(fee_history_from_json(fee).error(), Error::json_wrong_type);

    json block = v["block_london"]["answer"];
    block["hash"] = nullptr;  // a pending block has no hash
    EXPECT_EQ(block_header_from_json(block).error(), Error::json_missing_field);
}

TEST(rpc_json, request_objects_are_written_as_nodes_expect) {
    CallRequest call;
    call.from = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;
    call.to = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"_address;
    call.value = U256::from_u64(1);
    call.gas = 21000;
    EXPECT_EQ(to_json(call), R"({
        "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "to": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "data": "0x", "value": "0x1", "gas": "0x5208"})"_json);

    LogFilter filter;
    filter.from_block = 2;
    filter.to_block = 5;
    filter.addresses = {"0x7dcd17433742f4c0ca53122ab541d0ba67fc27df"_address};
    filter.topics = {{"0x00000000000000000000000000000000000000000000000000000000656d6974"_hash},
                     {}};
    EXPECT_EQ(to_json(filter), R"({
        "fromBlock": "0x2", "toBlock": "0x5",
        "address": "0x7dcd17433742f4c0ca53122ab541d0ba67fc27df",
        "topics": ["0x00000000000000000000000000000000000000000000000000000000656d6974", null]
    })"_json);

    EXPECT_EQ(to_json(BlockId{BlockTag::finalized}), json("finalized"));
    EXPECT_EQ(to_json(BlockId{BlockTag::safe}), json("safe"));
    EXPECT_EQ(to_json(BlockId{std::uint64_t{27}}), json("0x1b"));
}

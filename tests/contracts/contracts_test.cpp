// Proves the embedded bytecode and ABIs are the committed solc artifacts and declare docs/design.md
// §2.
#include "chains/evm/contracts.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ferry::chains::evm::abi_json;
using ferry::chains::evm::bytecode;
using ferry::chains::evm::Contract;
using ferry::chains::evm::contract_name;
using nlohmann::json;

constexpr std::array kContracts{Contract::outbox, Contract::inbox, Contract::test_recipient};

json read_artifact(std::string_view name) {
    std::ifstream in(std::string(FERRY_ARTIFACTS_DIR) + "/" + std::string(name) + ".json");
    EXPECT_TRUE(in) << "cannot open the artifact of " << name;
    return json::parse(in);
}

json embedded_abi(Contract contract) { return json::parse(abi_json(contract)); }

// "name(type1,type2)" from an ABI entry's inputs (none of Ferry's ABIs use tuples).
std::string signature(const json& entry) {
    std::string out = entry.value("name", "") + "(";
    const json& inputs = entry.at("inputs");
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (i > 0) out += ",";
        out += inputs[i].at("type").get<std::string>();
    }
    return out + ")";
}

std::optional<json> find_entry(const json& abi, std::string_view type, std::string_view sig) {
    for (const json& entry : abi) {
        if (entry.at("type") == type && signature(entry) == sig) return entry;
    }
    return std::nullopt;
}

std::vector<std::string> output_types(const json& entry) {
    std::vector<std::string> out;
    for (const json& o : entry.at("outputs")) out.push_back(o.at("type").get<std::string>());
    return out;
}

std::vector<bool> indexed_flags(const json& event) {
    std::vector<bool> out;
    for (const json& i : event.at("inputs")) out.push_back(i.at("indexed").get<bool>());
    return out;
}

void expect_function(const json& abi, std::string_view sig, std::vector<std::string> outputs,
                     std::string_view mutability) {
    const auto entry = find_entry(abi, "function", sig);
    ASSERT_TRUE(entry.has_value()) << "missing function " << sig;
    EXPECT_EQ(output_types(*entry), outputs) << sig;
    EXPECT_EQ(entry->at("stateMutability").get<std::string>(), mutability) << sig;
}

void expect_event(const json& abi, std::string_view sig, std::vector<bool> indexed) {
    const auto entry = find_entry(abi, "event", sig);
    ASSERT_TRUE(entry.has_value()) << "missing event " << sig;
    EXPECT_EQ(indexed_flags(*entry), indexed) << sig;
    EXPECT_FALSE(entry->at("anonymous").get<bool>()) << sig;
}

TEST(contracts, embedded_bytecode_is_the_committed_artifact) {
    for (const Contract contract : kContracts) {
        const json artifact = read_artifact(contract_name(contract));
        EXPECT_EQ(artifact.at("contractName").get<std::string>(), contract_name(contract));
        const std::string_view code = bytecode(contract);
        EXPECT_EQ(code, artifact.at("bytecode").get<std::string>()) << contract_name(contract);
        ASSERT_GT(code.size(), 2U);
        EXPECT_TRUE(code.starts_with("0x"));
        EXPECT_EQ(code.size() % 2, 0U);
        EXPECT_TRUE(std::all_of(code.begin() + 2, code.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        })) << contract_name(contract);
        // Every creation bytecode solc emits starts by setting the free memory pointer.
        EXPECT_TRUE(code.starts_with("0x6080604052") || code.starts_with("0x60a0604052"))
            << code.substr(0, 12);
    }
}

TEST(contracts, embedded_abi_is_the_committed_artifact) {
    for (const Contract contract : kContracts) {
        const json artifact = read_artifact(contract_name(contract));
        EXPECT_EQ(embedded_abi(contract), artifact.at("abi")) << contract_name(contract);
    }
}

TEST(contracts, contract_names_are_distinct) {
    std::set<std::string_view> names;
    for (const Contract contract : kContracts) names.insert(contract_name(contract));
    EXPECT_EQ(names, (std::set<std::string_view>{"Outbox", "Inbox", "TestRecipient"}));
}

TEST(contracts, outbox_abi_declares_the_design) {
    const json abi = embedded_abi(Contract::outbox);
    expect_function(abi, "send(uint64,bytes32,uint64,bytes)", {"bytes32"}, "nonpayable");
    expect_function(abi, "nextNonce(uint64)", {"uint64"}, "view");
    expect_function(abi, "maxBodyBytes()", {"uint256"}, "view");
    expect_event(abi, "PacketSent(bytes32,uint64,uint64,bytes)", {true, true, true, false});
    EXPECT_TRUE(find_entry(abi, "constructor", "(uint256)").has_value());
    EXPECT_TRUE(find_entry(abi, "error", "BodyTooLarge(uint256,uint256)").has_value());
}

TEST(contracts, inbox_abi_declares_the_design) {
    const json abi = embedded_abi(Contract::inbox);
    expect_function(abi, "configureSource(uint64,address,address[],uint8,bool)", {}, "nonpayable");
    expect_function(abi, "deliver(bytes,bytes)", {}, "nonpayable");
    expect_function(abi, "deliverBatch(bytes[],bytes[])", {}, "nonpayable");
    expect_function(abi, "retryFailed(bytes)", {}, "nonpayable");
    expect_function(abi, "delivered(bytes32)", {"bool"}, "view");
    expect_function(abi, "nextInboundNonce(uint64)", {"uint64"}, "view");
    expect_function(abi, "validatorSet(uint64)", {"address", "address[]", "uint8", "bool"}, "view");
    expect_function(abi, "handleGasLimit()", {"uint64"}, "view");
    expect_event(abi, "PacketDelivered(bytes32,uint64,uint64,bool)", {true, true, true, false});
    expect_event(abi, "PacketRejected(bytes32,string)", {true, false});
    EXPECT_TRUE(find_entry(abi, "constructor", "(uint64)").has_value());
}

TEST(contracts, inbox_abi_has_one_error_per_check) {
    const json abi = embedded_abi(Contract::inbox);
    // The checks of docs/design.md §2, in order; PacketRejected's reason is one of these names.
    for (const std::string_view sig :
         {"PacketTooShort()", "UnsupportedVersion()", "WrongDestination()", "UnknownSource()",
          "PacketExpired()", "BadSignatureCount()", "MalformedSignature()", "UnknownSigner()",
          "SignersNotAscending()", "AlreadyDelivered()", "NonceOutOfOrder()",
          "InsufficientGas()"}) {
        EXPECT_TRUE(find_entry(abi, "error", sig).has_value()) << "missing error " << sig;
    }
}

TEST(contracts, test_recipient_implements_ifferryrecipient) {
    const json abi = embedded_abi(Contract::test_recipient);
    expect_function(abi, "handle(uint64,bytes32,bytes)", {}, "nonpayable");
    expect_function(abi, "count()", {"uint64"}, "view");
    expect_function(abi, "lastSrcChainId()", {"uint64"}, "view");
    expect_function(abi, "lastSender()", {"bytes32"}, "view");
    expect_function(abi, "lastBody()", {"bytes"}, "view");
    expect_function(abi, "timesReceived(bytes32)", {"uint256"}, "view");
    expect_function(abi, "setShouldRevert(bool)", {}, "nonpayable");
}

}  // namespace

// Proves node error messages are classified transient or permanent, revert data is decoded and URLs
// are redacted.
#include "chains/evm/rpc_error.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ferry::chains::evm;
using Code = RpcError::Code;
using Kind = RpcError::Kind;

namespace {

// Solidity documentation (Control Structures, "revert"): the revert data of
// revert("Not enough Ether provided.") is Error(string) = 0x08c379a0 ‖ offset 0x20 ‖
// length 0x1a ‖ the 26 ASCII bytes, right-padded to 32.
constexpr std::string_view kNotEnoughEther =
    "0x08c379a0"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "000000000000000000000000000000000000000000000000000000000000001a"
    "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";

// Panic(uint256) with code 0x11 (arithmetic overflow), per the same documentation page.
constexpr std::string_view kPanicOverflow =
    "0x4e487b71"
    "0000000000000000000000000000000000000000000000000000000000000011";

}  // namespace

TEST(rpc_error, node_messages_map_to_codes_and_kinds) {
    struct Case {
        int code;
        const char* message;
        Code expected;
        Kind kind;
    };
    // Messages as geth, anvil and hosted providers write them.
    const Case cases[] = {
        {-32000, "nonce too low", Code::nonce_too_low, Kind::permanent},
        {-32003, "nonce too low: next nonce 5, tx nonce 4", Code::nonce_too_low, Kind::permanent},
        {-32000, "replacement transaction underpriced", Code::replacement_underpriced,
         Kind::permanent},
        {-32000, "insufficient funds for gas * price + value", Code::insufficient_funds,
         Kind::permanent},
        {-32000, "already known", Code::already_known, Kind::permanent},
        {-32000, "max fee per gas less than block base fee", Code::fee_too_low, Kind::permanent},
        {-32000, "intrinsic gas too low", Code::transaction_rejected, Kind::permanent},
        {-32000, "header not found", Code::header_not_found, Kind::transient},
        {-32000, "missing trie node 1234 (path )", Code::header_not_found, Kind::transient},
        {-32005, "query returned more than 10000 results", Code::log_range_too_large,
         Kind::permanent},
        {-32000, "block range too large", Code::log_range_too_large, Kind::permanent},
        {-32005, "daily request count exceeded, request rate limited", Code::rate_limited,
         Kind::transient},
        {-32601, "the method eth_foo does not exist/is not available", Code::method_not_found,
         Kind::transient},
        {-32602, "invalid argument 0: hex string has length 3", Code::invalid_request,
         Kind::permanent},
        {-32000, "invalid block range params", Code::invalid_request, Kind::permanent},
        {-32000, "something nobody has seen before", Code::node_error, Kind::transient},
    };
    for (const auto& c : cases) {
        const RpcError e = classify_json_rpc_error(c.code, c.message, std::nullopt, "http://n");
        EXPECT_EQ(e.code, c.expected) << c.message;
        EXPECT_EQ(e.kind, c.kind) << c.message;
        EXPECT_EQ(e.json_rpc_code, c.code) << c.message;
        EXPECT_EQ(e.message, c.message);
        EXPECT_EQ(e.endpoint, "http://n");
    }
}

TEST(rpc_error, revert_reasons_are_decoded_from_error_data) {
    const RpcError text = classify_json_rpc_error(
        3, "execution reverted: Not enough Ether provided.", kNotEnoughEther);
    EXPECT_EQ(text.code, Code::execution_reverted);
    EXPECT_EQ(text.kind, Kind::permanent);
    ASSERT_TRUE(text.revert_reason);
    EXPECT_EQ(*text.revert_reason, "Not enough Ether provided.");
    EXPECT_EQ(text.revert_data.size(), 100u);

    const RpcError panic = classify_json_rpc_error(3, "execution reverted", kPanicOverflow);
    ASSERT_TRUE(panic.revert_reason);
    EXPECT_NE(panic.revert_reason->find("panic 0x11"), std::string::npos) << *panic.revert_reason;

    const RpcError custom = classify_json_rpc_error(3, "execution reverted", "0x12345678");
    ASSERT_TRUE(custom.revert_reason);
    EXPECT_NE(custom.revert_reason->find("0x12345678"), std::string::npos);

    // No data: the reason some nodes put into the message is used.
    const RpcError no_data =
        classify_json_rpc_error(-32000, "execution reverted: not owner", std::nullopt);
    EXPECT_EQ(no_data.code, Code::execution_reverted);
    ASSERT_TRUE(no_data.revert_reason);
    EXPECT_EQ(*no_data.revert_reason, "not owner");

    // Truncated Error(string) payload: still a revert, the reason says it is undecodable.
    const RpcError truncated =
        classify_json_rpc_error(3, "execution reverted", kNotEnoughEther.substr(0, 80));
    EXPECT_EQ(truncated.code, Code::execution_reverted);
    ASSERT_TRUE(truncated.revert_reason);
    EXPECT_NE(truncated.revert_reason->find("undecodable"), std::string::npos);
}

TEST(rpc_error, urls_are_redacted) {
    const RpcError e =
        make_rpc_error(Code::timeout, "read timed out", redact_url("https://u:p@h/secret"));
    EXPECT_EQ(e.to_string().find("secret"), std::string::npos);
    EXPECT_EQ(e.to_string().find(":p@"), std::string::npos);
    EXPECT_EQ(e.to_string(), "https://h/...: timeout: read timed out");
}

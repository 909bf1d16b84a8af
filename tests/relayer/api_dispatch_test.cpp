// JSON-RPC request parsing of the API server (api/api_dispatch.hpp): bodies, batches and
// request objects are accepted or refused with the right code, message and id.
#include "api/api_dispatch.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ferry::api::kJsonRpcInvalidRequest;
using ferry::api::kJsonRpcParseError;
using ferry::api::parse_rpc_body;
using ferry::api::parse_rpc_request;
using nlohmann::json;

TEST(api_dispatch, body_single_and_batch) {
    const auto single = parse_rpc_body(R"({"jsonrpc":"2.0","id":1,"method":"m"})", 10);
    ASSERT_TRUE(single);
    EXPECT_FALSE(single->batch);
    EXPECT_EQ(single->document["method"], "m");

    const auto batch = parse_rpc_body(R"([{"a":1},{"b":2}])", 2);
    ASSERT_TRUE(batch);
    EXPECT_TRUE(batch->batch);
    EXPECT_EQ(batch->document.size(), 2U);
}

TEST(api_dispatch, body_errors) {
    const auto bad = parse_rpc_body("{\"jsonrpc\":", 10);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, kJsonRpcParseError);
    EXPECT_EQ(bad.error().message, "parse error: invalid JSON at byte 12");
    EXPECT_TRUE(bad.error().id.is_null());

    const auto deep = parse_rpc_body(std::string(129, '[') + std::string(129, ']'), 10);
    ASSERT_FALSE(deep);
    EXPECT_EQ(deep.error().code, kJsonRpcParseError);
    EXPECT_EQ(deep.error().message, "parse error: JSON nested deeper than 128 levels");
    // Brackets inside strings do not count.
    EXPECT_TRUE(parse_rpc_body("\"" + std::string(200, '[') + "\"", 10));

    const auto empty = parse_rpc_body("[]", 10);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, kJsonRpcInvalidRequest);
    EXPECT_EQ(empty.error().message, "invalid request: empty batch");

    const auto large = parse_rpc_body("[1,2,3]", 2);
    ASSERT_FALSE(large);
    EXPECT_EQ(large.error().message, "invalid request: batch of 3 calls exceeds the limit of 2");
}

TEST(api_dispatch, request_fields) {
    const json call = json::parse(R"({"jsonrpc":"2.0","id":"x","method":"m","params":[1]})");
    const auto r = parse_rpc_request(call);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, "m");
    EXPECT_TRUE(r->has_id);
    EXPECT_EQ(r->id, "x");
    EXPECT_EQ(*r->params, json::array({1}));

    const auto note = parse_rpc_request(json::parse(R"({"jsonrpc":"2.0","method":"n"})"));
    ASSERT_TRUE(note);
    EXPECT_FALSE(note->has_id);
    EXPECT_TRUE(note->id.is_null());
    EXPECT_TRUE(note->params->is_null());
}

TEST(api_dispatch, request_errors_echo_a_valid_id_only) {
    const auto check = [](const char* text, const json& id, const std::string& message) {
        const auto r = parse_rpc_request(json::parse(text));
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, kJsonRpcInvalidRequest) << text;
        EXPECT_EQ(r.error().id, id) << text;
        EXPECT_EQ(r.error().message, message) << text;
    };
    check("[1]", nullptr, "invalid request: expected an object");
    check(R"({"jsonrpc":"2.0","id":{},"method":"m"})", nullptr,
          "invalid request: \"id\" must be a string, a number or null");
    check(R"({"jsonrpc":"1.0","id":7,"method":"m"})", 7,
          "invalid request: \"jsonrpc\" must be \"2.0\"");
    check(R"({"jsonrpc":"2.0","id":7,"method":1})", 7,
          "invalid request: \"method\" must be a string");
    check(R"({"jsonrpc":"2.0","id":"a","method":"m","params":3})", "a",
          "invalid request: \"params\" must be an object or an array");
}

TEST(api_dispatch, error_response_shape) {
    const json e = ferry::api::rpc_error_response(-32601, "nope", nullptr, 5);
    EXPECT_EQ(e,
              json::parse(R"({"jsonrpc":"2.0","error":{"code":-32601,"message":"nope"},"id":5})"));
    const json d = ferry::api::rpc_error_response(-1, "m", json{{"k", 1}}, nullptr);
    EXPECT_EQ(d["error"]["data"]["k"], 1);
}

}  // namespace

// Proves the RPC client returns classified errors (never crashes) against a misbehaving server,
// falls back, demotes, batches and splits log ranges.
#include "chains/evm/rpc_client.hpp"
#include "chains/evm/json.hpp"
#include "crypto/hex.hpp"
#include "tests/support/http_test_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace ferry::chains::evm;
using namespace ferry::crypto::literals;
using namespace std::chrono_literals;
using ferry::test::HttpReply;
using ferry::test::HttpRequest;
using ferry::test::HttpTestServer;
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

RpcClientConfig fast_config(std::vector<std::string> urls) {
    RpcClientConfig c;
    c.endpoints = std::move(urls);
    c.http.connect_timeout = 300ms;
    c.http.request_timeout = 300ms;
    c.http.max_response_bytes = 1024 * 1024;
    c.demotion_cooldown = 60s;
    return c;
}

std::string result_for(const json& request, const json& result) {
    return json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", result}}.dump();
}

std::string error_for(const json& request, int code, const std::string& message,
                      const json& data = nullptr) {
    json err = {{"code", code}, {"message", message}};
    if (!data.is_null()) err["data"] = data;
    return json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"error", err}}.dump();
}

/// A server answering every call with `result`.
HttpTestServer::Handler always(json result) {
    return [result](const HttpRequest& r) {
        return HttpReply::json(result_for(json::parse(r.body), result));
    };
}

/// Replies from a list the test changes between requests ("$ID" becomes the request's id).
class Script {
public:
    void set(HttpReply reply) {
        std::lock_guard lock(mutex_);
        reply_ = std::move(reply);
    }
    HttpTestServer::Handler handler() {
        return [this](const HttpRequest& r) {
            std::lock_guard lock(mutex_);
            HttpReply out = reply_;
            const json req = json::parse(r.body, nullptr, false);
            const std::string id = req.is_object() ? req["id"].dump() : "0";
            for (auto at = out.body.find("$ID"); at != std::string::npos; at = out.body.find("$ID"))
                out.body.replace(at, 3, id);
            return out;
        };
    }

private:
    std::mutex mutex_;
    HttpReply reply_;
};

// revert("Not enough Ether provided.") per the Solidity documentation (Control Structures).
constexpr const char* kNotEnoughEther =
    "0x08c379a0"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "000000000000000000000000000000000000000000000000000000000000001a"
    "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000";

}  // namespace

TEST(rpc_client, typed_methods_send_the_right_requests_and_decode_answers) {
    std::mutex mutex;
    std::vector<json> seen;
    HttpTestServer server([&](const HttpRequest& r) {
        const json req = json::parse(r.body);
        {
            std::lock_guard lock(mutex);
            seen.push_back(req);
        }
        const std::string method = req["method"];
        if (method == "eth_chainId") return HttpReply::json(result_for(req, "0x1092"));
        if (method == "eth_blockNumber") return HttpReply::json(result_for(req, "0x1b"));
        if (method == "eth_getBalance")
            return HttpReply::json(result_for(req, "0x21e19e0c9bab2400000"));
        if (method == "eth_getTransactionCount") return HttpReply::json(result_for(req, "0x7"));
        if (method == "eth_estimateGas") return HttpReply::json(result_for(req, "0x5208"));
        if (method == "eth_call") return HttpReply::json(result_for(req, "0x00ff"));
        if (method == "eth_maxPriorityFeePerGas")
            return HttpReply::json(result_for(req, "0x3b9aca00"));
        if (method == "eth_getTransactionReceipt") return HttpReply::json(result_for(req, nullptr));
        // keccak256 of the empty string (a published constant).
        if (method == "eth_sendRawTransaction")
            return HttpReply::json(result_for(
                req, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"));
        return HttpReply::json(error_for(req, -32601, "method not found"));
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();

    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    EXPECT_EQ(run(ioc, client.block_number()).value(), 27u);
    const auto dev = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;
    const auto balance = run(ioc, client.get_balance(dev, BlockTag::finalized));
    ASSERT_TRUE(balance);
    EXPECT_EQ(*balance, *U256::from_be_bytes(std::vector<std::uint8_t>{
                            0x02, 0x1e, 0x19, 0xe0, 0xc9, 0xba, 0xb2, 0x40, 0x00, 0x00}));
    EXPECT_EQ(run(ioc, client.get_transaction_count(dev, BlockTag::pending)).value(), 7u);
    CallRequest transfer;
    transfer.from = dev;
    transfer.to = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"_address;
    transfer.value = U256::from_u64(1);
    EXPECT_EQ(run(ioc, client.estimate_gas(transfer)).value(), 21000u);
    EXPECT_EQ(run(ioc, client.call(transfer, std::uint64_t{27})).value(),
              (ferry::crypto::Bytes{0x00, 0xff}));
    EXPECT_EQ(run(ioc, client.max_priority_fee_per_gas()).value(), U256::from_u64(1'000'000'000));
    EXPECT_FALSE(run(ioc, client.get_transaction_receipt(ferry::crypto::Hash32{})).value());
    EXPECT_TRUE(run(ioc, client.send_raw_transaction({})));
    const auto unknown = run(ioc, client.request("eth_foo", json::array()));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, Code::method_not_found);

    std::lock_guard lock(mutex);
    ASSERT_EQ(seen.size(), 10u);
    EXPECT_EQ(seen[0]["jsonrpc"], "2.0");
    EXPECT_EQ(seen[0]["params"], json::array());
    EXPECT_EQ(seen[2]["params"],
              json::array({"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "finalized"}));
    EXPECT_EQ(seen[3]["params"][1], "pending");
    EXPECT_EQ(seen[4]["params"][0]["value"], "0x1");
    EXPECT_EQ(seen[5]["params"][1], "0x1b");
    // One keep-alive connection served everything.
    EXPECT_EQ(server.connections(), 1u);

    const auto& m = client.metrics();
    EXPECT_EQ(m.methods.at("eth_chainId").requests, 1u);
    EXPECT_EQ(m.methods.at("eth_chainId").errors, 0u);
    EXPECT_EQ(m.methods.at("eth_foo").errors, 1u);
}

TEST(rpc_client, misbehaving_server_yields_classified_errors) {
    Script script;
    HttpTestServer server(script.handler());
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    using A = HttpReply::Action;

    struct Case {
        const char* name;
        HttpReply reply;
        Code expected;
    };
    HttpReply chunked_huge = HttpReply::json(std::string(10 * 1024 * 1024, ' '));
    chunked_huge.chunked = true;
    const Case cases[] = {
        {"wrong JSON", HttpReply::json("{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":"),
         Code::malformed_response},
        {"wrong result type", HttpReply::json(R"({"jsonrpc":"2.0","id":$ID,"result":4242})"),
         Code::malformed_response},
        {"wrong id", HttpReply::json(R"({"jsonrpc":"2.0","id":999999,"result":"0x1"})"),
         Code::malformed_response},
        {"no result", HttpReply::json(R"({"jsonrpc":"2.0","id":$ID})"), Code::malformed_response},
        {"10 MiB body", HttpReply::json(std::string(10 * 1024 * 1024, ' ')),
         Code::response_too_large},
        {"10 MiB chunked body", chunked_huge, Code::response_too_large},
        {"hang", HttpReply::of(A::hang), Code::timeout},
        {"closed mid-response", HttpReply::of(A::close_mid_body, R"({"jsonrpc":"2.0","id":)"),
         Code::connection_failed},
        {"closed without answer", HttpReply::of(A::close), Code::connection_failed},
        {"429", HttpReply::json("slow down", 429), Code::rate_limited},
        {"503", HttpReply::json("", 503), Code::server_unavailable},
        {"403 without JSON", HttpReply::json("forbidden", 403), Code::http_error},
        {"nonce too low",
         HttpReply::json(
             R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"nonce too low"}})"),
         Code::nonce_too_low},
        {"header not found",
         HttpReply::json(
             R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"header not found"}})"),
         Code::header_not_found},
        {"error of the wrong shape", HttpReply::json(R"({"jsonrpc":"2.0","id":$ID,"error":"no"})"),
         Code::malformed_response},
    };
    for (const auto& c : cases) {
        script.set(c.reply);
        const auto r = run(ioc, client.chain_id());
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.error().code, c.expected) << c.name << ": " << r.error().to_string();
        EXPECT_EQ(r.error().kind, kind_of(c.expected)) << c.name;
        EXPECT_EQ(r.error().endpoint, server.url().substr(0, server.url().size() - 1)) << c.name;
    }
    // After all that, a good answer on the same client still works.
    script.set(HttpReply::json(R"({"jsonrpc":"2.0","id":$ID,"result":"0x1092"})"));
    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    EXPECT_EQ(client.metrics().malformed_responses, 5u);
}

TEST(rpc_client, revert_reason_comes_back_with_the_error) {
    HttpTestServer server([](const HttpRequest& r) {
        const json req = json::parse(r.body);
        return HttpReply::json(error_for(req, 3, "execution reverted", kNotEnoughEther));
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    CallRequest call;
    call.to = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"_address;
    const auto r = run(ioc, client.call(call));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::execution_reverted);
    EXPECT_EQ(r.error().kind, RpcError::Kind::permanent);
    EXPECT_EQ(r.error().json_rpc_code, 3);
    ASSERT_TRUE(r.error().revert_reason);
    EXPECT_EQ(*r.error().revert_reason, "Not enough Ether provided.");
}

TEST(rpc_client, garbage_for_every_method_is_an_error_not_a_crash) {
    Script script;
    HttpTestServer server(script.handler());
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();

    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    const std::vector<std::string> bodies = {
        "",
        "null",
        "[]",
        "42",
        deep,
        R"({"jsonrpc":"2.0","id":$ID,"result":42})",
        R"({"jsonrpc":"2.0","id":$ID,"result":true})",
        R"({"jsonrpc":"2.0","id":$ID,"result":"0xzz"})",
        R"({"jsonrpc":"2.0","id":$ID,"result":{"number":[]}})",
        R"({"jsonrpc":"2.0","id":$ID,"result":[{"address":7}]})",
        R"({"jsonrpc":"2.0","id":$ID,"error":{"code":"x","message":1}})",
        R"({"jsonrpc":"2.0","id":$ID,"result":"0x)" + std::string(81, 'f') + "\"}",
    };
    const auto dev = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;
    std::size_t calls = 0;
    const auto expect_error = [&](const auto& r, const std::string& body) {
        ++calls;
        ASSERT_FALSE(r) << body.substr(0, 80);
        EXPECT_EQ(r.error().code, Code::malformed_response) << body.substr(0, 80);
    };
    for (const auto& body : bodies) {
        script.set(HttpReply::json(body));
        expect_error(run(ioc, client.chain_id()), body);
        expect_error(run(ioc, client.block_number()), body);
        expect_error(run(ioc, client.get_block_by_number(BlockTag::latest)), body);
        expect_error(run(ioc, client.get_logs(LogFilter{1, 2, {}, {}})), body);
        expect_error(run(ioc, client.call(CallRequest{})), body);
        expect_error(run(ioc, client.estimate_gas(CallRequest{})), body);
        expect_error(run(ioc, client.fee_history(1, BlockTag::latest, {50.0})), body);
        expect_error(run(ioc, client.max_priority_fee_per_gas()), body);
        expect_error(run(ioc, client.get_transaction_count(dev)), body);
        expect_error(run(ioc, client.send_raw_transaction({0x02})), body);
        expect_error(run(ioc, client.get_transaction_receipt({})), body);
        expect_error(run(ioc, client.get_balance(dev)), body);
    }
    EXPECT_EQ(calls, bodies.size() * 12);
}

TEST(rpc_client, falls_back_to_the_second_endpoint_and_demotes_the_first) {
    HttpTestServer server(always("0x1092"));
    const std::string down = "http://127.0.0.1:" + std::to_string(ferry::test::unused_port()) + "/";
    boost::asio::io_context ioc;
    auto config = fast_config({down, server.url()});
    config.max_consecutive_failures = 2;
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    auto status = client.endpoints();
    EXPECT_EQ(status[0].failures, 1u);
    EXPECT_FALSE(status[0].demoted);  // one failure is below the threshold of two
    EXPECT_NE(status[0].last_error.find("connection_failed"), std::string::npos)
        << status[0].last_error;

    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    status = client.endpoints();
    EXPECT_TRUE(status[0].demoted);
    EXPECT_EQ(status[0].requests, 2u);
    EXPECT_FALSE(status[1].demoted);

    // Demoted: the next requests go straight to the healthy endpoint.
    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    EXPECT_EQ(client.endpoints()[0].requests, 2u);
    EXPECT_EQ(client.endpoints()[1].requests, 4u);
    EXPECT_EQ(client.metrics().fallbacks, 2u);
}

TEST(rpc_client, a_hanging_endpoint_falls_back_after_its_deadline) {
    HttpTestServer hanging(
        [](const HttpRequest&) { return HttpReply::of(HttpReply::Action::hang); });
    HttpTestServer good(always("0x1092"));
    boost::asio::io_context ioc;
    auto client =
        RpcClient::create(ioc.get_executor(), fast_config({hanging.url(), good.url()})).value();
    EXPECT_EQ(run(ioc, client.chain_id()).value(), 4242u);
    EXPECT_NE(client.endpoints()[0].last_error.find("timeout"), std::string::npos);
}

TEST(rpc_client, a_demoted_endpoint_is_retried_after_its_cool_down) {
    const std::string down = "http://127.0.0.1:" + std::to_string(ferry::test::unused_port()) + "/";
    HttpTestServer server(always("0x1092"));
    boost::asio::io_context ioc;
    auto config = fast_config({down, server.url()});
    config.max_consecutive_failures = 1;
    config.demotion_cooldown = 200ms;
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    EXPECT_TRUE(run(ioc, client.chain_id()));
    EXPECT_TRUE(client.endpoints()[0].demoted);
    EXPECT_TRUE(run(ioc, client.chain_id()));
    EXPECT_EQ(client.endpoints()[0].requests, 1u);
    std::this_thread::sleep_for(400ms);
    EXPECT_FALSE(client.endpoints()[0].demoted);
    EXPECT_TRUE(run(ioc, client.chain_id()));
    EXPECT_EQ(client.endpoints()[0].requests, 2u);  // tried again, failed again
    EXPECT_TRUE(client.endpoints()[0].demoted);
}

TEST(rpc_client, permanent_errors_do_not_fall_back) {
    HttpTestServer refusing([](const HttpRequest& r) {
        return HttpReply::json(error_for(json::parse(r.body), -32000, "nonce too low"));
    });
    HttpTestServer other(always("0x" + std::string(64, 'a')));
    boost::asio::io_context ioc;
    auto client =
        RpcClient::create(ioc.get_executor(), fast_config({refusing.url(), other.url()})).value();
    const auto r = run(ioc, client.send_raw_transaction({0x02, 0x01}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::nonce_too_low);
    EXPECT_EQ(other.requests(), 0u);
    EXPECT_EQ(client.endpoints()[0].consecutive_failures, 0u);  // a refusal is a working node
}

TEST(rpc_client, lagging_endpoint_is_demoted) {
    HttpTestServer behind(always("0x50"));  // 80
    HttpTestServer ahead(always("0x64"));   // 100
    boost::asio::io_context ioc;
    auto config = fast_config({behind.url(), ahead.url()});
    config.max_head_lag = 10;
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    run(ioc, client.refresh_heads());
    auto status = client.endpoints();
    EXPECT_EQ(status[0].head, 80u);
    EXPECT_EQ(status[1].head, 100u);
    EXPECT_TRUE(status[0].demoted);
    EXPECT_FALSE(status[1].demoted);

    const auto behind_before = behind.requests();
    EXPECT_EQ(run(ioc, client.block_number()).value(), 100u);
    EXPECT_EQ(behind.requests(), behind_before);  // the lagging one was not asked
}

TEST(rpc_client, batch_matches_out_of_order_answers_by_id) {
    HttpTestServer server([](const HttpRequest& r) {
        const json batch = json::parse(r.body);
        json answers = json::array();
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) {  // reversed
            const std::string method = (*it)["method"];
            if (method == "eth_chainId") answers.push_back(json::parse(result_for(*it, "0x1092")));
            if (method == "eth_blockNumber")
                answers.push_back(json::parse(result_for(*it, "0x1b")));
            if (method == "eth_sendRawTransaction")
                answers.push_back(json::parse(error_for(*it, -32000, "already known")));
            // eth_gasPrice: no answer at all
        }
        return HttpReply::json(answers.dump());
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    const auto results = run(ioc, client.batch({{"eth_chainId", json::array()},
                                                {"eth_blockNumber", json::array()},
                                                {"eth_sendRawTransaction", json::array({"0x02"})},
                                                {"eth_gasPrice", json::array()}}));
    ASSERT_TRUE(results) << results.error().to_string();
    ASSERT_EQ(results->size(), 4u);
    EXPECT_EQ((*results)[0].value(), "0x1092");
    EXPECT_EQ((*results)[1].value(), "0x1b");
    ASSERT_FALSE((*results)[2]);
    EXPECT_EQ((*results)[2].error().code, Code::already_known);
    ASSERT_FALSE((*results)[3]);
    EXPECT_EQ((*results)[3].error().code, Code::malformed_response);
    EXPECT_EQ(server.requests(), 1u);
    EXPECT_EQ(client.metrics().methods.at("batch").requests, 1u);
}

TEST(rpc_client, batch_with_duplicate_ids_is_malformed) {
    HttpTestServer server([](const HttpRequest& r) {
        const json batch = json::parse(r.body);
        json answers = json::array(
            {json::parse(result_for(batch[0], "0x1")), json::parse(result_for(batch[0], "0x2"))});
        return HttpReply::json(answers.dump());
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    const auto results = run(
        ioc, client.batch({{"eth_chainId", json::array()}, {"eth_blockNumber", json::array()}}));
    ASSERT_FALSE(results);
    EXPECT_EQ(results.error().code, Code::malformed_response);
}

TEST(rpc_client, get_logs_splits_ranges_the_node_refuses) {
    constexpr std::uint64_t kMaxSpan = 10;
    std::mutex mutex;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> asked;
    const auto address = "0x7dcd17433742f4c0ca53122ab541d0ba67fc27df"_address;
    HttpTestServer server([&](const HttpRequest& r) {
        const json req = json::parse(r.body);
        const auto from =
            parse_quantity_u64(req["params"][0]["fromBlock"].get<std::string>()).value();
        const auto to = parse_quantity_u64(req["params"][0]["toBlock"].get<std::string>()).value();
        {
            std::lock_guard lock(mutex);
            asked.emplace_back(from, to);
        }
        if (to - from + 1 > kMaxSpan) {
            const bool alt = from % 2 == 0;  // both phrasings nodes use
            return HttpReply::json(error_for(
                req, alt ? -32005 : -32000,
                alt ? "query returned more than 10000 results" : "block range too large"));
        }
        json logs = json::array();
        for (auto b = from; b <= to; ++b) {
            if (b % 3 == 0) continue;  // some blocks have no log
            logs.push_back({{"address", address.hex()},
                            {"topics", json::array()},
                            {"data", ferry::crypto::to_hex(
                                         ferry::crypto::Bytes{static_cast<std::uint8_t>(b)})},
                            {"blockNumber", to_quantity(b)},
                            {"blockHash", "0x" + std::string(64, '1')},
                            {"transactionHash", "0x" + std::string(64, '2')},
                            {"logIndex", "0x0"},
                            {"removed", false}});
        }
        return HttpReply::json(result_for(req, logs));
    });
    boost::asio::io_context ioc;
    auto config = fast_config({server.url()});
    config.max_logs_block_range = 0;  // start with the whole range
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    const auto logs = run(ioc, client.get_logs(LogFilter{0, 99, {address}, {}}));
    ASSERT_TRUE(logs) << logs.error().to_string();
    std::vector<std::uint64_t> expected_blocks;
    for (std::uint64_t b = 0; b <= 99; ++b)
        if (b % 3 != 0) expected_blocks.push_back(b);
    ASSERT_EQ(logs->size(), expected_blocks.size());
    for (std::size_t i = 0; i < logs->size(); ++i) {
        EXPECT_EQ((*logs)[i].block_number, expected_blocks[i]);
        ASSERT_EQ((*logs)[i].data.size(), 1u);
        EXPECT_EQ((*logs)[i].data[0], expected_blocks[i]);
    }
    EXPECT_GT(client.metrics().log_range_splits, 0u);
    // The accepted ranges tile 0..99 exactly, in order.
    std::uint64_t next = 0;
    for (const auto& [from, to] : asked) {
        if (to - from + 1 > kMaxSpan) continue;
        EXPECT_EQ(from, next);
        next = to + 1;
    }
    EXPECT_EQ(next, 100u);
}

TEST(rpc_client, get_logs_gives_up_when_one_block_is_too_large) {
    HttpTestServer server([](const HttpRequest& r) {
        return HttpReply::json(
            error_for(json::parse(r.body), -32005, "query returned more than 10000 results"));
    });
    boost::asio::io_context ioc;
    auto config = fast_config({server.url()});
    config.max_logs_block_range = 0;
    auto client = RpcClient::create(ioc.get_executor(), config).value();
    const auto logs = run(ioc, client.get_logs(LogFilter{0, 1023, {}, {}}));
    ASSERT_FALSE(logs);
    EXPECT_EQ(logs.error().code, Code::log_range_too_large);
    EXPECT_EQ(server.requests(), 11u);  // 1024, 512, ..., 1 blocks
}

TEST(rpc_client, get_logs_rejects_logs_outside_the_range) {
    HttpTestServer server([](const HttpRequest& r) {
        const json log = {{"address", "0x" + std::string(40, '7')},
                          {"topics", json::array()},
                          {"data", "0x"},
                          {"blockNumber", "0x64"},  // 100, outside 1..2
                          {"blockHash", "0x" + std::string(64, '1')},
                          {"transactionHash", "0x" + std::string(64, '2')},
                          {"logIndex", "0x0"}};
        return HttpReply::json(result_for(json::parse(r.body), json::array({log})));
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    const auto logs = run(ioc, client.get_logs(LogFilter{1, 2, {}, {}}));
    ASSERT_FALSE(logs);
    EXPECT_EQ(logs.error().code, Code::malformed_response);
    EXPECT_EQ(run(ioc, client.get_logs(LogFilter{3, 2, {}, {}})).error().code,
              Code::invalid_argument);
}

TEST(rpc_client, a_connection_closed_while_idle_is_replaced) {
    std::atomic<int> n{0};
    HttpTestServer server([&](const HttpRequest& r) {
        HttpReply reply = HttpReply::json(result_for(json::parse(r.body), "0x1092"));
        reply.close_after = n++ == 0;  // promises keep-alive, then closes
        return reply;
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    EXPECT_TRUE(run(ioc, client.chain_id()));
    std::this_thread::sleep_for(50ms);  // let the close reach us
    EXPECT_TRUE(run(ioc, client.chain_id()));
    EXPECT_EQ(server.connections(), 2u);
    EXPECT_EQ(client.metrics().methods.at("eth_chainId").errors, 0u);
}

TEST(rpc_client, answers_must_match_what_was_asked) {
    HttpTestServer server([](const HttpRequest& r) {
        const json req = json::parse(r.body);
        const std::string method = req["method"];
        if (method == "eth_sendRawTransaction")
            return HttpReply::json(result_for(req, "0x" + std::string(64, 'a')));
        json block = {{"number", "0x5"},
                      {"hash", "0x" + std::string(64, '1')},
                      {"parentHash", "0x" + std::string(64, '2')},
                      {"timestamp", "0x1"},
                      {"gasLimit", "0x1"},
                      {"gasUsed", "0x0"}};
        return HttpReply::json(result_for(req, block));
    });
    boost::asio::io_context ioc;
    auto client = RpcClient::create(ioc.get_executor(), fast_config({server.url()})).value();
    EXPECT_EQ(run(ioc, client.send_raw_transaction({})).error().code, Code::malformed_response);
    EXPECT_EQ(run(ioc, client.get_block_by_number(std::uint64_t{6})).error().code,
              Code::malformed_response);
    const auto five = run(ioc, client.get_block_by_number(std::uint64_t{5}));
    ASSERT_TRUE(five);
    ASSERT_TRUE(*five);
    EXPECT_EQ((*five)->number, 5u);
}

TEST(rpc_client, bad_configuration_is_rejected) {
    boost::asio::io_context ioc;
    EXPECT_EQ(RpcClient::create(ioc.get_executor(), {}).error().code, Code::invalid_argument);
    EXPECT_EQ(RpcClient::create(ioc.get_executor(), fast_config({"ftp://x"})).error().code,
              Code::invalid_argument);
    EXPECT_EQ(RpcClient::create(ioc.get_executor(), fast_config({"http://:80"})).error().code,
              Code::invalid_argument);
    EXPECT_EQ(RpcClient::create(ioc.get_executor(), fast_config({"http://h:99999"})).error().code,
              Code::invalid_argument);
    const auto e = RpcClient::create(ioc.get_executor(), fast_config({"ws://user:pw@h/KEY"}));
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message.find("pw"), std::string::npos);
    EXPECT_EQ(e.error().message.find("KEY"), std::string::npos);
}

TEST(rpc_client, endpoint_url_parts) {
    const auto u = parse_endpoint_url("https://user:p%40ss@[::1]:8545/v3/key?x=1#frag");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, "8545");
    EXPECT_EQ(u->target, "/v3/key?x=1");
    EXPECT_EQ(u->basic_auth, "dXNlcjpwQHNz");  // base64("user:p@ss"), computed with coreutils
    EXPECT_EQ(u->redacted, "https://[::1]:8545/...");
    const auto plain = parse_endpoint_url("http://127.0.0.1");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->port, "80");
    EXPECT_EQ(plain->target, "/");
}

TEST(rpc_client, basic_auth_from_the_url_is_sent) {
    std::mutex mutex;
    std::string authorization;
    HttpTestServer server([&](const HttpRequest& r) {
        std::lock_guard lock(mutex);
        authorization = r.authorization;
        return HttpReply::json(result_for(json::parse(r.body), "0x1"));
    });
    boost::asio::io_context ioc;
    const std::string url = "http://alice:secret@127.0.0.1:" + std::to_string(server.port()) + "/";
    auto client = RpcClient::create(ioc.get_executor(), fast_config({url})).value();
    EXPECT_TRUE(run(ioc, client.chain_id()));
    std::lock_guard lock(mutex);
    EXPECT_EQ(authorization, "Basic YWxpY2U6c2VjcmV0");  // base64("alice:secret")
    EXPECT_EQ(client.endpoints()[0].name.find("secret"), std::string::npos);
}

namespace {

/// A node of chain `chain_id`: eth_chainId answers it, every other method answers `result`.
/// `close_each` closes the connection after every answer but the chain id's (each request on a
/// new connection).
HttpTestServer::Handler node_of(const std::atomic<std::uint64_t>& chain_id, json result,
                                bool close_each = false) {
    return [&chain_id, result, close_each](const HttpRequest& r) {
        const json req = json::parse(r.body);
        const json answer =
            req["method"] == "eth_chainId" ? json(to_quantity(chain_id.load())) : result;
        HttpReply reply = HttpReply::json(result_for(req, answer));
        reply.close_after = close_each && req["method"] != "eth_chainId";
        return reply;
    };
}

}  // namespace

// Issue: the chain's identity was checked once at start; a relayer ran over 30 s against a chain
// with id 4303 while configured for 4302 and /health said ok.
TEST(rpc_client, an_endpoint_of_another_chain_is_refused_and_its_answers_never_used) {
    const std::atomic<std::uint64_t> other{4303};
    const std::atomic<std::uint64_t> right{4302};
    HttpTestServer wrong(node_of(other, "0x3e7"));  // block 999 of another chain
    HttpTestServer good(node_of(right, "0x5"));
    boost::asio::io_context ioc;
    auto config = fast_config({wrong.url(), good.url()});
    config.expected_chain_id = 4302;
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    EXPECT_EQ(run(ioc, client.block_number()).value(), 5u);
    auto status = client.endpoints();
    EXPECT_TRUE(status[0].wrong_chain);
    EXPECT_TRUE(status[0].demoted);  // at once, not after three failures
    EXPECT_NE(status[0].last_error.find("serves chain id 4303, the config says 4302"),
              std::string::npos)
        << status[0].last_error;
    EXPECT_FALSE(status[1].wrong_chain);
    // The wrong endpoint was asked its chain id only, never the block number.
    EXPECT_EQ(wrong.requests(), 1u);
    EXPECT_EQ(run(ioc, client.block_number()).value(), 5u);
    EXPECT_EQ(wrong.requests(), 1u);  // demoted: not asked while a good one answers
    // Each connection to the good endpoint was checked once, then reused.
    EXPECT_EQ(good.connections(), 1u);
    EXPECT_EQ(good.requests(), 3u);
}

TEST(rpc_client, every_new_connection_is_checked_again) {
    std::atomic<std::uint64_t> served{4302};
    HttpTestServer server(node_of(served, "0x7", true));
    boost::asio::io_context ioc;
    auto config = fast_config({server.url()});
    config.expected_chain_id = 4302;
    auto client = RpcClient::create(ioc.get_executor(), config).value();

    EXPECT_EQ(run(ioc, client.block_number()).value(), 7u);
    served = 4303;  // the endpoint now fronts another chain (a redeployed or swapped node)
    std::this_thread::sleep_for(50ms);  // let the close reach us
    auto r = run(ioc, client.block_number());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::wrong_chain);
    EXPECT_TRUE(r.error().transient());
    EXPECT_TRUE(client.endpoints()[0].wrong_chain);
    EXPECT_EQ(server.requests(), 3u);  // check, block number, check: the answer after it unused

    served = 4302;
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(run(ioc, client.block_number()).value(), 7u);
    EXPECT_FALSE(client.endpoints()[0].wrong_chain);
}

TEST(rpc_client, a_garbled_chain_id_check_refuses_the_connection) {
    HttpTestServer server([](const HttpRequest&) { return HttpReply::json("{\"nope\":"); });
    boost::asio::io_context ioc;
    auto config = fast_config({server.url()});
    config.expected_chain_id = 1;
    auto client = RpcClient::create(ioc.get_executor(), config).value();
    auto r = run(ioc, client.block_number());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::malformed_response);
    EXPECT_FALSE(client.endpoints()[0].wrong_chain);
    EXPECT_EQ(server.requests(), 1u);
}

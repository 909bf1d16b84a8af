// EvmChain over the JSON-RPC client against a scripted node: the Inbox views ask the contract
// they were given, even when the caller's arguments are gone before the request is made.
#include "chains/evm/evm_chain.hpp"

#include "chains/evm/rpc_client.hpp"
#include "tests/support/http_test_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ferry::test {
namespace {

using chains::evm::EvmChain;
using chains::evm::RpcClient;
using chains::evm::RpcClientConfig;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::string_view kInboxHex = "0x1111111111111111111111111111111111111111";

/// Writes over the stack below the caller, where the frame of a returned function was.
[[gnu::noinline]] void clobber_stack() {
    volatile unsigned char junk[8192];
    for (auto& b : junk) b = 0xAA;
}

/// Starts the view and returns its awaitable: the address it was given lived in this frame.
[[gnu::noinline]] chains::Task<chains::ViewResult<bool>> start_delivered_view(EvmChain& chain) {
    const auto inbox = crypto::Address::from_hex(kInboxHex).value();
    return chain.delivered(inbox, crypto::PacketId{});
}

TEST(evm_chain, a_view_calls_the_contract_it_was_given_after_the_caller_returned) {
    std::mutex mutex;
    std::vector<std::string> called;
    HttpTestServer node([&](const HttpRequest& request) {
        const auto body = json::parse(request.body);
        {
            std::lock_guard lock(mutex);
            called.push_back(body["params"][0].value("to", std::string()));
        }
        const std::string yes = "0x" + std::string(63, '0') + "1";
        return HttpReply::json(
            json{{"jsonrpc", "2.0"}, {"id", body["id"]}, {"result", yes}}.dump());
    });
    boost::asio::io_context io;
    RpcClientConfig config;
    config.endpoints = {node.url()};
    config.http.connect_timeout = 2s;
    config.http.request_timeout = 2s;
    auto rpc = RpcClient::create(io.get_executor(), std::move(config));
    ASSERT_TRUE(rpc);
    EvmChain chain(*rpc);

    auto view = start_delivered_view(chain);
    clobber_stack();
    auto future = boost::asio::co_spawn(io, std::move(view), boost::asio::use_future);
    io.run();
    const auto answer = future.get();

    ASSERT_TRUE(answer);
    ASSERT_TRUE(*answer);
    EXPECT_TRUE(**answer);
    std::lock_guard lock(mutex);
    ASSERT_EQ(called.size(), 1u);
    EXPECT_EQ(called[0], kInboxHex);
}

}  // namespace
}  // namespace ferry::test

// Proves AnvilNode starts a real anvil on a loopback port it learns from anvil's output, with the
// chain id and block time asked for, and stops it; and that bad start-ups fail with a reason.
#include "devnet/process.hpp"
#include "tests/support/anvil.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/rpc_client.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using ferry::devnet::AnvilNode;
using ferry::devnet::AnvilOptions;
using ferry::test::quantity_u64;
using ferry::test::RpcClient;

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

bool answers(const std::string& url) {
    try {
        RpcClient rpc(url, 1s);
        rpc.call("eth_chainId");
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

TEST(anvil_node, starts_on_the_port_it_reports_with_the_chain_id_and_stops) {
    AnvilOptions options;
    options.anvil = FERRY_ANVIL;
    options.chain_id = 4399;
    auto node = AnvilNode::start(options);
    ASSERT_TRUE(node) << node.error().message;
    EXPECT_GT(node->port(), 0);
    EXPECT_EQ(node->url(), "http://127.0.0.1:" + std::to_string(node->port()));
    EXPECT_EQ(node->chain_id(), 4399u);

    RpcClient rpc(node->url(), 5s);
    EXPECT_EQ(quantity_u64(rpc.call("eth_chainId")), 4399u);
    // Automine: no block until a transaction comes.
    EXPECT_EQ(quantity_u64(rpc.call("eth_blockNumber")), 0u);
    EXPECT_NE(node->output().find("Listening on 127.0.0.1:" + std::to_string(node->port())),
              std::string::npos);

    const auto pid = node->process().pid();
    const auto log = node->log_file();
    ASSERT_TRUE(std::filesystem::exists(log)) << "a temporary log file";
    EXPECT_TRUE(node->process().peak_rss_bytes().has_value());

    node->stop();
    EXPECT_FALSE(alive(pid));
    EXPECT_FALSE(answers(node->url()));
    EXPECT_FALSE(std::filesystem::exists(log)) << "stop() removes the temporary log";
    node->stop();  // idempotent
}

TEST(anvil_node, mines_at_the_block_time_and_keeps_a_given_log_file) {
    const auto log = std::filesystem::temp_directory_path() /
                     ("ferry-anvil-node-test-" + std::to_string(::getpid()) + "-" +
                      std::to_string(std::random_device{}()) + ".log");
    pid_t pid = -1;
    {
        AnvilOptions options;
        options.anvil = FERRY_ANVIL;
        options.chain_id = 4398;
        options.block_time_s = 0.25;
        options.log_file = log;
        options.name = "anvil test";
        auto node = AnvilNode::start(options);
        ASSERT_TRUE(node) << node.error().message;
        pid = node->process().pid();
        RpcClient rpc(node->url(), 5s);
        const auto first = quantity_u64(rpc.call("eth_blockNumber"));
        std::this_thread::sleep_for(1500ms);
        const auto later = quantity_u64(rpc.call("eth_blockNumber"));
        EXPECT_GE(later, first + 3) << "0.25 s blocks: about 6 in 1.5 s";
        EXPECT_LE(later, first + 12);
    }  // the destructor stops it
    EXPECT_FALSE(alive(pid));
    ASSERT_TRUE(std::filesystem::exists(log)) << "a caller's log file stays";
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("Listening on 127.0.0.1:"), std::string::npos);
    std::filesystem::remove(log);
}

TEST(anvil_node, a_missing_executable_is_an_error_naming_it) {
    AnvilOptions options;
    options.anvil = "/nonexistent/anvil-binary";
    auto node = AnvilNode::start(options);
    ASSERT_FALSE(node);
    EXPECT_NE(node.error().message.find("/nonexistent/anvil-binary"), std::string::npos)
        << node.error().message;
}

TEST(anvil_node, a_program_that_never_listens_times_out_with_its_output) {
    // /bin/sh given anvil's arguments fails at once ("--host" is no shell option).
    AnvilOptions options;
    options.anvil = "/bin/sh";
    options.start_timeout = 5s;
    auto node = AnvilNode::start(options);
    ASSERT_FALSE(node);
    EXPECT_NE(node.error().message.find("starting anvil (chain 31337) failed"), std::string::npos)
        << node.error().message;
    EXPECT_NE(node.error().message.find("exited"), std::string::npos) << node.error().message;
}

TEST(anvil_node, a_bad_block_time_is_refused) {
    AnvilOptions options;
    options.anvil = FERRY_ANVIL;
    options.block_time_s = -1;
    auto node = AnvilNode::start(options);
    ASSERT_FALSE(node);
    EXPECT_NE(node.error().message.find("block time"), std::string::npos) << node.error().message;
}

TEST(anvil_process, the_test_wrapper_still_works) {
    std::string url;
    {
        ferry::test::AnvilProcess anvil({.chain_id = 4397, .block_time = std::nullopt});
        url = anvil.url();
        EXPECT_EQ(url, "http://127.0.0.1:" + std::to_string(anvil.port()));
        EXPECT_EQ(anvil.chain_id(), 4397u);
        ferry::test::ChainClient chain(url);
        EXPECT_EQ(ferry::crypto::to_u64(chain.chain_id()), 4397u);
        EXPECT_NE(anvil.output().find("Listening on"), std::string::npos);
        anvil.stop();
        EXPECT_EQ(anvil.output(), "");
        EXPECT_FALSE(answers(url));
    }
}

}  // namespace

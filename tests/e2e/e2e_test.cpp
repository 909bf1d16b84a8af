// The pipeline end to end: two anvil chains with 1 s blocks, three validators per
// source chain (2-of-3) and the relayer, each a real `ferry start` process; packets sent with
// the real Outbox and checked on the destination chains: delivered exactly once, in nonce
// order, each body seen once by the recipient, every receipt recorded in the relayer's queue.
#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "crypto/keccak.hpp"
#include "devnet/devnet.hpp"
#include "relayer/config.hpp"
#include "storage/sqlite_queue.hpp"
#include "tests/e2e/devnet_fixture.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/rpc_client.hpp"
#include "tests/support/work_dir.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

namespace fs = std::filesystem;
namespace evm = ferry::chains::evm;
using namespace ferry;
using devnet::Devnet;
using devnet::DevnetOptions;
using devnet::SentPacket;

namespace {

using test::devnet_options;
using test::send;

class e2e : public test::DevnetTest {};

}  // namespace

TEST_F(e2e, five_hundred_packets_each_way_arrive_once_in_order) {
    Devnet& net = start(devnet_options("bulk"));
    auto sent = send(net, "alpha", 500, "bulk a");
    auto back = send(net, "beta", 500, "bulk b");
    sent.insert(sent.end(), back.begin(), back.end());
    const auto outcome = wait(sent, std::chrono::seconds(180));
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of " << sent.size();
    // Give the relayer a moment to record the last receipts, then stop it cleanly.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const auto s = status();
    EXPECT_EQ(s["counters"]["packets_delivered"].get<std::uint64_t>(), 1000u) << s.dump();
    auto exit = net.kill_relayer(SIGTERM);
    ASSERT_TRUE(exit);
    const auto flags = expect_delivered_once(sent);
    for (const auto& [id, ok] : flags) EXPECT_TRUE(ok);
    expect_queue_delivered(sent);
}

TEST_F(e2e, relayer_killed_with_sigkill_mid_stream_still_delivers_each_once) {
    Devnet& net = start(devnet_options("kill"));
    std::mt19937 rng(20261124);
    std::uniform_int_distribution<int> pause_ms(300, 2500);
    std::vector<SentPacket> sent;
    for (int round = 0; round < 6; ++round) {
        auto a = send(net, "alpha", 40, "kill a" + std::to_string(round));
        auto b = send(net, "beta", 40, "kill b" + std::to_string(round));
        sent.insert(sent.end(), a.begin(), a.end());
        sent.insert(sent.end(), b.begin(), b.end());
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
        if (round < 5) {
            ASSERT_TRUE(net.kill_relayer(SIGKILL));
            ASSERT_TRUE(net.start_relayer()) << "restart " << round;
        }
    }
    const auto outcome = wait(sent, std::chrono::seconds(120));
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of " << sent.size();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    ASSERT_TRUE(net.kill_relayer(SIGTERM));
    expect_delivered_once(sent);
    expect_queue_delivered(sent);
}

TEST_F(e2e, one_validator_down_delivery_goes_on_two_down_packets_wait) {
    Devnet& net = start(devnet_options("validators"));
    ASSERT_TRUE(net.stop_validator(3, SIGTERM));
    auto first = send(net, "alpha", 10, "one down");
    auto outcome = wait(first, std::chrono::seconds(60));
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of " << first.size();

    ASSERT_TRUE(net.stop_validator(2, SIGTERM));
    auto second = send(net, "alpha", 5, "two down");
    auto none = wait(second, std::chrono::seconds(6));
    EXPECT_EQ(none.delivered, 0u);
    const auto s = status();
    bool explained = false;
    for (const auto& r : s["routes"]) {
        if (r["route"] != "alpha->beta") continue;
        EXPECT_EQ(r["counts"].value("observed", 0u), 5u) << s.dump();
        const auto why = r["waiting"].get<std::string>();
        explained = why.find("fewer than 2") != std::string::npos &&
                    why.find("unreachable") != std::string::npos;
        EXPECT_TRUE(explained) << why;
    }
    EXPECT_TRUE(explained) << s.dump();

    ASSERT_TRUE(net.start_validator(2));
    outcome = wait(second, std::chrono::seconds(60));
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of " << second.size();
    first.insert(first.end(), second.begin(), second.end());
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ASSERT_TRUE(net.kill_relayer(SIGTERM));
    expect_delivered_once(first);
    expect_queue_delivered(first);
}

TEST_F(e2e, a_reverting_recipient_is_delivered_with_success_false) {
    Devnet& net = start(devnet_options("revert"));
    const auto* beta = net.chain("beta").value();
    test::ChainClient client(beta->rpc_url);
    const auto owner = test::dev_account(0);
    const auto data = evm::AbiEncoder().add_bool(true).encode_call(
        evm::function_selector("setShouldRevert(bool)"));
    ASSERT_TRUE(client.send(owner, beta->recipient, data).success);
    auto sent = send(net, "alpha", 3, "refused");
    const auto outcome = wait(sent, std::chrono::seconds(60));
    ASSERT_TRUE(outcome.complete());
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ASSERT_TRUE(net.kill_relayer(SIGTERM));
    auto config = relayer::load_config(net.relayer_config_path());
    ASSERT_TRUE(config);
    auto q = storage::SqliteQueue::open(config->database.string());
    ASSERT_TRUE(q);
    for (const auto& p : sent) {
        auto rec = (*q)->packet(p.id);
        ASSERT_TRUE(rec && rec->has_value());
        EXPECT_EQ((*rec)->state, storage::PacketState::delivered);
        ASSERT_TRUE((*rec)->delivered_success.has_value());
        EXPECT_FALSE(*(*rec)->delivered_success);
    }
}

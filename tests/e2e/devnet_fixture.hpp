// The fixture of the end-to-end tests: a devnet of real `ferry start` processes on anvil
// (devnet/devnet.hpp) per test, with helpers to wait for delivery, read the relayer's status
// and check on the destination chains that every packet arrived exactly once.
#pragma once

#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "crypto/keccak.hpp"
#include "devnet/devnet.hpp"
#include "relayer/config.hpp"
#include "storage/sqlite_queue.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/rpc_client.hpp"
#include "tests/support/work_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ferry::test {

namespace evm = chains::evm;
using devnet::Devnet;
using devnet::DevnetOptions;
using devnet::SentPacket;

inline nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return nlohmann::json::parse(in);
}

inline void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
    std::ofstream out(path, std::ios::trunc);
    out << j.dump(2) << '\n';
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// The entry of chain `name` in a node config's "chains".
inline nlohmann::json& chain_entry(nlohmann::json& config, std::string_view name) {
    for (auto& c : config["chains"])
        if (c["name"] == name) return c;
    throw std::runtime_error("no chain " + std::string(name) + " in the config");
}

inline DevnetOptions devnet_options(const std::string& name) {
    DevnetOptions o;
    o.work_dir = make_work_dir("ferry-e2e-" + name);
    o.anvil = FERRY_ANVIL;
    o.ferry_binary = FERRY_BINARY;
    return o;
}

class DevnetTest : public ::testing::Test {
protected:
    void TearDown() override {
        if (net_) finish_devnet(*net_, HasFailure());
    }

    Devnet& start(DevnetOptions o, bool everything = true) {
        net_ = std::make_unique<Devnet>(std::move(o));
        if (everything) {
            auto r = net_->start();
            if (!r) throw std::runtime_error(r.error().message);
        }
        return *net_;
    }

    devnet::WaitOutcome wait(std::span<const SentPacket> sent, std::chrono::seconds timeout) {
        devnet::WaitOptions w;
        w.timeout = timeout;
        auto r = net_->wait_delivered(sent, w);
        if (!r) throw std::runtime_error(r.error().message);
        return *r;
    }

    /// start_chains, deploy and write_configs, for tests that edit the configs before starting.
    Devnet& prepare(DevnetOptions o) {
        Devnet& net = start(std::move(o), false);
        net.start_chains().value();
        net.deploy().value();
        net.write_configs().value();
        return net;
    }

    void start_nodes(std::initializer_list<std::size_t> validators) {
        for (auto i : validators) net_->start_validator(i).value();
        net_->start_relayer().value();
    }

    nlohmann::json status() {
        RpcClient api(net_->relayer_api_url());
        return api.call("ferry_status", nlohmann::json::object());
    }

    std::uint64_t counter(const nlohmann::json& s, const std::string& name) {
        return s["counters"].value(name, std::uint64_t{0});
    }

    /// Polls the relayer's status until `pred` holds or `timeout` passes; the last status.
    nlohmann::json wait_status(const std::function<bool(const nlohmann::json&)>& pred,
                               std::chrono::seconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        nlohmann::json s = status();
        while (!pred(s) && std::chrono::steady_clock::now() < end) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            s = status();
        }
        return s;
    }

    /// Every packet of `sent` delivered exactly once on its destination, in nonce order per
    /// route, its body handled once by the recipient; returns the PacketDelivered success flags.
    std::map<crypto::PacketId, bool> expect_delivered_once(std::span<const SentPacket> sent) {
        std::map<crypto::PacketId, bool> success;
        std::map<std::string, std::vector<const SentPacket*>> by_dst;
        for (const auto& p : sent) by_dst[p.to].push_back(&p);
        for (const auto& [dst, packets] : by_dst) {
            const auto* chain = net_->chain(dst).value();
            ChainClient client(chain->rpc_url);
            const auto head = quantity_u64(client.rpc().call("eth_blockNumber"));
            const auto logs = client.get_logs(chain->inbox, evm::packet_delivered_topic(), 0, head);
            std::map<crypto::PacketId, int> times;
            std::map<std::uint64_t, std::uint64_t> last_nonce;  // per source chain
            for (const auto& log : logs) {
                auto e = evm::decode_packet_delivered(log);
                EXPECT_TRUE(e) << e.error().message();
                if (!e) continue;
                ++times[e->id];
                success[e->id] = e->success;
                auto& last = last_nonce[crypto::to_u64(e->src_chain)];
                EXPECT_EQ(crypto::to_u64(e->nonce), last + 1) << "delivered out of nonce order";
                last = crypto::to_u64(e->nonce);
            }
            for (const auto* p : packets) {
                EXPECT_EQ(times[p->id], 1) << p->route() << " nonce " << p->nonce;
                const auto body_hash = crypto::keccak256(p->body);
                const auto data = evm::AbiEncoder().add_bytes32(body_hash).encode_call(
                    evm::function_selector("timesReceived(bytes32)"));
                const auto out = client.call(chain->recipient, data);
                auto n = evm::AbiDecoder(out).read_uint(64);
                EXPECT_TRUE(n);
                if (n) {
                    EXPECT_EQ(*n, 1u) << "body of " << p->route() << " nonce " << p->nonce;
                }
            }
        }
        return success;
    }

    /// After the relayer stopped: its queue has each packet delivered with a receipt.
    void expect_queue_delivered(std::span<const SentPacket> sent) {
        auto config = relayer::load_config(net_->relayer_config_path());
        ASSERT_TRUE(config);
        auto q = storage::SqliteQueue::open(config->database.string());
        ASSERT_TRUE(q);
        for (const auto& p : sent) {
            auto rec = (*q)->packet(p.id);
            ASSERT_TRUE(rec && rec->has_value()) << p.route() << " nonce " << p.nonce;
            EXPECT_EQ((*rec)->state, storage::PacketState::delivered)
                << p.route() << " nonce " << p.nonce << ": " << (*rec)->last_error;
        }
    }

    std::unique_ptr<Devnet> net_;
};

inline std::vector<SentPacket> send(Devnet& net, std::string_view from, std::size_t n,
                                    std::string_view prefix) {
    auto r = net.send_packets(from, n, prefix);
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
}

}  // namespace ferry::test

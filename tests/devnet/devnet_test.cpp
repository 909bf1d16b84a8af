// Proves the Devnet harness builds a real two-chain network (contracts deployed and configured,
// node configs the loader accepts, no keys in files), sends and tracks real packets, and starts,
// signals and stops node processes with their keys in the environment only.
#include "devnet/devnet.hpp"
#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "crypto/hex.hpp"
#include "relayer/config.hpp"
#include "tests/support/ferry_chain.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace evm = ferry::chains::evm;
using namespace std::chrono_literals;
using ferry::crypto::Address;
using ferry::crypto::Bytes;
using ferry::crypto::ChainId;
using ferry::crypto::to_u64;
using ferry::devnet::Devnet;
using ferry::devnet::DevnetChain;
using ferry::devnet::DevnetOptions;
using ferry::devnet::SentPacket;
using ferry::devnet::WaitOptions;
using nlohmann::json;

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

/// State letter of /proc/<pid>/stat ('S' sleeping, 'T' stopped, ...).
char proc_state(pid_t pid) {
    const auto text = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() ? text[close + 2] : '?';
}

struct ValidatorSetView {
    Address outbox;
    std::vector<Address> validators;
    std::uint64_t threshold = 0;
    bool ordered = false;
};

/// Inbox.validatorSet(src), decoded here rather than with the product's decoder.
ValidatorSetView validator_set(ferry::test::ChainClient& chain, const Address& inbox,
                               std::uint64_t src) {
    const auto data =
        evm::AbiEncoder().add_uint(src).encode_call(evm::function_selector("validatorSet(uint64)"));
    const auto answer = chain.call(inbox, data);
    evm::AbiDecoder decoder(answer);
    ValidatorSetView view;
    view.outbox = decoder.read_address().value();
    view.validators = decoder.read_address_array().value();
    view.threshold = decoder.read_uint(8).value();
    view.ordered = decoder.read_bool().value();
    return view;
}

std::uint64_t nonce_call(ferry::test::ChainClient& chain, const Address& contract,
                         const Bytes& calldata) {
    return to_u64(evm::decode_nonce_result(chain.call(contract, calldata)).value());
}

class DevnetTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("ferry-devnet-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::random_device{}()));
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    DevnetOptions options() const {
        DevnetOptions o;
        o.work_dir = dir_;
        o.anvil = FERRY_ANVIL;
        o.ferry_binary = FERRY_BINARY;
        o.block_time_s = 0;  // automine: fast deployments
        o.start_timeout = 30s;
        o.stop_grace = 3s;
        return o;
    }

    /// A stand-in for `ferry start -c CONFIG`: prints what it got (key lengths, never keys) and
    /// the listening line with the config's port, then sleeps.
    std::filesystem::path fake_ferry(const std::string& extra = "") const {
        const auto path = dir_ / "fake-ferry.sh";
        std::ofstream out(path);
        out << "#!/bin/sh\n"
               "config=\"$3\"\n"
               "echo \"args: $*\"\n"
               "[ -n \"$FERRY_VALIDATOR_KEY\" ] && echo \"validator key: ${#FERRY_VALIDATOR_KEY} "
               "chars\"\n"
               "[ -n \"$FERRY_RELAYER_KEY\" ] && echo \"relayer key: ${#FERRY_RELAYER_KEY} "
               "chars\"\n"
            << extra
            << "port=$(sed -n 's/.*\"listen\": \"127.0.0.1:\\([0-9]*\\)\".*/\\1/p' \"$config\")\n"
               "echo \"ferry: listening on 127.0.0.1:$port\"\n"
               "exec sleep 600\n";
        out.close();
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        return path;
    }

    std::filesystem::path dir_;
};

TEST_F(DevnetTest, deploys_configures_both_inboxes_and_writes_node_configs) {
    Devnet net(options());
    ASSERT_TRUE(net.start_chains()) << "start_chains";
    ASSERT_EQ(net.chains().size(), 2u);
    ASSERT_TRUE(net.deploy());
    ASSERT_TRUE(net.write_configs());

    const auto& alpha = net.chains()[0];
    const auto& beta = net.chains()[1];
    EXPECT_EQ(alpha.name, "alpha");
    EXPECT_EQ(to_u64(alpha.chain_id), 4301u);
    EXPECT_EQ(beta.name, "beta");
    EXPECT_EQ(to_u64(beta.chain_id), 4302u);
    EXPECT_EQ(net.peer_of("alpha"), "beta");
    EXPECT_EQ(net.peer_of("beta"), "alpha");
    EXPECT_FALSE(net.chain("gamma"));

    std::vector<Address> validators;
    for (std::size_t account = 2; account <= 4; ++account)
        validators.push_back(ferry::test::dev_account(account).address);

    for (const DevnetChain* c : {&alpha, &beta}) {
        SCOPED_TRACE(c->name);
        const auto& peer = c == &alpha ? beta : alpha;
        ferry::test::ChainClient chain(c->rpc_url);
        EXPECT_EQ(chain.chain_id(), c->chain_id);
        for (const auto& address : {c->outbox, c->inbox, c->recipient}) {
            const auto code = chain.rpc().call("eth_getCode", {address.hex(), "latest"});
            EXPECT_GT(code.get<std::string>().size(), 2u) << address.hex() << " has no code";
        }
        EXPECT_NE(c->outbox, c->inbox);
        EXPECT_NE(c->inbox, c->recipient);
        EXPECT_GE(c->deploy_block, 1u);

        const auto set = validator_set(chain, c->inbox, to_u64(peer.chain_id));
        EXPECT_EQ(set.outbox, peer.outbox);
        EXPECT_EQ(set.validators, validators);
        EXPECT_EQ(set.threshold, 2u);
        EXPECT_TRUE(set.ordered);
        EXPECT_EQ(validator_set(chain, c->inbox, 999).outbox, Address{}) << "only the peer";
        EXPECT_EQ(
            nonce_call(chain, c->inbox, evm::inbox_next_inbound_nonce_calldata(peer.chain_id)), 1u);
        EXPECT_EQ(nonce_call(chain, c->outbox, evm::outbox_next_nonce_calldata(peer.chain_id)), 1u);
    }

    // relayer.json: both routes, both validator sets at the validators' ports, key by env name.
    ASSERT_TRUE(std::filesystem::exists(net.relayer_config_path()));
    const auto relayer = json::parse(read_text(net.relayer_config_path()));
    EXPECT_EQ(relayer.at("database"), "relayer.db");
    EXPECT_EQ(relayer.at("relayer").at("key"), (json{{"env", "FERRY_RELAYER_KEY"}}));
    EXPECT_FALSE(relayer.contains("validator"));
    ASSERT_EQ(relayer.at("chains").size(), 2u);
    for (std::size_t c = 0; c < 2; ++c) {
        const auto& chain = relayer.at("chains")[c];
        EXPECT_EQ(chain.at("name"), net.chains()[c].name);
        EXPECT_EQ(chain.at("chain_id"), to_u64(net.chains()[c].chain_id));
        EXPECT_EQ(chain.at("rpc"), json::array({net.chains()[c].rpc_url}));
        EXPECT_EQ(chain.at("outbox"), net.chains()[c].outbox.hex());
        EXPECT_EQ(chain.at("inbox"), net.chains()[c].inbox.hex());
        EXPECT_EQ(chain.at("confirmations"), 1);
        EXPECT_EQ(chain.at("poll_interval_ms"), 200);
    }
    EXPECT_EQ(relayer.at("routes"),
              json::parse(R"([{"from":"alpha","to":"beta","ordered":true,"batch_size":50},
                               {"from":"beta","to":"alpha","ordered":true,"batch_size":50}])"));
    ASSERT_EQ(relayer.at("validator_sets").size(), 2u);
    std::set<std::string> urls;
    for (const auto& set : relayer.at("validator_sets")) {
        const std::string source = set.at("source");
        EXPECT_EQ(set.at("threshold"), 2);
        ASSERT_EQ(set.at("validators").size(), 3u);
        for (std::size_t i = 1; i <= 3; ++i) {
            const auto& v = set.at("validators")[i - 1];
            EXPECT_EQ(v.at("address"), validators[i - 1].hex());
            EXPECT_EQ(v.at("url"), net.validator_api_url(i, source).value());
            urls.insert(v.at("url").get<std::string>());

            // The validator's own config listens on exactly that URL's port.
            const auto path = net.validator_config_path(i, source);
            ASSERT_TRUE(std::filesystem::exists(path)) << path;
            const auto node = json::parse(read_text(path));
            EXPECT_EQ("http://" + node.at("api").at("listen").get<std::string>(), v.at("url"));
            EXPECT_EQ(node.at("validator").at("chain"), source);
            EXPECT_EQ(node.at("validator").at("key"), (json{{"env", "FERRY_VALIDATOR_KEY"}}));
            EXPECT_EQ(node.at("database"), "validator-" + std::to_string(i) + "-" + source + ".db");
            ASSERT_EQ(node.at("chains").size(), 1u);
            EXPECT_EQ(node.at("chains")[0].at("name"), source);
            EXPECT_EQ(node.at("chains")[0].at("outbox"), net.chain(source).value()->outbox.hex());
            EXPECT_FALSE(node.contains("routes"));
        }
    }
    EXPECT_EQ(urls.size(), 6u) << "every validator node has its own port";

    // Every config passes the node's own loader (docs/config.md), and no file holds a key.
    std::vector<std::filesystem::path> configs = {net.relayer_config_path()};
    for (std::size_t i = 1; i <= 3; ++i)
        for (const auto* chain : {"alpha", "beta"})
            configs.push_back(net.validator_config_path(i, chain));
    for (const auto& path : configs) {
        auto loaded = ferry::relayer::load_config(path);
        ASSERT_TRUE(loaded) << loaded.error().to_string(path.string());
        const auto database = json::parse(read_text(path)).at("database").get<std::string>();
        EXPECT_EQ(loaded->database, path.parent_path() / database);
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        if (entry.path().extension() != ".json") continue;
        const auto text = read_text(entry.path());
        for (std::size_t account = 0; account < ferry::devnet::kDevAccountCount; ++account) {
            const auto key = ferry::devnet::dev_account(account).key.reveal_hex().substr(2);
            EXPECT_EQ(text.find(key), std::string::npos)
                << entry.path() << " holds dev key #" << account;
        }
    }

    // The ports stay fixed when the configs are written again.
    const auto before = net.validator_api_url(2, "beta").value();
    ASSERT_TRUE(net.write_configs());
    EXPECT_EQ(net.validator_api_url(2, "beta").value(), before);
}

TEST_F(DevnetTest, sends_packets_fast_and_tracks_their_delivery) {
    Devnet net(options());
    ASSERT_TRUE(net.start_chains());
    ASSERT_TRUE(net.deploy());
    const auto& alpha = *net.chain("alpha").value();
    const auto& beta = *net.chain("beta").value();

    auto sent = net.send_packets("alpha", 12, "demo");
    ASSERT_TRUE(sent) << sent.error().message;
    ASSERT_EQ(sent->size(), 12u);
    const auto deployer = ferry::devnet::dev_account(ferry::devnet::kDeployerAccount).address;
    std::set<ferry::crypto::PacketId> ids;
    for (std::size_t k = 0; k < sent->size(); ++k) {
        const auto& p = (*sent)[k];
        SCOPED_TRACE(k);
        EXPECT_EQ(p.nonce, k + 1);
        EXPECT_EQ(p.from, "alpha");
        EXPECT_EQ(p.to, "beta");
        EXPECT_EQ(p.route(), "alpha->beta");
        EXPECT_EQ(p.src, alpha.chain_id);
        EXPECT_EQ(p.dst, beta.chain_id);
        const std::string body = "demo #" + std::to_string(k + 1);
        EXPECT_EQ(p.body, Bytes(body.begin(), body.end()));
        EXPECT_GT(p.block, alpha.deploy_block);
        // The id is the keccak of the packet the protocol defines (docs/design.md §2).
        evm::Packet packet;
        packet.nonce = ferry::crypto::Nonce{p.nonce};
        packet.src_chain = alpha.chain_id;
        packet.sender = evm::address_to_bytes32(deployer);
        packet.dst_chain = beta.chain_id;
        packet.recipient = evm::address_to_bytes32(beta.recipient);
        packet.expiry = 0;
        packet.body = p.body;
        EXPECT_EQ(p.id, evm::packet_id(evm::encode(packet)));
        ids.insert(p.id);
    }
    EXPECT_EQ(ids.size(), 12u);
    ferry::test::ChainClient alpha_chain(alpha.rpc_url);
    EXPECT_EQ(nonce_call(alpha_chain, alpha.outbox, evm::outbox_next_nonce_calldata(beta.chain_id)),
              13u);

    // The other direction has its own nonces.
    auto back = net.send_packets("beta", 2, "back");
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[0].nonce, 1u);
    EXPECT_EQ((*back)[0].route(), "beta->alpha");

    // Nothing relays them: not delivered, and the wait says so.
    EXPECT_FALSE(net.delivered("beta", sent->front().id).value());
    WaitOptions short_wait;
    short_wait.timeout = 300ms;
    int callbacks = 0;
    short_wait.on_delivered = [&](const SentPacket&, std::chrono::duration<double>) {
        ++callbacks;
    };
    auto none = net.wait_delivered(*sent, short_wait);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_EQ(none->delivered, 0u);
    EXPECT_FALSE(none->complete());
    EXPECT_FALSE(none->interrupted);
    ASSERT_EQ(none->latency.size(), 12u);
    EXPECT_FALSE(none->latency[0].has_value());
    EXPECT_EQ(callbacks, 0);

    // Deliver the first packet by hand (2 of the 3 validators sign) and watch the wait see it.
    ferry::test::ChainClient beta_chain(beta.rpc_url);
    const auto& first = sent->front();
    evm::Packet packet;
    packet.nonce = ferry::crypto::Nonce{first.nonce};
    packet.src_chain = alpha.chain_id;
    packet.sender = evm::address_to_bytes32(deployer);
    packet.dst_chain = beta.chain_id;
    packet.recipient = evm::address_to_bytes32(beta.recipient);
    packet.body = first.body;
    const std::vector<ferry::test::DevAccount> signers = {ferry::test::dev_account(2),
                                                          ferry::test::dev_account(4)};
    const auto bundle =
        ferry::test::signature_bundle(alpha.chain_id, alpha.outbox, first.id, signers);
    const auto receipt = beta_chain.send(ferry::test::dev_account(1), beta.inbox,
                                         evm::inbox_deliver_calldata(evm::encode(packet), bundle));
    ASSERT_TRUE(receipt.success);
    EXPECT_TRUE(net.delivered("beta", first.id).value());
    EXPECT_FALSE(net.delivered("alpha", first.id).value()) << "asked on the wrong chain";

    std::vector<std::string> seen;
    WaitOptions wait;
    wait.timeout = 10s;
    wait.on_delivered = [&](const SentPacket& p, std::chrono::duration<double> latency) {
        seen.push_back(p.id.hex());
        EXPECT_GT(latency.count(), 0.0);
    };
    auto one = net.wait_delivered(std::span<const SentPacket>(sent->data(), 1), wait);
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_TRUE(one->complete());
    EXPECT_EQ(one->delivered, 1u);
    ASSERT_TRUE(one->latency[0].has_value());
    EXPECT_EQ(seen, std::vector<std::string>{first.id.hex()});

    // An interrupted wait ends at once.
    WaitOptions stop;
    stop.timeout = 60s;
    stop.interrupted = [] { return true; };
    const auto start = std::chrono::steady_clock::now();
    auto cut = net.wait_delivered(*sent, stop);
    ASSERT_TRUE(cut);
    EXPECT_TRUE(cut->interrupted);
    EXPECT_EQ(cut->delivered, 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(DevnetTest, starts_signals_and_stops_nodes_with_keys_only_in_their_environment) {
    std::filesystem::create_directories(dir_);
    auto o = options();
    o.ferry_binary = fake_ferry();
    Devnet net(o);
    ASSERT_TRUE(net.start_chains());
    EXPECT_FALSE(net.start_validator(1)) << "no configs yet";
    ASSERT_TRUE(net.deploy());
    ASSERT_TRUE(net.write_configs());

    const auto r = net.start_validator(1);
    ASSERT_TRUE(r) << r.error().message;
    const auto key = ferry::devnet::dev_account(2).key.reveal_hex();
    for (const auto* chain : {"alpha", "beta"}) {
        SCOPED_TRACE(chain);
        const std::string name = std::string("validator-1-") + chain;
        auto* node = net.process(name);
        ASSERT_NE(node, nullptr);
        ASSERT_TRUE(node->running());
        const auto log = read_text(net.log_path(name));
        EXPECT_NE(log.find("args: start -c " + net.validator_config_path(1, chain).string()),
                  std::string::npos)
            << log;
        EXPECT_NE(log.find("validator key: 66 chars"), std::string::npos) << log;
        EXPECT_EQ(log.find("relayer key"), std::string::npos) << log;
        EXPECT_EQ(log.find(key.substr(2)), std::string::npos);
        const auto cmdline = read_text("/proc/" + std::to_string(node->pid()) + "/cmdline");
        EXPECT_EQ(cmdline.find(key.substr(2)), std::string::npos);
        const auto environ = read_text("/proc/" + std::to_string(node->pid()) + "/environ");
        EXPECT_NE(environ.find("FERRY_VALIDATOR_KEY=" + key + '\0'), std::string::npos);
    }
    EXPECT_FALSE(net.start_validator(1)) << "already running";
    EXPECT_FALSE(net.start_validator(4)) << "only 3 validators";

    // SIGSTOP / SIGCONT only pause and resume.
    ASSERT_TRUE(net.start_validator(2));
    const auto paused = net.process("validator-2-beta")->pid();
    ASSERT_TRUE(net.stop_validator(2, SIGSTOP));
    for (int i = 0; i < 100 && proc_state(paused) != 'T'; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(proc_state(paused), 'T');
    ASSERT_TRUE(net.stop_validator(2, SIGCONT));
    for (int i = 0; i < 100 && proc_state(paused) == 'T'; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_NE(proc_state(paused), 'T');

    // Stopping waits until the processes are gone.
    const auto v1 = net.process("validator-1-alpha")->pid();
    ASSERT_TRUE(net.stop_validator(1, SIGTERM));
    EXPECT_FALSE(alive(v1));
    EXPECT_EQ(net.process("validator-1-alpha"), nullptr);
    EXPECT_FALSE(net.stop_validator(1)) << "not running any more";
    ASSERT_TRUE(net.start_validator(1)) << "restarts on the same port";

    // The relayer: its URL is the one in relayer.json; a kill is reported.
    EXPECT_EQ(net.relayer_api_url(), "");
    ASSERT_TRUE(net.start_relayer());
    const auto relayer = json::parse(read_text(net.relayer_config_path()));
    EXPECT_EQ(net.relayer_api_url(), "http://" + relayer.at("api").at("listen").get<std::string>());
    const auto relayer_log = read_text(net.log_path("relayer"));
    EXPECT_NE(relayer_log.find("relayer key: 66 chars"), std::string::npos) << relayer_log;
    EXPECT_EQ(relayer_log.find("validator key"), std::string::npos) << relayer_log;
    const auto killed = net.kill_relayer(SIGKILL);
    ASSERT_TRUE(killed);
    EXPECT_EQ(killed->signal, SIGKILL);
    EXPECT_EQ(net.relayer_api_url(), "");
    EXPECT_FALSE(net.kill_relayer(SIGKILL)) << "not running";

    // A node that dies on its own is reported once.
    const auto victim = net.process("validator-2-alpha")->pid();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    std::vector<std::string> exited;
    for (int i = 0; i < 200 && exited.empty(); ++i) {
        exited = net.exited_nodes();
        if (exited.empty()) std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(exited.size(), 1u);
    EXPECT_NE(exited[0].find("validator-2-alpha (killed by signal 9 (SIGKILL))"), std::string::npos)
        << exited[0];
    EXPECT_TRUE(net.exited_nodes().empty());

    // stop_all stops every node and both chains.
    std::vector<pid_t> pids;
    for (const auto* name : {"validator-1-alpha", "validator-1-beta", "validator-2-beta",
                             "anvil-alpha", "anvil-beta"}) {
        ASSERT_NE(net.process(name), nullptr) << name;
        pids.push_back(net.process(name)->pid());
    }
    net.stop_all();
    for (const auto pid : pids) EXPECT_FALSE(alive(pid)) << pid;
    EXPECT_EQ(net.process("anvil-alpha"), nullptr);
}

TEST_F(DevnetTest, a_node_that_fails_to_start_is_reported_with_its_output) {
    std::filesystem::create_directories(dir_);
    auto o = options();
    o.ferry_binary = fake_ferry("echo 'config: chains[0].rpc: bad' >&2; exit 1\n");
    Devnet net(o);
    ASSERT_TRUE(net.start_chains());
    ASSERT_TRUE(net.deploy());
    ASSERT_TRUE(net.write_configs());
    auto r = net.start_relayer();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("relayer exited (exit code 1)"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("chains[0].rpc: bad"), std::string::npos) << r.error().message;
    EXPECT_EQ(net.relayer_api_url(), "");
    auto v = net.start_validator(3);
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message.find("validator-3-alpha exited"), std::string::npos)
        << v.error().message;
    EXPECT_EQ(net.process("validator-3-beta"), nullptr) << "the other half is stopped too";
}

TEST_F(DevnetTest, bad_options_are_refused_before_anything_starts) {
    auto o = options();
    o.threshold = 4;
    Devnet too_high(o);
    auto r = too_high.start_chains();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("threshold"), std::string::npos) << r.error().message;
    EXPECT_TRUE(too_high.chains()[0].rpc_url.empty());

    o = options();
    o.validators = 9;
    Devnet too_many(o);
    EXPECT_FALSE(too_many.start_chains());

    o = options();
    o.anvil = "/nonexistent/anvil";
    Devnet no_anvil(o);
    auto missing = no_anvil.start_chains();
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent/anvil"), std::string::npos);

    Devnet fresh(options());
    EXPECT_FALSE(fresh.deploy()) << "no chains yet";
    EXPECT_FALSE(fresh.send_packets("alpha", 1, "x")) << "no contracts yet";
}

TEST(devnet_command, help_describes_it_and_bad_usage_exits_2) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ferry-devnet-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto run = [&](std::vector<std::string> args) {
        ferry::devnet::SpawnOptions spawn;
        spawn.executable = FERRY_BINARY;
        spawn.args = std::move(args);
        spawn.log_file = dir / "out.log";
        auto child = ferry::devnet::ChildProcess::spawn(spawn).value();
        const auto status = child.wait_for(30s);
        EXPECT_TRUE(status.has_value());
        return std::make_pair(status.value_or(ferry::devnet::ExitStatus{}), child.output());
    };
    const auto [help_status, help] = run({"devnet", "--help"});
    EXPECT_TRUE(help_status.success()) << help;
    for (const auto* option : {"--anvil", "--work-dir", "--packets", "--once", "--block-time",
                               "--keep", "Ctrl-C", "FERRY_RELAYER_KEY"})
        EXPECT_NE(help.find(option), std::string::npos) << option << " in\n" << help;

    const auto [bad_status, bad] = run({"devnet", "--validators", "3", "--threshold", "4"});
    EXPECT_EQ(bad_status.code, 2) << bad;
    EXPECT_NE(bad.find("--threshold 4"), std::string::npos) << bad;

    const auto [missing_status, missing] =
        run({"devnet", "--anvil", "/nonexistent/anvil", "--work-dir", (dir / "w").string()});
    EXPECT_EQ(missing_status.code, 1) << missing;
    EXPECT_NE(missing.find("[1/6] starting chains alpha (4301) and beta (4302)"), std::string::npos)
        << missing;
    EXPECT_NE(missing.find("/nonexistent/anvil"), std::string::npos) << missing;
    std::filesystem::remove_all(dir);
}

}  // namespace

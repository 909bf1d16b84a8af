// Proves the real `ferry deploy` and `ferry send` work on anvil and fail cleanly on bad input.
#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"
#include "crypto/keystore.hpp"
#include "tests/support/anvil.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/run_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace evm = ferry::chains::evm;
using ferry::crypto::Address;
using ferry::crypto::Bytes;
using ferry::crypto::Hash32;
using ferry::test::AnvilProcess;
using ferry::test::ChainClient;
using ferry::test::dev_account;
using ferry::test::RunResult;

// What anvil's dev account 0 creates with its first two transactions: CREATE addresses
// keccak(rlp([sender, nonce]))[12:] for nonce 0 and 1, as anvil and every Foundry tutorial show.
constexpr std::string_view kFirstCreate = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
constexpr std::string_view kSecondCreate = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
constexpr std::uint64_t kSrcChain = 41001;
constexpr std::uint64_t kDstChain = 41002;
constexpr auto kProcessTimeout = std::chrono::seconds(90);

/// Runs the ferry binary with `args` and extra environment entries ("NAME=value"), capturing
/// stdout and stderr; kills it after kProcessTimeout.
RunResult run_ferry(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {}) {
    ferry::test::RunOptions options;
    options.env = extra_env;
    options.timeout = kProcessTimeout;
    return ferry::test::run_process(FERRY_BINARY, args, options);
}

std::string dump(const RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" +
           r.err;
}

/// The dev key as it sits in the environment, and the same hex without "0x", which must never
/// appear in any output.
std::string key_hex(std::size_t account) { return dev_account(account).key.reveal_hex(); }

void expect_no_key(const RunResult& r, std::size_t account = 0) {
    const std::string bare = key_hex(account).substr(2);
    EXPECT_EQ(r.out.find(bare), std::string::npos) << "key printed on stdout";
    EXPECT_EQ(r.err.find(bare), std::string::npos) << "key printed on stderr";
}

std::string temp_path(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return (std::filesystem::temp_directory_path() /
            ("ferry_cli_" + std::to_string(getpid()) + "_" + info->name() + "_" + name))
        .string();
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
}

Address address_of(const nlohmann::json& j) {
    return Address::from_hex(j.get<std::string>()).value();
}

bool has_code(ChainClient& chain, const Address& address, const std::string& block) {
    const auto code = chain.rpc().call("eth_getCode", {address.hex(), block});
    return code.get<std::string>().size() > 2;
}

std::string quantity(std::uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

/// A loopback port nothing listens on: bound once to learn a free one, then closed.
std::uint16_t closed_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("bind failed");
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

/// "srcChainId:outbox:v1,v2,v3:threshold:mode" for the dev accounts given.
std::string source_arg(const Address& outbox, const std::vector<std::size_t>& validators,
                       unsigned threshold, bool ordered) {
    std::string s = std::to_string(kSrcChain) + ":" + outbox.hex() + ":";
    for (std::size_t i = 0; i < validators.size(); ++i)
        s += (i ? "," : "") + dev_account(validators[i]).address.hex();
    return s + ":" + std::to_string(threshold) + ":" + (ordered ? "ordered" : "unordered");
}

std::vector<std::string> deploy_args(const std::string& url, const std::string& out) {
    return {"deploy", "--rpc", url, "--key-env", "FERRY_TEST_KEY", "--out", out};
}

std::vector<std::string> key_env(std::size_t account = 0) {
    return {"FERRY_TEST_KEY=" + key_hex(account)};
}

}  // namespace

TEST(cli_deploy, deploys_both_contracts_and_configures_the_source) {
    AnvilProcess anvil;
    ChainClient chain(anvil.url());
    const Address src_outbox = dev_account(7).address;  // any non-zero address will do
    const std::string out = temp_path("deployment.json");
    auto args = deploy_args(anvil.url(), out);
    args.insert(args.end(), {"--source", source_arg(src_outbox, {1, 2, 3}, 2, true)});
    const auto r = run_ferry(args, key_env());
    ASSERT_EQ(r.exit_code, 0) << dump(r);
    expect_no_key(r);
    EXPECT_NE(r.out.find("[1/3] deploying Outbox ... " + std::string(kFirstCreate)),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("[2/3] deploying Inbox ... " + std::string(kSecondCreate)),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("[3/3] configuring source 41001"), std::string::npos) << r.out;

    const auto deployment = read_json(out);
    std::filesystem::remove(out);
    EXPECT_EQ(deployment.at("chainId").get<std::uint64_t>(), 31337u);
    EXPECT_EQ(address_of(deployment.at("deployer")), dev_account(0).address);
    const Address outbox = address_of(deployment.at("outbox"));
    const Address inbox = address_of(deployment.at("inbox"));
    EXPECT_EQ(outbox.hex(), kFirstCreate);
    EXPECT_EQ(inbox.hex(), kSecondCreate);

    // Code exists at each address from the block the file names on, and not before it.
    const auto outbox_block = deployment.at("blocks").at("outbox").get<std::uint64_t>();
    const auto inbox_block = deployment.at("blocks").at("inbox").get<std::uint64_t>();
    ASSERT_GE(outbox_block, 1u);
    EXPECT_GT(inbox_block, outbox_block);
    EXPECT_TRUE(has_code(chain, outbox, quantity(outbox_block)));
    EXPECT_FALSE(has_code(chain, outbox, quantity(outbox_block - 1)));
    EXPECT_TRUE(has_code(chain, inbox, quantity(inbox_block)));
    EXPECT_FALSE(has_code(chain, inbox, quantity(inbox_block - 1)));

    // The Inbox reports the source exactly as given.
    const auto set = chain.call(inbox, evm::AbiEncoder().add_uint(kSrcChain).encode_call(
                                           evm::function_selector("validatorSet(uint64)")));
    evm::AbiDecoder decoder(set);
    EXPECT_EQ(decoder.read_address().value(), src_outbox);
    const auto validators = decoder.read_address_array().value();
    ASSERT_EQ(validators.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(validators[i], dev_account(i + 1).address);
    EXPECT_EQ(decoder.read_uint(8).value(), 2u);
    EXPECT_TRUE(decoder.read_bool().value());
    const auto next = chain.call(
        inbox, evm::inbox_next_inbound_nonce_calldata(ferry::crypto::ChainId{kSrcChain}));
    EXPECT_EQ(evm::AbiDecoder(next).read_uint().value(), 1u);
    // The deployer owns the Inbox.
    const auto owner =
        chain.call(inbox, evm::AbiEncoder().encode_call(evm::function_selector("owner()")));
    EXPECT_EQ(evm::AbiDecoder(owner).read_address().value(), dev_account(0).address);
}

TEST(cli_deploy, deploys_only_the_outbox_with_a_keystore_key) {
    AnvilProcess anvil;
    ChainClient chain(anvil.url());
    ferry::crypto::KeystoreParams light;
    light.scrypt_n = 1024;
    const std::string keystore = temp_path("key.json");
    const std::string password = temp_path("password.txt");
    std::filesystem::remove(keystore);
    ASSERT_TRUE(ferry::crypto::save_keystore_file(
        keystore, ferry::crypto::encrypt_keystore(dev_account(1).key, "s3cret", light).value()));
    { std::ofstream(password) << "s3cret\n"; }
    const std::string out = temp_path("deployment.json");
    const auto r =
        run_ferry({"deploy", "--rpc", anvil.url(), "--keystore", keystore, "--password-file",
                   password, "--outbox", "--max-body-bytes", "64", "--out", out});
    std::filesystem::remove(keystore);
    std::filesystem::remove(password);
    ASSERT_EQ(r.exit_code, 0) << dump(r);
    expect_no_key(r, 1);
    const auto deployment = read_json(out);
    std::filesystem::remove(out);
    EXPECT_EQ(address_of(deployment.at("deployer")), dev_account(1).address);
    EXPECT_FALSE(deployment.contains("inbox"));
    const Address outbox = address_of(deployment.at("outbox"));
    EXPECT_TRUE(has_code(chain, outbox, "latest"));
    // The deployment is dev account 1's first transaction.
    EXPECT_EQ(chain.rpc().call("eth_getTransactionCount", {dev_account(1).address.hex(), "latest"}),
              "0x1");
}

TEST(cli_send, sends_packets_with_nonces_one_and_two_and_prints_their_ids) {
    AnvilProcess anvil;
    ChainClient chain(anvil.url());
    const std::string out = temp_path("deployment.json");
    auto args = deploy_args(anvil.url(), out);
    args.push_back("--outbox");
    const auto d = run_ferry(args, key_env());
    ASSERT_EQ(d.exit_code, 0) << dump(d);
    const Address outbox = address_of(read_json(out).at("outbox"));
    std::filesystem::remove(out);

    const Address recipient = dev_account(5).address;
    const std::vector<std::string> send = {
        "send",        "--rpc",          anvil.url(),
        "--key-env",   "FERRY_TEST_KEY", "--outbox",
        outbox.hex(),  "--dst-chain",    std::to_string(kDstChain),
        "--recipient", recipient.hex()};
    auto first_args = send;
    first_args.insert(first_args.end(), {"--body", "hello"});
    const auto first = run_ferry(first_args, key_env());
    ASSERT_EQ(first.exit_code, 0) << dump(first);
    expect_no_key(first);
    auto second_args = send;
    second_args.insert(second_args.end(),
                       {"--body-hex", "0xdeadbeef", "--expiry", "4000000000", "--json"});
    const auto second = run_ferry(second_args, key_env());
    ASSERT_EQ(second.exit_code, 0) << dump(second);

    // "id 0x.. nonce N tx 0x.. block B"
    std::istringstream line(first.out);
    std::string k_id, id1, k_nonce, k_tx, tx1, k_block;
    std::uint64_t nonce1 = 0, block1 = 0;
    line >> k_id >> id1 >> k_nonce >> nonce1 >> k_tx >> tx1 >> k_block >> block1;
    ASSERT_TRUE(line) << first.out;
    EXPECT_EQ(k_id + k_nonce + k_tx + k_block, "idnoncetxblock");
    const auto j2 = nlohmann::json::parse(second.out);

    // Read the packets back from the chain's own logs and check what was printed against them.
    const auto head = ferry::test::quantity_u64(chain.rpc().call("eth_blockNumber"));
    const auto logs = chain.get_logs(outbox, evm::packet_sent_topic(), 0, head);
    ASSERT_EQ(logs.size(), 2u);
    const std::vector<std::string> body_hex = {"0x68656c6c6f", "0xdeadbeef"};
    const std::vector<std::uint64_t> expiry = {0, 4000000000};
    const std::vector<std::string> printed_ids = {id1, j2.at("id").get<std::string>()};
    const std::vector<std::string> printed_txs = {tx1, j2.at("tx").get<std::string>()};
    const std::vector<std::uint64_t> printed_nonces = {nonce1, j2.at("nonce").get<std::uint64_t>()};
    const std::vector<std::uint64_t> printed_blocks = {block1, j2.at("block").get<std::uint64_t>()};
    for (std::size_t i = 0; i < 2; ++i) {
        SCOPED_TRACE(i);
        const auto& log = logs[i];
        const Bytes packet = evm::AbiDecoder(log.data).read_bytes().value();
        ASSERT_GE(packet.size(), 97u);
        EXPECT_EQ(printed_nonces[i], i + 1);
        EXPECT_EQ(printed_ids[i], ferry::crypto::keccak256(packet).hex());
        EXPECT_EQ(printed_ids[i], log.topics.at(1).hex());
        EXPECT_EQ(printed_txs[i], log.tx_hash.hex());
        EXPECT_EQ(printed_blocks[i], log.block_number);
        // The packet's own fields (docs/design.md §2 layout), read byte by byte.
        const auto be64 = [&](std::size_t at) {
            std::uint64_t v = 0;
            for (std::size_t b = 0; b < 8; ++b) v = (v << 8) | packet[at + b];
            return v;
        };
        EXPECT_EQ(packet[0], 1u);
        EXPECT_EQ(be64(1), i + 1);
        EXPECT_EQ(be64(9), 31337u);
        EXPECT_EQ(ferry::crypto::to_hex(ferry::crypto::ByteView(packet).subspan(29, 20)),
                  dev_account(0).address.hex());
        EXPECT_EQ(be64(49), kDstChain);
        EXPECT_EQ(ferry::crypto::to_hex(ferry::crypto::ByteView(packet).subspan(57, 32)),
                  "0x000000000000000000000000" + recipient.hex().substr(2));
        EXPECT_EQ(be64(89), expiry[i]);
        EXPECT_EQ(ferry::crypto::to_hex(ferry::crypto::ByteView(packet).subspan(97)), body_hex[i]);
    }
    EXPECT_EQ(j2.at("packet").get<std::string>(),
              ferry::crypto::to_hex(evm::AbiDecoder(logs[1].data).read_bytes().value()));
    const auto next =
        chain.call(outbox, evm::outbox_next_nonce_calldata(ferry::crypto::ChainId{kDstChain}));
    EXPECT_EQ(evm::AbiDecoder(next).read_uint().value(), 3u);
}

TEST(cli_send, reports_bad_input_with_one_clear_line) {
    AnvilProcess anvil;
    const std::string out = temp_path("deployment.json");
    auto args = deploy_args(anvil.url(), out);
    args.insert(args.end(), {"--outbox", "--max-body-bytes", "4"});
    const auto d = run_ferry(args, key_env());
    ASSERT_EQ(d.exit_code, 0) << dump(d);
    const std::string outbox = read_json(out).at("outbox").get<std::string>();
    std::filesystem::remove(out);
    const auto send = [&](const std::string& rpc, const std::string& box,
                          const std::string& recipient, const std::string& body) {
        return run_ferry({"send", "--rpc", rpc, "--key-env", "FERRY_TEST_KEY", "--outbox", box,
                          "--dst-chain", "7", "--recipient", recipient, "--body", body},
                         key_env());
    };
    const std::string to = dev_account(5).address.hex();

    {
        SCOPED_TRACE("bad outbox address");
        const auto r = send(anvil.url(), "0x12345", to, "x");
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("--outbox"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("0x12345"), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
    }
    {
        SCOPED_TRACE("bad recipient");
        const auto r = send(anvil.url(), outbox, "0xabcd", "x");
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("--recipient"), std::string::npos) << r.err;
    }
    {
        SCOPED_TRACE("unreachable RPC");
        const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
        const auto r = send(url, outbox, to, "x");
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("cannot reach"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(url), std::string::npos) << r.err;
        EXPECT_LT(r.elapsed, std::chrono::seconds(5));
    }
    {
        SCOPED_TRACE("bad RPC URL");
        const auto r = send("ftp://127.0.0.1:1", outbox, to, "x");
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("--rpc"), std::string::npos) << r.err;
    }
    {
        SCOPED_TRACE("reverted: the body is over the Outbox's limit of 4 bytes");
        const auto r = send(anvil.url(), outbox, to, "too long");
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("BodyTooLarge"), std::string::npos) << r.err;
        expect_no_key(r);
    }
    {
        SCOPED_TRACE("no contract at --outbox");
        const auto r = send(anvil.url(), to, to, "x");
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("no contract"), std::string::npos) << r.err;
    }
    {
        SCOPED_TRACE("missing key is a usage error");
        const auto r = run_ferry({"send", "--rpc", anvil.url(), "--outbox", outbox, "--dst-chain",
                                  "7", "--recipient", to, "--body", "x"});
        EXPECT_EQ(r.exit_code, 2) << dump(r);
        EXPECT_NE(r.err.find("signing key"), std::string::npos) << r.err;
    }
    {
        SCOPED_TRACE("key variable holding garbage: named, never echoed");
        const std::string secret = "0x" + std::string(62, '7') + "zz";
        const auto r =
            run_ferry({"send", "--rpc", anvil.url(), "--key-env", "FERRY_TEST_KEY", "--outbox",
                       outbox, "--dst-chain", "7", "--recipient", to, "--body", "x"},
                      {"FERRY_TEST_KEY=" + secret});
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("FERRY_TEST_KEY"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find(std::string(62, '7')), std::string::npos) << r.err;
    }
    {
        SCOPED_TRACE("a bad --source is refused before anything is sent");
        auto bad = deploy_args(anvil.url(), out);
        bad.insert(bad.end(), {"--source", "41001:" + outbox + ":" + to + ":2:ordered"});
        const auto r = run_ferry(bad, key_env());
        EXPECT_EQ(r.exit_code, 1) << dump(r);
        EXPECT_NE(r.err.find("threshold"), std::string::npos) << r.err;
        EXPECT_FALSE(std::filesystem::exists(out));
    }
}

TEST(cli, help_lists_the_commands_and_version_prints_the_version) {
    const auto help = run_ferry({"--help"});
    EXPECT_EQ(help.exit_code, 0) << dump(help);
    for (const char* cmd : {"deploy", "send", "version"})
        EXPECT_NE(help.out.find(cmd), std::string::npos) << help.out;
    const auto version = run_ferry({"version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.out.rfind("ferry ", 0), 0u) << version.out;
    const auto deploy_help = run_ferry({"deploy", "--help"});
    EXPECT_EQ(deploy_help.exit_code, 0);
    for (const char* opt : {"--rpc", "--key-env", "--keystore", "--password-file", "--source",
                            "--out", "--max-body-bytes", "--handle-gas-limit"})
        EXPECT_NE(deploy_help.out.find(opt), std::string::npos) << opt;
    const auto unknown = run_ferry({"send", "--no-such-option"});
    EXPECT_EQ(unknown.exit_code, 2) << dump(unknown);
}

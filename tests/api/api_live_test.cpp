// The JSON-RPC API of a live node: two anvil chains, validator nodes and the relayer,
// all real `ferry start` processes (devnet/devnet.hpp). Every method with real values, batches,
// notifications, every error code, the rate limit, oversized bodies, slow clients, 1,000 garbage
// requests (after which the node still relays and its memory stays bounded), and ferry_retry
// reviving dead packets that are then delivered exactly once.
#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "crypto/keccak.hpp"
#include "devnet/devnet.hpp"
#include "relayer/version.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/work_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace evm = ferry::chains::evm;
using namespace ferry;
using namespace std::chrono_literals;
using devnet::Devnet;
using devnet::DevnetOptions;
using devnet::SentPacket;
using nlohmann::json;
using test::HttpAnswer;
using test::post_request;
using Client = test::HttpClient;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kTokenEnv = "FERRY_API_LIVE_TEST_TOKEN";
constexpr const char* kNoTokenEnv = "FERRY_API_LIVE_TEST_NO_TOKEN";
constexpr const char* kToken = "s3cret-admin-token-for-the-live-api-test";
/// The relayer's resident memory must stay below this after the abuse test (measured: about
/// 21 MiB before and 22 MiB after, Debug build), and may grow by at most the second bound across
/// the 1,000 garbage requests, the slow clients and the oversized bodies. Sanitizer builds are
/// not held to either: ASan keeps freed memory in a quarantine of up to 256 MiB by design (a CI
/// run measured 258 MiB before and 308 MiB after), so there RSS says nothing about growth; the
/// bounds are checked by the release (ci) run of this test.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t kRssBoundBytes = ~0ull;
constexpr std::uint64_t kRssGrowthBoundBytes = ~0ull >> 1;
#else
constexpr std::uint64_t kRssBoundBytes = 64ull << 20;
constexpr std::uint64_t kRssGrowthBoundBytes = 16ull << 20;
#endif

std::string bearer(std::string_view token) {
    return "Authorization: Bearer " + std::string(token) + "\r\n";
}

/// VmRSS of a process in bytes.
std::optional<std::uint64_t> rss_bytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) != 0) continue;
        std::istringstream fields(line.substr(6));
        std::uint64_t kib = 0;
        if (fields >> kib) return kib * 1024;
    }
    return std::nullopt;
}

std::uint64_t hex_u64(const json& j) { return test::quantity_u64(j); }

/// A JSON-RPC quantity of wei ("0x..", any size) in ether.
double quantity_ether(const std::string& q) {
    long double wei = 0;
    for (std::size_t i = 2; i < q.size(); ++i) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(q[i])));
        wei = wei * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return static_cast<double>(wei / 1e18L);
}

class ApiLive : public ::testing::Test {
protected:
    void TearDown() override {
        if (net_) test::finish_devnet(*net_, HasFailure());
    }

    /// Chains, contracts and configs; `patch` edits relayer.json before anything runs.
    Devnet& prepare(const std::string& name, const std::function<void(json&)>& patch) {
        DevnetOptions o;
        o.work_dir = test::make_work_dir("ferry-api-live-" + name);
        o.anvil = FERRY_ANVIL;
        o.ferry_binary = FERRY_BINARY;
        o.validators = 2;
        o.threshold = 2;
        net_ = std::make_unique<Devnet>(std::move(o));
        check(net_->start_chains());
        check(net_->deploy());
        check(net_->write_configs());
        json config;
        {
            std::ifstream in(net_->relayer_config_path());
            config = json::parse(in);
        }
        patch(config);
        std::ofstream(net_->relayer_config_path()) << config.dump(2);
        return *net_;
    }

    void run_nodes() {
        for (std::size_t i = 1; i <= net_->options().validators; ++i)
            check(net_->start_validator(i));
        check(net_->start_relayer());
        port_ = static_cast<std::uint16_t>(
            std::stoul(net_->relayer_api_url().substr(net_->relayer_api_url().rfind(':') + 1)));
    }

    template <class R>
    static void check(const R& r) {
        if (!r) throw std::runtime_error(r.error().message);
    }

    /// One POST on a fresh connection.
    HttpAnswer post(std::string_view body, std::string_view headers = "") {
        Client client(port_);
        EXPECT_TRUE(client.connected());
        EXPECT_TRUE(client.send(post_request(body, headers)));
        auto answer = client.read_answer();
        EXPECT_TRUE(answer.has_value()) << body.substr(0, 200);
        return answer.value_or(HttpAnswer{});
    }

    /// The whole JSON-RPC answer to one call.
    json call(const std::string& method, const json& params = nullptr,
              std::string_view headers = "") {
        json request = {{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}};
        if (!params.is_null()) request["params"] = params;
        const auto answer = post(request.dump(), headers);
        EXPECT_EQ(answer.status, 200u) << method << " " << answer.body;
        json parsed = json::parse(answer.body, nullptr, false);
        EXPECT_FALSE(parsed.is_discarded()) << answer.body;
        EXPECT_EQ(parsed.value("id", json()), request["id"]) << answer.body;
        return parsed;
    }

    /// The result of a call that must succeed.
    json result(const std::string& method, const json& params = nullptr,
                std::string_view headers = "") {
        json answer = call(method, params, headers);
        EXPECT_TRUE(answer.contains("result"))
            << method << " " << params.dump() << " -> " << answer.dump();
        return answer.value("result", json());
    }

    /// A call that must fail with `code`; returns the error object.
    json error_of(int code, const std::string& method, const json& params = nullptr,
                  std::string_view headers = "") {
        json answer = call(method, params, headers);
        EXPECT_TRUE(answer.contains("error"))
            << method << " " << params.dump() << " -> " << answer.dump();
        EXPECT_FALSE(answer.contains("result")) << answer.dump();
        const json error = answer.value("error", json::object());
        EXPECT_EQ(error.value("code", 0), code)
            << method << " " << params.dump() << " -> " << answer.dump();
        EXPECT_TRUE(error.value("message", json()).is_string()) << answer.dump();
        return error;
    }

    /// -32602 whose message names `param` ("params.<param>" or the unknown key itself).
    void expect_invalid_param(const std::string& method, const json& params,
                              const std::string& param, const std::string& needle,
                              std::string_view headers = "") {
        const json error = error_of(-32602, method, params, headers);
        const std::string message = error.value("message", "");
        EXPECT_NE(message.find(param), std::string::npos) << message;
        EXPECT_NE(message.find(needle), std::string::npos) << message;
    }

    std::vector<SentPacket> send(std::string_view from, std::size_t n, std::string_view prefix) {
        auto r = net_->send_packets(from, n, prefix);
        check(r);
        return std::move(*r);
    }

    void wait_delivered(std::span<const SentPacket> sent, std::chrono::seconds timeout) {
        devnet::WaitOptions w;
        w.timeout = timeout;
        auto r = net_->wait_delivered(sent, w);
        check(r);
        ASSERT_TRUE(r->complete()) << r->delivered << " of " << sent.size() << " delivered";
    }

    /// Polls ferry_routes until `route` has `n` packets in `state`.
    bool wait_count(const std::string& route, const std::string& state, std::uint64_t n,
                    std::chrono::seconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            const json routes = result("ferry_routes");
            for (const auto& r : routes)
                if (r.value("route", "") == route &&
                    r["counts"].value(state, std::uint64_t{0}) == n)
                    return true;
            std::this_thread::sleep_for(250ms);
        }
        return false;
    }

    /// Inbox.configureSource on `dst`'s Inbox for source `src` (owner: dev account #0) with the
    /// devnet's threshold and ordering and the validators that are dev accounts `first`,
    /// `first` + 1, ... (the devnet's own are kFirstValidatorAccount onwards).
    void configure_source(const std::string& dst, const std::string& src, std::size_t first) {
        const auto* d = net_->chain(dst).value();
        const auto* s = net_->chain(src).value();
        std::vector<crypto::Address> validators;
        for (std::size_t i = 0; i < net_->options().validators; ++i)
            validators.push_back(devnet::dev_account(first + i).address);
        test::ChainClient client(d->rpc_url);
        const auto data = evm::inbox_configure_source_calldata(
            s->chain_id, s->outbox, validators,
            static_cast<std::uint8_t>(net_->options().threshold), net_->options().ordered);
        ASSERT_TRUE(client.send(test::dev_account(0), d->inbox, data).success);
    }

    /// PacketDelivered logs of each id on `dst`'s Inbox.
    std::map<crypto::PacketId, int> delivered_logs(const std::string& dst) {
        const auto* chain = net_->chain(dst).value();
        test::ChainClient client(chain->rpc_url);
        const auto head = hex_u64(client.rpc().call("eth_blockNumber"));
        std::map<crypto::PacketId, int> times;
        for (const auto& log :
             client.get_logs(chain->inbox, evm::packet_delivered_topic(), 0, head)) {
            auto e = evm::decode_packet_delivered(log);
            EXPECT_TRUE(e);
            if (e) ++times[e->id];
        }
        return times;
    }

    pid_t relayer_pid() {
        auto* p = net_->process("relayer");
        return p == nullptr ? -1 : p->pid();
    }

    std::unique_ptr<Devnet> net_;
    std::uint16_t port_ = 0;
    int next_id_ = 1;
};

// ---------------------------------------------------------------------------------------------

TEST_F(ApiLive, every_method_answers_with_real_values_and_every_error_code) {
    ::unsetenv(kNoTokenEnv);
    prepare("methods", [](json& c) {
        c["api"]["admin_token_env"] = kNoTokenEnv;
        c["api"]["rate_limit_per_s"] = 100;
        c["api"]["rate_limit_burst"] = 400;
    });
    run_nodes();
    auto sent = send("alpha", 6, "api a");
    auto back = send("beta", 4, "api b");
    wait_delivered(sent, 90s);
    wait_delivered(back, 90s);
    ASSERT_TRUE(wait_count("alpha->beta", "delivered", 6, 30s));
    ASSERT_TRUE(wait_count("beta->alpha", "delivered", 4, 30s));

    // ---- ferry_status ----
    const auto relayer_address = devnet::dev_account(devnet::kRelayerAccount).address;
    json status = result("ferry_status");
    EXPECT_EQ(status["version"], std::string(relayer::version()));
    EXPECT_GE(status["uptime_s"].get<std::int64_t>(), 0);
    EXPECT_EQ(status["roles"], json::array({"relayer"}));
    EXPECT_EQ(status["relayer_address"], relayer_address.hex());
    ASSERT_EQ(status["chains"].size(), 2u) << status.dump();
    for (const auto& c : status["chains"]) {
        const auto name = c["name"].get<std::string>();
        const auto* chain = net_->chain(name).value();
        EXPECT_EQ(c["chain_id"], crypto::to_u64(chain->chain_id));
        test::ChainClient client(chain->rpc_url);
        const auto head = hex_u64(client.rpc().call("eth_blockNumber"));
        ASSERT_TRUE(c["head"].is_number()) << c.dump();
        EXPECT_LE(c["head"].get<std::uint64_t>(), head);
        EXPECT_GE(c["head"].get<std::uint64_t>() + 10, head) << c.dump();
        ASSERT_TRUE(c["scanned_block"].is_number()) << c.dump();
        EXPECT_LE(c["scanned_block"].get<std::uint64_t>(), c["head"].get<std::uint64_t>());
        EXPECT_GE(c["scanned_block"].get<std::uint64_t>(), chain->deploy_block);
        EXPECT_EQ(c["reachable"], true) << c.dump();
        ASSERT_TRUE(c["head_age_s"].is_number()) << c.dump();
        EXPECT_LT(c["head_age_s"].get<double>(), 30.0) << c.dump();
        ASSERT_EQ(c["endpoints"].size(), 1u) << c.dump();
        EXPECT_EQ(c["endpoints"][0]["demoted"], false);
        EXPECT_EQ(c["endpoints"][0]["failures"], 0u) << c.dump();
        EXPECT_GT(c["endpoints"][0]["requests"].get<std::uint64_t>(), 10u);
        EXPECT_GT(c["rpc"]["requests"].get<std::uint64_t>(), 10u);
        // The wallet: the relayer account, its balance as the chain reports it (it may have paid
        // for a delivery since the monitor's last poll).
        ASSERT_TRUE(c["wallet"].is_object()) << c.dump();
        EXPECT_EQ(c["wallet"]["address"], relayer_address.hex());
        ASSERT_TRUE(c["wallet"]["balance_wei"].is_string()) << c.dump();
        const auto wei = c["wallet"]["balance_wei"].get<std::string>();
        EXPECT_TRUE(std::all_of(wei.begin(), wei.end(), [](char ch) {
            return ch >= '0' && ch <= '9';
        })) << wei;
        const double eth = c["wallet"]["balance_eth"].get<double>();
        EXPECT_NEAR(eth, std::stod(wei) / 1e18, 1e-6 * eth);
        const json on_chain =
            client.rpc().call("eth_getBalance", json::array({relayer_address.hex(), "latest"}));
        EXPECT_NEAR(eth, quantity_ether(on_chain.get<std::string>()), 0.05) << c.dump();
        EXPECT_GT(eth, 1000.0);  // anvil funds dev accounts with 10000 ETH
    }
    std::map<std::string, json> routes;
    for (const auto& r : status["routes"]) routes[r["route"].get<std::string>()] = r;
    ASSERT_EQ(routes.size(), 2u) << status.dump();
    EXPECT_EQ(routes["alpha->beta"]["counts"], json({{"delivered", 6}})) << status.dump();
    EXPECT_EQ(routes["beta->alpha"]["counts"], json({{"delivered", 4}})) << status.dump();
    EXPECT_EQ(routes["alpha->beta"]["src"], 4301u);
    EXPECT_EQ(routes["alpha->beta"]["dst"], 4302u);
    EXPECT_EQ(routes["alpha->beta"]["ordered"], true);
    EXPECT_EQ(routes["alpha->beta"]["pending"], 0u);
    EXPECT_TRUE(routes["alpha->beta"]["oldest_pending_s"].is_null());
    EXPECT_EQ(routes["alpha->beta"]["waiting"], "");
    EXPECT_EQ(status["counters"]["packets_observed"], 10u) << status.dump();
    EXPECT_EQ(status["counters"]["packets_delivered"], 10u) << status.dump();
    EXPECT_GE(status["counters"]["txs_sent"].get<std::uint64_t>(), 2u);
    EXPECT_GE(status["counters"]["attestations_accepted"].get<std::uint64_t>(), 20u);
    EXPECT_GT(status["api"]["http_requests"].get<std::uint64_t>(), 0u);

    // ---- ferry_chains and ferry_routes are status's arrays ----
    const json chains = result("ferry_chains", json::array());
    ASSERT_EQ(chains.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(chains[i]["name"], status["chains"][i]["name"]);
        EXPECT_EQ(chains[i]["chain_id"], status["chains"][i]["chain_id"]);
        EXPECT_GE(chains[i]["head"].get<std::uint64_t>(),
                  status["chains"][i]["head"].get<std::uint64_t>());
    }
    EXPECT_EQ(result("ferry_routes", json::object()), status["routes"]);

    // ---- ferry_packet: state, attestations, deliveries and receipt of a delivered packet ----
    const SentPacket& third = sent[2];
    const json packet = result("ferry_packet", {{"id", third.id.hex()}});
    EXPECT_EQ(packet["id"], third.id.hex());
    EXPECT_EQ(packet["route"], "alpha->beta");
    EXPECT_EQ(packet["src"], 4301u);
    EXPECT_EQ(packet["dst"], 4302u);
    EXPECT_EQ(packet["nonce"], third.nonce);
    EXPECT_EQ(packet["state"], "delivered");
    EXPECT_EQ(packet["attempts"], 0u);
    EXPECT_EQ(packet["expiry"], 0u);
    EXPECT_EQ(packet["last_error"], "");
    EXPECT_EQ(packet["body_bytes"], third.body.size());
    EXPECT_EQ(packet["source_block"], third.block);
    EXPECT_EQ(packet["delivered_success"], true);
    EXPECT_LE(packet["created_at"].get<std::int64_t>(), packet["updated_at"].get<std::int64_t>());
    const auto* alpha = net_->chain("alpha").value();
    const auto* beta = net_->chain("beta").value();
    ASSERT_EQ(packet["attestations"].size(), 2u) << packet.dump();
    for (std::size_t i = 0; i < 2; ++i) {
        const auto v = devnet::dev_account(devnet::kFirstValidatorAccount + i);
        const auto tv = test::dev_account(devnet::kFirstValidatorAccount + i);
        bool found = false;
        for (const auto& a : packet["attestations"]) {
            if (a["validator"] != v.address.hex()) continue;
            found = true;
            // RFC 6979 signatures are deterministic: the validator's must be this one.
            EXPECT_EQ(a["signature"],
                      test::attest(alpha->chain_id, alpha->outbox, third.id, tv.key).hex());
        }
        EXPECT_TRUE(found) << v.address.hex() << " in " << packet.dump();
    }
    EXPECT_LT(packet["attestations"][0]["validator"].get<std::string>(),
              packet["attestations"][1]["validator"].get<std::string>());
    const json receipt = packet["receipt"];
    ASSERT_TRUE(receipt.is_object()) << packet.dump();
    EXPECT_EQ(receipt["status"], true) << receipt.dump();
    EXPECT_EQ(receipt["packet_delivered"]["success"], true) << receipt.dump();
    EXPECT_TRUE(receipt["packet_rejected"].is_null());
    {
        test::ChainClient client(beta->rpc_url);
        const json r = client.rpc().call("eth_getTransactionReceipt",
                                         json::array({receipt["tx_hash"].get<std::string>()}));
        EXPECT_EQ(hex_u64(r["blockNumber"]), receipt["block"].get<std::uint64_t>());
        EXPECT_EQ(hex_u64(r["gasUsed"]), receipt["gas_used"].get<std::uint64_t>());
        EXPECT_EQ(r["from"], relayer_address.hex());
        const json tx = client.rpc().call("eth_getTransactionByHash",
                                          json::array({receipt["tx_hash"].get<std::string>()}));
        EXPECT_EQ(hex_u64(tx["nonce"]), receipt["account_nonce"].get<std::uint64_t>());
    }
    ASSERT_EQ(packet["deliveries"].size(), 1u) << packet.dump();
    EXPECT_EQ(packet["deliveries"][0]["tx_hash"], receipt["tx_hash"]);
    EXPECT_EQ(packet["deliveries"][0]["state"], "mined");
    EXPECT_EQ(packet["deliveries"][0]["block"], receipt["block"]);
    // By position too.
    EXPECT_EQ(result("ferry_packet", json::array({third.id.hex()}))["nonce"], third.nonce);

    // ---- ferry_packets: filters and paging with a cursor ----
    std::set<std::string> expected_ids;
    for (const auto& p : sent) expected_ids.insert(p.id.hex());
    for (const auto& p : back) expected_ids.insert(p.id.hex());
    for (const json& filter : {json::object(), json{{"state", "delivered"}}}) {
        std::multiset<std::string> seen;
        json cursor = nullptr;
        std::size_t pages = 0;
        do {
            json params = filter;
            params["limit"] = 3;
            if (!cursor.is_null()) params["cursor"] = cursor;
            const json page = result("ferry_packets", params);
            ASSERT_TRUE(page["packets"].is_array()) << page.dump();
            EXPECT_LE(page["packets"].size(), 3u);
            for (const auto& p : page["packets"]) {
                seen.insert(p["id"].get<std::string>());
                EXPECT_EQ(p["state"], "delivered");
                EXPECT_TRUE(p.contains("attempts") && p.contains("updated_at") &&
                            p.contains("last_error") && p.contains("nonce"))
                    << p.dump();
            }
            cursor = page["next_cursor"];
            ASSERT_LT(++pages, 20u);
        } while (!cursor.is_null());
        EXPECT_EQ(pages, 4u);  // 3 + 3 + 3 + 1
        EXPECT_EQ(seen.size(), 10u);
        EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected_ids);
    }
    {
        std::vector<std::uint64_t> nonces;
        json cursor = nullptr;
        do {
            json params = {{"route", "beta->alpha"}, {"limit", 1}};
            if (!cursor.is_null()) params["cursor"] = cursor;
            const json page = result("ferry_packets", params);
            for (const auto& p : page["packets"]) {
                EXPECT_EQ(p["route"], "beta->alpha");
                nonces.push_back(p["nonce"].get<std::uint64_t>());
            }
            cursor = page["next_cursor"];
        } while (!cursor.is_null() && nonces.size() < 10);
        EXPECT_EQ(nonces, (std::vector<std::uint64_t>{1, 2, 3, 4}));
    }
    const json none = result("ferry_packets", {{"state", "dead"}, {"route", "alpha->beta"}});
    EXPECT_EQ(none["packets"], json::array());
    EXPECT_TRUE(none["next_cursor"].is_null());
    EXPECT_EQ(result("ferry_packets")["packets"].size(), 10u);

    // ---- batches and notifications ----
    {
        const json batch = json::array({
            {{"jsonrpc", "2.0"}, {"id", "s"}, {"method", "ferry_status"}},
            {{"jsonrpc", "2.0"}, {"method", "ferry_chains"}},  // notification: no answer
            {{"jsonrpc", "2.0"},
             {"id", 2},
             {"method", "ferry_packet"},
             {"params", {{"id", sent[0].id.hex()}}}},
            {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "ferry_nope"}},
            {{"jsonrpc", "2.0"},
             {"id", 4},
             {"method", "ferry_packets"},
             {"params", {{"limit", 0}}}},
            42,
        });
        const auto answer = post(batch.dump());
        ASSERT_EQ(answer.status, 200u);
        const json answers = json::parse(answer.body);
        ASSERT_TRUE(answers.is_array());
        ASSERT_EQ(answers.size(), 5u) << answers.dump();
        std::map<std::string, json> by_id;
        for (const auto& a : answers) by_id[a["id"].dump()] = a;
        EXPECT_EQ(by_id["\"s\""]["result"]["routes"].size(), 2u);
        EXPECT_EQ(by_id["2"]["result"]["nonce"], 1u);
        EXPECT_EQ(by_id["3"]["error"]["code"], -32601);
        EXPECT_EQ(by_id["4"]["error"]["code"], -32602);
        EXPECT_EQ(by_id["null"]["error"]["code"], -32600);
        // Only notifications: 204 and no body; a notification that fails is not answered either.
        const auto quiet = post(json::array({{{"jsonrpc", "2.0"}, {"method", "ferry_status"}},
                                             {{"jsonrpc", "2.0"}, {"method", "ferry_nope"}}})
                                    .dump());
        EXPECT_EQ(quiet.status, 204u);
        EXPECT_EQ(quiet.body, "");
        const auto single = post(R"({"jsonrpc":"2.0","method":"ferry_routes"})");
        EXPECT_EQ(single.status, 204u);
    }

    // ---- every error code ----
    {
        const auto parse = post("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
        ASSERT_EQ(parse.status, 200u);
        const json j = json::parse(parse.body);
        EXPECT_EQ(j["error"]["code"], -32700) << j.dump();
        EXPECT_TRUE(j["id"].is_null());
        const json empty = json::parse(post("[]").body);
        EXPECT_EQ(empty["error"]["code"], -32600) << empty.dump();
        const json wrong =
            json::parse(post(R"({"jsonrpc":"1.0","id":9,"method":"ferry_status"})").body);
        EXPECT_EQ(wrong["error"]["code"], -32600) << wrong.dump();
        EXPECT_EQ(wrong["id"], 9);
        const json params_string = json::parse(
            post(R"({"jsonrpc":"2.0","id":10,"method":"ferry_status","params":"x"})").body);
        EXPECT_EQ(params_string["error"]["code"], -32600) << params_string.dump();
    }
    {
        const json e = error_of(-32601, "ferry_doesNotExist");
        EXPECT_NE(e["message"].get<std::string>().find("ferry_doesNotExist"), std::string::npos);
        error_of(-32601, "eth_blockNumber");
    }
    // -32602: wrong types, unknown keys, bad ids, routes, states, limits and cursors.
    expect_invalid_param("ferry_status", {{"verbose", true}}, "ferry_status takes no params",
                         "verbose");
    expect_invalid_param("ferry_chains", json::array({1}), "ferry_chains takes no params", "[1]");
    expect_invalid_param("ferry_routes", {{"route", "alpha->beta"}}, "takes no params", "route");
    expect_invalid_param("ferry_packet", json::object(), "params.id", "required");
    expect_invalid_param("ferry_packet", {{"id", 12}}, "params.id", "64 hex digits");
    expect_invalid_param("ferry_packet", {{"id", "0x1234"}}, "params.id", "got \"0x1234\"");
    expect_invalid_param("ferry_packet", {{"id", sent[0].id.hex().substr(2)}}, "params.id",
                         "\"0x\"");
    expect_invalid_param("ferry_packet", {{"id", sent[0].id.hex()}, {"verbose", 1}}, "'verbose'",
                         "takes an object with id");
    expect_invalid_param("ferry_packet", json::array({sent[0].id.hex(), 2}), "ferry_packet",
                         "[id]");
    expect_invalid_param("ferry_packets", {{"state", "lost"}}, "params.state", "dead");
    expect_invalid_param("ferry_packets", {{"state", 3}}, "params.state", "got 3");
    expect_invalid_param("ferry_packets", {{"route", "alpha->gamma"}}, "params.route",
                         "alpha->beta");
    expect_invalid_param("ferry_packets", {{"route", "alpha-beta"}}, "params.route", "beta->alpha");
    expect_invalid_param("ferry_packets", {{"limit", 0}}, "params.limit", "1 to 1000");
    expect_invalid_param("ferry_packets", {{"limit", 1001}}, "params.limit", "got 1001");
    expect_invalid_param("ferry_packets", {{"limit", "5"}}, "params.limit", "integer");
    expect_invalid_param("ferry_packets", {{"limit", 2.5}}, "params.limit", "got 2.5");
    expect_invalid_param("ferry_packets", {{"cursor", "zz"}}, "params.cursor", "next_cursor");
    expect_invalid_param("ferry_packets", {{"cursor", 5}}, "params.cursor", "next_cursor");
    expect_invalid_param("ferry_packets", {{"sort", "nonce"}}, "'sort'",
                         "state, route, limit, cursor");
    expect_invalid_param("ferry_packets", json::array({"delivered"}), "ferry_packets", "object");
    {
        const json e = error_of(-32602, "ferry_packets", {{"limit", -1}});
        EXPECT_EQ(e["data"]["param"], "limit") << e.dump();
    }
    // -32004: an unknown packet.
    {
        const auto unknown =
            crypto::keccak256(crypto::as_bytes(std::string_view("no such packet")));
        const json e = error_of(-32004, "ferry_packet", {{"id", unknown.hex()}});
        EXPECT_NE(e["message"].get<std::string>().find(unknown.hex()), std::string::npos);
    }
    // -32001: no admin token configured on this node (the variable is unset).
    {
        const json e =
            error_of(-32001, "ferry_retry", {{"id", sent[0].id.hex()}}, bearer("anything"));
        EXPECT_EQ(e["message"], "admin token not configured");
        error_of(-32001, "ferry_retry", {{"route", "alpha->beta"}, {"dead", true}});
    }
    // -32603 (internal error) needs a failing queue or a throwing handler: the API server's own
    // tests cover it; a healthy live node does not produce it.

    // ---- HTTP limits ----
    {
        Client client(port_);
        ASSERT_TRUE(client.connected());
        const std::string head =
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 2097152\r\n\r\n";
        ASSERT_TRUE(client.send(head + std::string(64 * 1024, ' ')));
        auto answer = client.read_answer();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 413u);
        EXPECT_NE(answer->body.find("larger than"), std::string::npos) << answer->body;
    }
    {
        Client client(port_);
        ASSERT_TRUE(client.send("GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                std::string(64 * 1024, 'a') + "\r\n\r\n"));
        auto answer = client.read_answer();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 431u);
    }

    // ---- the rate limit: 100/s, burst 400 in this config ----
    std::this_thread::sleep_for(4s);  // let the bucket fill up
    {
        constexpr std::size_t kConnections = 4;
        constexpr std::size_t kEach = 400;
        std::vector<std::unique_ptr<Client>> clients;
        std::string requests;
        for (std::size_t i = 0; i < kEach; ++i)
            requests += post_request(R"({"jsonrpc":"2.0","id":1,"method":"ferry_routes"})");
        const auto started = Clock::now();
        for (std::size_t c = 0; c < kConnections; ++c) {
            clients.push_back(std::make_unique<Client>(port_));
            ASSERT_TRUE(clients.back()->send(requests));
        }
        std::size_t ok = 0;
        std::size_t limited = 0;
        for (auto& client : clients) {
            for (std::size_t i = 0; i < kEach; ++i) {
                auto answer = client->read_answer();
                ASSERT_TRUE(answer) << "answer " << i;
                if (answer->status == 200) {
                    ++ok;
                } else {
                    ASSERT_EQ(answer->status, 429u) << answer->body;
                    ++limited;
                    EXPECT_EQ(answer->headers["retry-after"], "1");
                    EXPECT_EQ(json::parse(answer->body)["error"]["code"], -32005);
                }
            }
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        EXPECT_GE(ok, 400u);
        EXPECT_LE(static_cast<double>(ok), 400 + 100 * seconds + 2) << seconds << " s";
        EXPECT_GT(limited, 0u);
        EXPECT_EQ(ok + limited, kConnections * kEach);
        std::this_thread::sleep_for(1500ms);
        EXPECT_EQ(result("ferry_status")["api"]["rate_limited"].get<std::uint64_t>(), limited);
    }
}

// ---------------------------------------------------------------------------------------------

TEST_F(ApiLive, garbage_slow_clients_and_big_bodies_leave_the_node_relaying_in_bounded_memory) {
    ::unsetenv(kNoTokenEnv);
    prepare("abuse", [](json& c) { c["api"]["admin_token_env"] = kNoTokenEnv; });
    run_nodes();
    auto warm = send("alpha", 3, "warm up");
    wait_delivered(warm, 90s);
    const pid_t pid = relayer_pid();
    ASSERT_GT(pid, 0);
    const auto rss_before = rss_bytes(pid);
    ASSERT_TRUE(rss_before);

    // ---- slowloris: 30 clients trickle a request one byte at a time ----
    {
        const std::string request =
            post_request(R"({"jsonrpc":"2.0","id":1,"method":"ferry_status"})");
        std::vector<std::unique_ptr<Client>> slow;
        for (int i = 0; i < 30; ++i) {
            slow.push_back(std::make_unique<Client>(port_));
            ASSERT_TRUE(slow.back()->connected());
        }
        std::vector<bool> closed(slow.size(), false);
        std::size_t answered_meanwhile = 0;
        const auto started = Clock::now();
        std::size_t sent_bytes = 0;
        while (Clock::now() - started < 25s) {
            for (std::size_t i = 0; i < slow.size(); ++i) {
                if (closed[i]) continue;
                if (!slow[i]->send(request.substr(sent_bytes % (request.size() - 1), 1))) {
                    closed[i] = true;
                    continue;
                }
                if (slow[i]->read_some(Clock::now() + 1ms) == 0) closed[i] = true;
            }
            ++sent_bytes;
            // Others are answered meanwhile, quickly.
            const auto t0 = Clock::now();
            const json s = result("ferry_status");
            if (s.contains("routes")) ++answered_meanwhile;
            EXPECT_LT(Clock::now() - t0, 2s);
            if (std::all_of(closed.begin(), closed.end(), [](bool b) { return b; })) break;
            std::this_thread::sleep_for(400ms);
        }
        const auto took = Clock::now() - started;
        EXPECT_TRUE(std::all_of(closed.begin(), closed.end(), [](bool b) { return b; }))
            << "slow clients still connected after 25 s";
        // read_timeout is 10 s by default: cut off then, not before.
        EXPECT_GE(took, 9s);
        EXPECT_GE(answered_meanwhile, 10u);
    }

    // ---- oversized body: 413 without reading it ----
    {
        Client client(port_);
        ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"));
        auto answer = client.read_answer();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 413u);
    }

    // ---- 1,000 garbage requests: random bytes, broken HTTP, broken JSON ----
    std::atomic<std::size_t> answered{0}, closed_silently{0}, hung{0}, parse_errors{0},
        bad_requests{0};
    {
        constexpr std::size_t kGarbage = 1000;
        constexpr std::size_t kThreads = 4;
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                std::mt19937_64 rng(20261124 + t);
                auto random_bytes = [&](std::size_t n) {
                    std::string s(n, '\0');
                    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
                    return s;
                };
                const std::vector<std::string> broken_http = {
                    "GET\r\n\r\n",
                    "POST / HTTP/9.9\r\n\r\n",
                    "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    "POST / HTTP/1.1\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789",
                    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n",
                    "POST / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS hello
                    "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort",
                    "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
                };
                const std::vector<std::string> broken_json = {
                    "{",
                    "[",
                    "{\"jsonrpc\":\"2.0\",\"method\":\"ferry_status\",\"id\":1",
                    "nul",
                    "{\"a\":1}}",
                    "\xff\xfe{}",
                    std::string(200, '['),
                    "[{\"jsonrpc\":\"2.0\",\"method\":\"ferry_packet\",\"id\":1,\"params\":{\"id\":"
                    "[[[]]]}}]",
                    "{\"jsonrpc\":\"2.0\",\"method\":\"ferry_packets\",\"id\":1,\"params\":{"
                    "\"cursor\":\"c1" +
                        std::string(64, 'f') + "\"}}",
                };
                for (std::size_t i = t; i < kGarbage; i += kThreads) {
                    std::string payload;
                    bool json_body = false;
                    switch (i % 3) {
                        case 0:
                            payload = random_bytes(1 + rng() % 2048);
                            break;
                        case 1:
                            payload = broken_http[rng() % broken_http.size()];
                            break;
                        default: {
                            std::string body = broken_json[rng() % broken_json.size()];
                            if (rng() % 2 == 0) body += random_bytes(rng() % 64);
                            payload = post_request(body);
                            json_body = true;
                        }
                    }
                    Client client(port_);
                    if (!client.connected()) {
                        ++hung;
                        continue;
                    }
                    client.send(payload);
                    client.shutdown_write();
                    auto answer = client.read_answer(12s);
                    if (answer) {
                        ++answered;
                        if (answer->status == 400) ++bad_requests;
                        if (json_body && answer->status == 200 &&
                            answer->body.find("-32700") != std::string::npos)
                            ++parse_errors;
                    } else if (client.closed_within(12s)) {
                        ++closed_silently;
                    } else {
                        ++hung;
                    }
                }
            });
        }
        for (auto& th : threads) th.join();
        std::cerr << "garbage: " << answered << " answered (" << bad_requests << " with 400, "
                  << parse_errors << " with -32700), " << closed_silently
                  << " closed without an answer, " << hung << " hung\n";
        EXPECT_EQ(answered + closed_silently, kGarbage);
        EXPECT_EQ(hung.load(), 0u);
        EXPECT_GT(bad_requests.load(), 50u);
        EXPECT_GT(parse_errors.load(), 50u);
    }

    // ---- still answering, still relaying ----
    const json status = result("ferry_status");
    EXPECT_GE(status["api"]["bad_requests"].get<std::uint64_t>(), bad_requests.load());
    auto after = send("alpha", 5, "after garbage a");
    auto after_back = send("beta", 5, "after garbage b");
    wait_delivered(after, 90s);
    wait_delivered(after_back, 90s);
    ASSERT_TRUE(wait_count("alpha->beta", "delivered", 8, 30s));
    ASSERT_TRUE(wait_count("beta->alpha", "delivered", 5, 30s));
    for (const auto& p : after)
        EXPECT_EQ(result("ferry_packet", {{"id", p.id.hex()}})["state"], "delivered");

    const auto rss_after = rss_bytes(pid);
    ASSERT_TRUE(rss_after);
    std::cerr << "relayer VmRSS: " << (*rss_before >> 10) << " KiB before the abuse, "
              << (*rss_after >> 10) << " KiB after (bound " << (kRssBoundBytes >> 20)
              << " MiB, growth bound " << (kRssGrowthBoundBytes >> 20) << " MiB)\n";
    EXPECT_LT(*rss_after, kRssBoundBytes);
    EXPECT_LT(*rss_after, *rss_before + kRssGrowthBoundBytes);
}

// ---------------------------------------------------------------------------------------------

TEST_F(ApiLive, retry_revives_dead_packets_and_each_is_delivered_once) {
    ::setenv(kTokenEnv, kToken, 1);
    prepare("retry", [](json& c) {
        c["api"]["admin_token_env"] = kTokenEnv;
        c["retry"]["max_attempts"] = 1;  // the first failed delivery makes a packet dead
    });
    run_nodes();
    ::unsetenv(kTokenEnv);  // read once at start: the node no longer needs it
    // The relayer's attestors read each Inbox's validator set when they start and keep it for a
    // minute. Now the beta Inbox's owner replaces alpha's set with other validators: the relayer
    // still attests with the old set, and deliverBatch rejects each packet (PacketRejected: not
    // the configured signers) without reverting, so the packets go dead on their first attempt.
    constexpr std::size_t kOtherValidators = 7;  // dev accounts #7, #8: not running
    configure_source("beta", "alpha", kOtherValidators);

    auto sent = send("alpha", 3, "doomed");
    ASSERT_TRUE(wait_count("alpha->beta", "dead", 3, 90s)) << result("ferry_status").dump();
    const json dead_page = result("ferry_packets", {{"state", "dead"}, {"route", "alpha->beta"}});
    ASSERT_EQ(dead_page["packets"].size(), 3u);
    for (const auto& p : dead_page["packets"]) {
        EXPECT_EQ(p["attempts"], 1u);
        EXPECT_FALSE(p["last_error"].get<std::string>().empty());
    }
    json first = result("ferry_packet", {{"id", sent[0].id.hex()}});
    EXPECT_EQ(first["state"], "dead");
    ASSERT_TRUE(first["receipt"].is_object()) << first.dump();
    EXPECT_TRUE(first["receipt"]["packet_delivered"].is_null()) << first.dump();
    ASSERT_TRUE(first["receipt"]["packet_rejected"].is_object()) << first.dump();
    EXPECT_FALSE(first["receipt"]["packet_rejected"]["reason"].get<std::string>().empty());
    EXPECT_TRUE(delivered_logs("beta").empty());

    // Fix the cause.
    configure_source("beta", "alpha", devnet::kFirstValidatorAccount);

    // Without the token, with a wrong one, or another scheme: refused, nothing moves.
    EXPECT_EQ(error_of(-32001, "ferry_retry", {{"id", sent[0].id.hex()}})["message"],
              "unauthorized");
    EXPECT_EQ(error_of(-32001, "ferry_retry", {{"id", sent[0].id.hex()}},
                       bearer(std::string(kToken) + "x"))["message"],
              "unauthorized");
    error_of(-32001, "ferry_retry", {{"id", sent[0].id.hex()}},
             "Authorization: Basic " + std::string(kToken) + "\r\n");
    error_of(-32001, "ferry_retry", {{"route", "alpha->beta"}, {"dead", true}}, bearer(""));
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(result("ferry_packet", {{"id", sent[0].id.hex()}})["state"], "dead");
    EXPECT_EQ(result("ferry_packets", {{"state", "dead"}})["packets"].size(), 3u);

    // With the token: bad params are still -32602 / -32004.
    const std::string auth = bearer(kToken);
    expect_invalid_param("ferry_retry", {{"id", sent[0].id.hex()}, {"route", "alpha->beta"}},
                         "ferry_retry takes {id} or {route, dead: true}", "got", auth);
    expect_invalid_param("ferry_retry", {{"route", "alpha->beta"}}, "params.dead", "true", auth);
    expect_invalid_param("ferry_retry", {{"route", "alpha->beta"}, {"dead", "yes"}}, "params.dead",
                         "got \"yes\"", auth);
    expect_invalid_param("ferry_retry", {{"id", 7}}, "params.id", "64 hex digits", auth);
    {
        const json e =
            error_of(-32602, "ferry_retry", {{"route", "gamma->beta"}, {"dead", true}}, auth);
        EXPECT_NE(e["message"].get<std::string>().find("params.route"), std::string::npos);
        const json unknown = error_of(
            -32004, "ferry_retry",
            {{"id", crypto::keccak256(crypto::as_bytes(std::string_view("x"))).hex()}}, auth);
        EXPECT_NE(unknown["message"].get<std::string>().find("not found"), std::string::npos);
    }

    // One packet by id, then the rest of the route.
    EXPECT_EQ(result("ferry_retry", {{"id", sent[0].id.hex()}}, auth), json({{"retried", 1}}));
    EXPECT_EQ(result("ferry_retry", {{"route", "alpha->beta"}, {"dead", true}}, auth),
              json({{"retried", 2}}));
    EXPECT_EQ(result("ferry_retry", {{"route", "alpha->beta"}, {"dead", true}}, auth),
              json({{"retried", 0}}));
    wait_delivered(sent, 90s);
    ASSERT_TRUE(wait_count("alpha->beta", "delivered", 3, 30s));

    // Delivered exactly once each, and the queue agrees.
    std::this_thread::sleep_for(3s);
    const auto logs = delivered_logs("beta");
    for (const auto& p : sent) {
        EXPECT_EQ(logs.count(p.id) ? logs.at(p.id) : 0, 1) << "nonce " << p.nonce;
        const json rec = result("ferry_packet", {{"id", p.id.hex()}});
        EXPECT_EQ(rec["state"], "delivered") << rec.dump();
        EXPECT_EQ(rec["attempts"], 0u);
        EXPECT_EQ(rec["receipt"]["packet_delivered"]["success"], true) << rec.dump();
    }
    EXPECT_EQ(logs.size(), 3u);
    // A delivered packet is not retried.
    expect_invalid_param("ferry_retry", {{"id", sent[0].id.hex()}}, "is delivered", "only dead",
                         auth);
    EXPECT_EQ(result("ferry_status")["counters"]["packets_delivered"], 3u);
}

}  // namespace

// Proves the real `ferry status|packets|packet|retry` processes talk JSON-RPC to a node API (an
// in-process fake ApiServer answering canned spec-shaped JSON): text and --json output, cursor
// following, the admin bearer token sent but never printed, and clear errors.
#include "api/api_server.hpp"
#include "run_ferry.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using ferry::api::ApiServer;
using ferry::api::ApiServerOptions;
using ferry::api::MethodResult;
using ferry::api::RequestContext;
using ferry::api::RpcMethodError;
using ferry::chains::Task;
using ferry::test::run_ferry;
using nlohmann::json;

constexpr const char* kToken = "t0ken-for-the-cli-test-5e3f";
constexpr const char* kKnownId =
    "0x1111111111111111111111111111111111111111111111111111111111111111";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
std::string golden(const std::string& name) {
    return read_file(std::string(FERRY_CLI_GOLDEN_DIR) + "/" + name);
}

json packet_entry(int n, const std::string& state) {
    std::string id = "0x" + std::string(64, static_cast<char>('0' + n));
    return {{"id", id},      {"route", "beta->alpha"},          {"nonce", n},      {"state", state},
            {"attempts", 5}, {"updated_at", 1714564800000 + n}, {"last_error", ""}};
}

struct Call {
    std::string method;
    json params;
    std::optional<std::string> bearer;
};

/// A node API on 127.0.0.1:<free port> on its own thread, answering per the spec.
class FakeNode {
public:
    FakeNode() {
        auto created = ApiServer::create(io_.get_executor(), ApiServerOptions{});
        if (!created) throw std::runtime_error(created.error());
        server_ = std::move(*created);
        status_ = json::parse(golden("status.json"));
        packet_ = json::parse(golden("packet.json"));
        server_->add_method("ferry_status",
                            [this](const json& p, const RequestContext& c) -> Task<MethodResult> {
                                record("ferry_status", p, c);
                                co_return status_;
                            });
        server_->add_method(
            "ferry_packets", [this](const json& p, const RequestContext& c) -> Task<MethodResult> {
                record("ferry_packets", p, c);
                json page;
                const std::string cursor = p.is_object() ? p.value("cursor", std::string()) : "";
                if (cursor.empty()) {
                    page = {{"packets", {packet_entry(1, "dead"), packet_entry(2, "dead")}},
                            {"next_cursor", "c1"}};
                } else if (cursor == "c1") {
                    page = {{"packets", {packet_entry(3, "dead"), packet_entry(4, "dead")}},
                            {"next_cursor", "c2"}};
                } else {
                    page = {{"packets", {packet_entry(5, "dead")}}, {"next_cursor", nullptr}};
                }
                co_return page;
            });
        server_->add_method("ferry_packet",
                            [this](const json& p, const RequestContext& c) -> Task<MethodResult> {
                                record("ferry_packet", p, c);
                                if (p.is_object() && p.value("id", std::string()) == kKnownId)
                                    co_return packet_;
                                co_return RpcMethodError{-32004, "packet not found"};
                            });
        server_->add_method("ferry_retry",
                            [this](const json& p, const RequestContext& c) -> Task<MethodResult> {
                                record("ferry_retry", p, c);
                                if (!c.bearer_token || *c.bearer_token != kToken)
                                    co_return RpcMethodError{-32001, "unauthorized"};
                                json answer = {{"retried", p.contains("route") ? 3 : 1}};
                                co_return answer;
                            });
        server_->start();
        port_ = server_->port();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~FakeNode() {
        boost::asio::post(io_, [this] {
            server_->stop();
            io_.stop();
        });
        thread_.join();
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::uint16_t port() const { return port_; }
    std::vector<Call> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    void record(const std::string& method, const json& params, const RequestContext& c) {
        std::lock_guard lock(mutex_);
        calls_.push_back({method, params, c.bearer_token});
    }

    boost::asio::io_context io_;
    std::unique_ptr<ApiServer> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    json status_;
    json packet_;
    std::mutex mutex_;
    std::vector<Call> calls_;
};

TEST(cli_ops, status_prints_the_golden_table) {
    FakeNode node;
    const auto r = run_ferry({"status", "--api", node.url()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, golden("status.txt"));
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(node.calls().size(), 1u);
    EXPECT_EQ(node.calls()[0].method, "ferry_status");
    EXPECT_FALSE(node.calls()[0].bearer.has_value());  // only retry sends the token
}

TEST(cli_ops, status_json_is_the_raw_result) {
    FakeNode node;
    const auto r = run_ferry({"status", "--api", node.url(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out), json::parse(golden("status.json")));
}

TEST(cli_ops, status_takes_the_address_from_the_config) {
    FakeNode node;
    const auto dir =
        std::filesystem::temp_directory_path() / ("ferry-cli-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto config = dir / "node.json";
    std::ofstream(config) << R"({
      "database": "v.db",
      "api": {"listen": "127.0.0.1:)"
                          << node.port() << R"(", "admin_token_env": "FERRY_TEST_ADMIN"},
      "chains": [{"name": "alpha", "chain_id": 4301, "rpc": ["http://127.0.0.1:1"],
                  "outbox": "0x5fbdb2315678afecb367f032d93f642f64180aa3"}],
      "validator": {"chain": "alpha", "key": {"env": "FERRY_TEST_VALIDATOR_KEY"}}
    })";
    const auto r = run_ferry({"status", "-c", config.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, golden("status.txt"));
    // The config names the token variable: FERRY_ADMIN_TOKEN is not used.
    const auto retry =
        run_ferry({"retry", "-c", config.string(), kKnownId},
                  {std::string("FERRY_TEST_ADMIN=") + kToken, "FERRY_ADMIN_TOKEN=wrong"});
    EXPECT_EQ(retry.exit_code, 0) << retry.err;
    EXPECT_EQ(retry.out, std::string("retried 1 (packet ") + kKnownId + ")\n");
    std::filesystem::remove_all(dir);
}

TEST(cli_ops, packets_prints_one_page_with_a_cursor_hint) {
    FakeNode node;
    const auto r = run_ferry({"packets", "--api", node.url(), "--state", "dead", "--route",
                              "beta-alpha", "--limit", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string(64, '1')), std::string::npos);
    EXPECT_NE(r.out.find(std::string(64, '2')), std::string::npos);
    EXPECT_EQ(r.out.find(std::string(64, '3')), std::string::npos);
    EXPECT_NE(r.out.find("2 packets; more: --all, or --cursor c1\n"), std::string::npos) << r.out;
    const auto calls = node.calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].params, json({{"state", "dead"}, {"route", "beta->alpha"}, {"limit", 2}}));
}

TEST(cli_ops, packets_all_follows_the_cursors) {
    FakeNode node;
    const auto r = run_ferry({"packets", "--api", node.url(), "--all", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json out = json::parse(r.out);
    ASSERT_EQ(out["packets"].size(), 5u);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(out["packets"][static_cast<std::size_t>(i)]["nonce"], i + 1);
    EXPECT_TRUE(out["next_cursor"].is_null());
    const auto calls = node.calls();
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_FALSE(calls[0].params.contains("cursor"));
    EXPECT_EQ(calls[1].params["cursor"], "c1");
    EXPECT_EQ(calls[2].params["cursor"], "c2");

    const auto text = run_ferry({"packets", "--api", node.url(), "--all"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("\n5 packets\n"), std::string::npos) << text.out;
}

TEST(cli_ops, packet_prints_the_golden_block) {
    FakeNode node;
    const auto r = run_ferry({"packet", "--api", node.url(), kKnownId});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, golden("packet.txt"));
    const auto j = run_ferry({"packet", "--api", node.url(), kKnownId, "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    EXPECT_EQ(json::parse(j.out), json::parse(golden("packet.json")));
}

TEST(cli_ops, packet_errors_name_the_input) {
    FakeNode node;
    const std::string unknown = "0x" + std::string(64, 'e');
    const auto r = run_ferry({"packet", "--api", node.url(), unknown});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "ferry packet: error: packet " + unknown + " is not known to the node at " +
                         node.url() + "\n");
    const auto bad = run_ferry({"packet", "--api", node.url(), "0x12"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("bad packet id '0x12'"), std::string::npos) << bad.err;
    const auto route = run_ferry({"packets", "--api", node.url(), "--route", "a-b-c"});
    EXPECT_EQ(route.exit_code, 2);
    EXPECT_NE(route.err.find("--route 'a-b-c': ambiguous"), std::string::npos) << route.err;
    const auto state = run_ferry({"packets", "--api", node.url(), "--state", "zombie"});
    EXPECT_EQ(state.exit_code, 2);
}

TEST(cli_ops, retry_sends_the_bearer_token_and_never_prints_it) {
    FakeNode node;
    const auto r = run_ferry({"retry", "--api", node.url(), kKnownId},
                             {std::string("FERRY_ADMIN_TOKEN=") + kToken});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string("retried 1 (packet ") + kKnownId + ")\n");
    auto calls = node.calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].method, "ferry_retry");
    EXPECT_EQ(calls[0].params, json({{"id", kKnownId}}));
    ASSERT_TRUE(calls[0].bearer.has_value());
    EXPECT_EQ(*calls[0].bearer, kToken);

    const auto route =
        run_ferry({"retry", "--api", node.url(), "--route", "beta-alpha", "--dead", "--json"},
                  {std::string("FERRY_ADMIN_TOKEN=") + kToken});
    ASSERT_EQ(route.exit_code, 0) << route.err;
    EXPECT_EQ(json::parse(route.out), json({{"retried", 3}}));
    calls = node.calls();
    EXPECT_EQ(calls.back().params, json({{"route", "beta->alpha"}, {"dead", true}}));

    const auto wrong =
        run_ferry({"retry", "--api", node.url(), kKnownId}, {"FERRY_ADMIN_TOKEN=not-it-xyz"});
    EXPECT_EQ(wrong.exit_code, 1);
    EXPECT_EQ(wrong.err,
              "ferry retry: error: ferry_retry failed: unauthorized (code -32001); check the "
              "token in FERRY_ADMIN_TOKEN\n");
    for (const auto& out : {r.out, r.err, route.out, route.err, wrong.out, wrong.err}) {
        EXPECT_EQ(out.find(kToken), std::string::npos);
        EXPECT_EQ(out.find("not-it-xyz"), std::string::npos);
    }

    const auto missing =
        run_ferry({"retry", "--api", node.url(), kKnownId}, {}, {}, {"FERRY_ADMIN_TOKEN"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("the environment variable FERRY_ADMIN_TOKEN is not set"),
              std::string::npos)
        << missing.err;
    EXPECT_EQ(node.calls().size(), 3u);  // nothing sent without a token

    const auto neither = run_ferry({"retry", "--api", node.url()});
    EXPECT_EQ(neither.exit_code, 2);
    const auto route_only = run_ferry({"retry", "--api", node.url(), "--route", "a->b"});
    EXPECT_EQ(route_only.exit_code, 2);
}

TEST(cli_ops, nothing_listening_gives_a_clear_error) {
    std::uint16_t port = 0;
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }  // closed: nothing listens there now
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    const auto r = run_ferry({"status", "--api", url});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "ferry status: error: cannot reach the node API at " + url +
                         ": connection refused \xE2\x80\x94 is `ferry start` running? (--api "
                         "to change)\n");
    EXPECT_EQ(r.out, "");
    const auto bad = run_ferry({"status", "--api", "https://example.org"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("https is not supported"), std::string::npos) << bad.err;
}

TEST(cli_ops, every_command_has_help) {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"status", "--help"},
                                               {"packets", "--help"},
                                               {"packet", "--help"},
                                               {"retry", "--help"},
                                               {"keys", "--help"},
                                               {"keys", "new", "--help"},
                                               {"keys", "import", "--help"},
                                               {"keys", "list", "--help"},
                                               {"keys", "export", "--help"},
                                               {"start", "--help"}}) {
        const auto r = run_ferry(args);
        EXPECT_EQ(r.exit_code, 0) << args[0];
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << args[0] << r.out;
    }
    const auto start = run_ferry({"start", "--help"});
    EXPECT_NE(start.out.find("--log-format"), std::string::npos);
    const auto top = run_ferry({"--help"});
    for (const char* cmd : {"status", "packets", "packet", "retry", "keys"})
        EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    EXPECT_EQ(run_ferry({"status", "--no-such-flag"}).exit_code, 2);
    EXPECT_EQ(run_ferry({"keys"}).exit_code, 2);
}

}  // namespace

// A live node's GET /metrics holds the real numbers (packets delivered, latency histogram,
// chain heads, RPC counters), passes `promtool check metrics` without a lint warning, holds
// every metric the Grafana dashboard queries; GET /health answers 200 "ok" while the chains run
// and 503 naming the chain once that chain's anvil is stopped.
#include "devnet/devnet.hpp"
#include "relayer/version.hpp"
#include "tests/support/work_dir.hpp"

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace ferry;
using devnet::Devnet;
using devnet::DevnetOptions;
using devnet::SentPacket;

namespace {

struct HttpAnswer {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

/// GET http://127.0.0.1:<port><target> with a 10 s deadline.
HttpAnswer http_get(const std::string& base_url, const std::string& target) {
    const std::string prefix = "http://127.0.0.1:";
    if (base_url.rfind(prefix, 0) != 0) throw std::invalid_argument("bad API URL " + base_url);
    const auto port = static_cast<unsigned short>(std::stoul(base_url.substr(prefix.size())));
    boost::asio::io_context io;
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::connection, "close");
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    boost::system::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

/// Sample lines of an exposition text: "name{labels}" → value.
std::map<std::string, double> parse_samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        if (space == std::string::npos) continue;
        out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return out;
}

/// Family names declared by "# TYPE <name> <type>" lines, with their types.
std::map<std::string, std::string> parse_families(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# TYPE ", 0) != 0) continue;
        std::istringstream fields(line.substr(7));
        std::string name, type;
        fields >> name >> type;
        out[name] = type;
    }
    return out;
}

double value_of(const std::map<std::string, double>& samples, const std::string& series) {
    auto it = samples.find(series);
    if (it == samples.end()) throw std::runtime_error("no sample " + series);
    return it->second;
}

/// Runs `command` through the shell with stdin from `input_file`; exit code and all output.
std::pair<int, std::string> run_with_input(const std::string& command, const fs::path& input_file) {
    const std::string full = command + " < '" + input_file.string() + "' 2>&1";
    FILE* pipe = ::popen(full.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("popen failed: " + full);
    std::string output;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

/// promtool from PATH, else /usr/bin/promtool; empty when neither exists.
std::string find_promtool() {
    if (const char* path = std::getenv("PATH")) {
        std::istringstream dirs(path);
        std::string dir;
        while (std::getline(dirs, dir, ':')) {
            if (dir.empty()) continue;
            const fs::path candidate = fs::path(dir) / "promtool";
            if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        }
    }
    if (::access("/usr/bin/promtool", X_OK) == 0) return "/usr/bin/promtool";
    return {};
}

/// Every expr string of every panel target, nested rows included.
void collect_exprs(const nlohmann::json& panels, std::vector<std::string>& out) {
    if (!panels.is_array()) return;
    for (const auto& p : panels) {
        if (p.contains("targets") && p["targets"].is_array())
            for (const auto& t : p["targets"])
                if (t.contains("expr") && t["expr"].is_string()) out.push_back(t["expr"]);
        if (p.contains("panels")) collect_exprs(p["panels"], out);
    }
}

/// Polls `check` every 250 ms until it returns true or `timeout` passes.
bool eventually(std::chrono::seconds timeout, const std::function<bool()>& check) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (check()) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

class metrics_live : public ::testing::Test {
protected:
    void TearDown() override {
        if (net_) test::finish_devnet(*net_, HasFailure());
    }

    Devnet& make(const std::string& name, std::size_t validators, std::uint32_t threshold) {
        DevnetOptions o;
        o.work_dir = test::make_work_dir("ferry-metrics-" + name);
        o.anvil = FERRY_ANVIL;
        o.ferry_binary = FERRY_BINARY;
        o.validators = validators;
        o.threshold = threshold;
        net_ = std::make_unique<Devnet>(std::move(o));
        return *net_;
    }

    std::string metrics() {
        auto r = http_get(net_->relayer_api_url(), "/metrics");
        EXPECT_EQ(r.status, 200u) << r.body;
        EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
        return r.body;
    }

    std::unique_ptr<Devnet> net_;
};

}  // namespace

TEST_F(metrics_live, metrics_hold_real_values_pass_promtool_and_cover_the_dashboard) {
    const std::string promtool = find_promtool();
    ASSERT_FALSE(promtool.empty())
        << "promtool not found on PATH or at /usr/bin/promtool; run scripts/setup (it installs "
           "the Debian package prometheus)";

    Devnet& net = make("values", 3, 2);
    auto started = net.start();
    ASSERT_TRUE(started) << started.error().message;
    auto sent = net.send_packets("alpha", 5, "metrics a").value();
    auto back = net.send_packets("beta", 3, "metrics b").value();
    sent.insert(sent.end(), back.begin(), back.end());
    devnet::WaitOptions wait;
    wait.timeout = std::chrono::seconds(90);
    const auto outcome = net.wait_delivered(sent, wait).value();
    ASSERT_TRUE(outcome.complete()) << outcome.delivered << " of " << sent.size();

    // The Inbox says delivered; wait until the relayer has recorded every receipt.
    std::string text;
    std::map<std::string, double> s;
    const bool recorded = eventually(std::chrono::seconds(30), [&] {
        text = metrics();
        s = parse_samples(text);
        auto it = s.find("ferry_packets_delivered_total");
        return it != s.end() && it->second >= 8;
    });
    ASSERT_TRUE(recorded) << text;

    // Queue gauges: every state of every route, with the real counts.
    EXPECT_EQ(value_of(s, "ferry_packets{route=\"alpha->beta\",state=\"delivered\"}"), 5);
    EXPECT_EQ(value_of(s, "ferry_packets{route=\"beta->alpha\",state=\"delivered\"}"), 3);
    for (const char* state :
         {"observed", "attested", "submitted", "failed", "dead", "rejected", "expired"}) {
        EXPECT_EQ(value_of(s, std::string("ferry_packets{route=\"alpha->beta\",state=\"") + state +
                                  "\"}"),
                  0)
            << state;
    }
    EXPECT_EQ(value_of(s, "ferry_queue_depth{route=\"alpha->beta\"}"), 0);
    EXPECT_EQ(value_of(s, "ferry_queue_depth{route=\"beta->alpha\"}"), 0);
    EXPECT_EQ(value_of(s, "ferry_oldest_pending_age_seconds{route=\"alpha->beta\"}"), 0);

    // Pipeline counters.
    EXPECT_EQ(value_of(s, "ferry_packets_delivered_total"), 8);
    EXPECT_EQ(value_of(s, "ferry_packets_observed_total"), 8);
    EXPECT_EQ(value_of(s, "ferry_packets_invalid_total"), 0);
    EXPECT_EQ(value_of(s, "ferry_equivocations_rejected_total"), 0);
    EXPECT_GE(value_of(s, "ferry_attestations_accepted_total"), 16);  // 2-of-3 for 8 packets
    EXPECT_GE(value_of(s, "ferry_transactions_sent_total"), 2);       // one per direction at least
    EXPECT_GT(value_of(s, "ferry_gas_used_total"), 0);
    EXPECT_EQ(value_of(s, "ferry_delivery_latency_seconds_count"), 8);
    EXPECT_EQ(value_of(s, "ferry_delivery_latency_seconds_bucket{le=\"+Inf\"}"), 8);
    EXPECT_GT(value_of(s, "ferry_delivery_latency_seconds_sum"), 0);
    EXPECT_LE(value_of(s, "ferry_delivery_latency_seconds_bucket{le=\"1\"}"),
              value_of(s, "ferry_delivery_latency_seconds_bucket{le=\"60\"}"));

    // Chains, RPC and wallet.
    const std::uint64_t alpha_block = sent.front().block;
    for (const char* chain : {"alpha", "beta"}) {
        const std::string c = std::string("{chain=\"") + chain + "\"}";
        EXPECT_EQ(value_of(s, "ferry_chain_reachable" + c), 1) << chain;
        EXPECT_GE(value_of(s, "ferry_chain_scanned_block" + c), 1) << chain;
        EXPECT_GE(value_of(s, "ferry_chain_head" + c),
                  value_of(s, "ferry_chain_scanned_block" + c));
        EXPECT_GT(value_of(s, std::string("ferry_rpc_requests_total{chain=\"") + chain +
                                  "\",method=\"eth_blockNumber\"}"),
                  0);
        EXPECT_GT(value_of(s, std::string("ferry_rpc_requests_total{chain=\"") + chain +
                                  "\",method=\"eth_getLogs\"}"),
                  0);
    }
    EXPECT_GE(value_of(s, "ferry_chain_head{chain=\"alpha\"}"), static_cast<double>(alpha_block));
    const std::string relayer_address = devnet::dev_account(devnet::kRelayerAccount).address.hex();
    // Anvil funds dev accounts with 10000 ether; the deliveries spent gas on both chains. The
    // monitor reads balances every poll interval: the last receipt may be newer than its read.
    for (const char* chain : {"alpha", "beta"}) {
        const std::string wallet =
            std::string("{chain=\"") + chain + "\",address=\"" + relayer_address + "\"}";
        std::map<std::string, double> w;
        EXPECT_TRUE(eventually(std::chrono::seconds(10),
                               [&] {
                                   w = parse_samples(metrics());
                                   return value_of(w, "ferry_wallet_balance_wei" + wallet) < 1e22;
                               }))
            << chain << " balance " << value_of(w, "ferry_wallet_balance_wei" + wallet);
        const double wei = value_of(w, "ferry_wallet_balance_wei" + wallet);
        EXPECT_GT(wei, 9.9e21) << chain;
        EXPECT_NEAR(value_of(w, "ferry_wallet_balance_eth" + wallet), wei / 1e18, 1e-6) << chain;
    }
    EXPECT_EQ(value_of(s, "ferry_build_info{version=\"" + std::string(relayer::version()) + "\"}"),
              1);
    EXPECT_GT(value_of(s, "ferry_uptime_seconds"), 0);
    EXPECT_GE(value_of(s, "ferry_api_http_requests_total"), 1);

    // promtool: parses and lints the exact text; any output is a lint problem.
    const fs::path file = net.work_dir() / "metrics.txt";
    std::ofstream(file) << text;
    const auto [code, output] = run_with_input(promtool + " check metrics", file);
    std::cout << "promtool check metrics: exit " << code << ", output: [" << output << "]\n";
    EXPECT_EQ(code, 0) << output;
    EXPECT_EQ(output, "") << "promtool lint warnings";

    // Every ferry_* metric a dashboard query names is in the live output.
    std::ifstream dash_in(FERRY_DASHBOARD);
    ASSERT_TRUE(dash_in) << FERRY_DASHBOARD;
    const auto dashboard = nlohmann::json::parse(dash_in, nullptr, false);
    ASSERT_FALSE(dashboard.is_discarded()) << "configs/grafana/ferry.json is not JSON";
    std::vector<std::string> exprs;
    collect_exprs(dashboard["panels"], exprs);
    ASSERT_GE(exprs.size(), 6u);
    const auto families = parse_families(text);
    const std::regex metric_name("ferry_[a-zA-Z0-9_]+");
    std::set<std::string> used;
    for (const auto& e : exprs)
        for (std::sregex_iterator it(e.begin(), e.end(), metric_name), end; it != end; ++it)
            used.insert(it->str());
    ASSERT_FALSE(used.empty());
    for (const auto& name : used) {
        bool found = families.count(name) != 0;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string sfx = suffix;
            if (found || name.size() <= sfx.size() ||
                name.compare(name.size() - sfx.size(), sfx.size(), sfx) != 0)
                continue;
            auto it = families.find(name.substr(0, name.size() - sfx.size()));
            found = it != families.end() && it->second == "histogram";
        }
        EXPECT_TRUE(found) << "the dashboard uses " << name << ", which /metrics does not have";
    }
}

TEST_F(metrics_live, health_is_ok_while_chains_run_and_503_names_a_stopped_chain) {
    // The relayer alone: health is about chains, not validators.
    Devnet& net = make("health", 1, 1);
    for (auto step :
         {&Devnet::start_chains, &Devnet::deploy, &Devnet::write_configs, &Devnet::start_relayer}) {
        auto r = (net.*step)();
        ASSERT_TRUE(r) << r.error().message;
    }

    HttpAnswer h;
    ASSERT_TRUE(eventually(std::chrono::seconds(20),
                           [&] {
                               h = http_get(net.relayer_api_url(), "/health");
                               return h.status == 200;
                           }))
        << h.status << " " << h.body;
    EXPECT_EQ(h.body, "ok\n");
    EXPECT_EQ(h.content_type, "text/plain; charset=utf-8");

    auto* beta = net.process("anvil-beta");
    ASSERT_NE(beta, nullptr);
    beta->terminate();
    ASSERT_FALSE(beta->running());

    ASSERT_TRUE(eventually(std::chrono::seconds(30),
                           [&] {
                               h = http_get(net.relayer_api_url(), "/health");
                               return h.status == 503;
                           }))
        << h.status << " " << h.body;
    EXPECT_EQ(h.body.rfind("chain beta: unreachable: eth_blockNumber: ", 0), 0u) << h.body;
    EXPECT_EQ(h.body.find("alpha"), std::string::npos) << h.body;
    EXPECT_EQ(h.body.back(), '\n');

    const auto s = parse_samples(metrics());
    EXPECT_EQ(value_of(s, "ferry_chain_reachable{chain=\"beta\"}"), 0);
    EXPECT_EQ(value_of(s, "ferry_chain_reachable{chain=\"alpha\"}"), 1);
    EXPECT_GT(value_of(s, "ferry_rpc_errors_total{chain=\"beta\",method=\"eth_blockNumber\"}"), 0);
}

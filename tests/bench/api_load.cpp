// Load test of the node's JSON-RPC API: N keep-alive connections for D seconds, each
// sending one call after another (default ferry_status), from this process to a node in another
// process. Prints one JSON object on stdout:
//
//   {"requests", "requests_per_s", "p50_ms", "p99_ms", "max_ms", "errors", "statuses", ...}
//
// errors = transport failures, malformed answers, non-200 statuses and JSON-RPC error answers.
// Latency is from writing a request to reading its whole answer.
//
//   ferry_api_load --url http://127.0.0.1:8645 [-c 64] [-d 10] [--method ferry_status]
//   ferry_api_load --devnet [--send-rate 20] [-c 64] [-d 10] [--work-dir DIR] [--keep]
//
// --devnet starts a devnet (two anvil chains, 3 validators per chain, the relayer; real
// `ferry start` processes), keeps packets flowing both ways while the load runs, and also
// reports the relaying (sent / delivered) and the relayer's RSS and CPU. Progress goes to stderr.
#include "devnet/devnet.hpp"
#include "tests/support/work_dir.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct LoadOptions {
    std::string url;
    std::size_t connections = 64;
    double duration_s = 10;
    std::string method = "ferry_status";
    bool devnet = false;
    double send_rate = 20;  // packets per second while the load runs (devnet mode)
    std::string work_dir;
    bool keep = false;
    std::optional<std::uint32_t> rate_limit_per_s;  // devnet: the relayer's api.rate_limit_*
    std::optional<std::uint32_t> rate_limit_burst;
};

struct LoadResult {
    std::vector<double> latencies_ms;
    std::uint64_t errors = 0;
    std::map<unsigned, std::uint64_t> statuses;
    double elapsed_s = 0;
};

void progress(const std::string& line) { std::cerr << "[api-load] " << line << std::endl; }

/// Parses "http://host:port"; false for anything else.
bool parse_url(const std::string& url, std::string& host, std::string& port) {
    constexpr std::string_view kScheme = "http://";
    if (url.rfind(kScheme, 0) != 0) return false;
    std::string rest = url.substr(kScheme.size());
    if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return false;
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    return true;
}

/// One connection: calls until `deadline`, reconnecting after an error.
asio::awaitable<void> worker(tcp::endpoint endpoint, std::string request,
                             Clock::time_point deadline, LoadResult& result) {
    auto executor = co_await asio::this_coro::executor;
    std::string buffer;
    while (Clock::now() < deadline) {
        tcp::socket socket(executor);
        auto [connect_ec] = co_await socket.async_connect(endpoint, kNoThrow);
        if (connect_ec) {
            ++result.errors;
            asio::steady_timer pause(executor, std::chrono::milliseconds(10));
            co_await pause.async_wait(kNoThrow);
            continue;
        }
        socket.set_option(tcp::no_delay(true));
        buffer.clear();
        while (Clock::now() < deadline) {
            const auto started = Clock::now();
            auto [write_ec, written] =
                co_await asio::async_write(socket, asio::buffer(request), kNoThrow);
            if (write_ec) {
                ++result.errors;
                break;
            }
            auto [head_ec, head_n] = co_await asio::async_read_until(
                socket, asio::dynamic_buffer(buffer), "\r\n\r\n", kNoThrow);
            if (head_ec) {
                ++result.errors;
                break;
            }
            const std::string_view head(buffer.data(), head_n);
            unsigned status = 0;
            if (head.size() > 12 && head.rfind("HTTP/1.1 ", 0) == 0)
                status = static_cast<unsigned>(std::atoi(std::string(head.substr(9, 3)).c_str()));
            std::size_t length = 0;
            bool close = false;
            for (std::size_t pos = 0; pos < head.size();) {
                const auto end = head.find("\r\n", pos);
                if (end == std::string_view::npos) break;
                std::string line(head.substr(pos, end - pos));
                for (auto& c : line)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (line.rfind("content-length:", 0) == 0)
                    length =
                        static_cast<std::size_t>(std::strtoull(line.c_str() + 15, nullptr, 10));
                if (line.rfind("connection:", 0) == 0 && line.find("close") != std::string::npos)
                    close = true;
                pos = end + 2;
            }
            if (buffer.size() < head_n + length) {
                const std::size_t missing = head_n + length - buffer.size();
                const std::size_t old = buffer.size();
                buffer.resize(old + missing);
                auto [body_ec, body_n] = co_await asio::async_read(
                    socket, asio::buffer(buffer.data() + old, missing), kNoThrow);
                if (body_ec) {
                    ++result.errors;
                    break;
                }
            }
            const std::string_view body(buffer.data() + head_n, length);
            const double ms =
                std::chrono::duration<double, std::milli>(Clock::now() - started).count();
            ++result.statuses[status];
            if (status != 200 || body.find("\"result\"") == std::string_view::npos) {
                ++result.errors;
            } else {
                result.latencies_ms.push_back(ms);
            }
            buffer.erase(0, head_n + length);
            if (close) break;
        }
    }
}

LoadResult run_load(const LoadOptions& o) {
    std::string host, port;
    if (!parse_url(o.url, host, port))
        throw std::runtime_error("bad --url (expected http://host:port): " + o.url);
    asio::io_context io;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(host, port);
    if (endpoints.empty()) throw std::runtime_error("cannot resolve " + o.url);
    const tcp::endpoint endpoint = *endpoints.begin();
    const std::string body = json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", o.method}}.dump();
    const std::string request =
        "POST / HTTP/1.1\r\nHost: " + host + ":" + port +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    LoadResult result;
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(o.duration_s));
    for (std::size_t i = 0; i < o.connections; ++i)
        asio::co_spawn(io, worker(endpoint, request, deadline, result), asio::detached);
    io.run();
    result.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    return result;
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(index, sorted.size() - 1)];
}

double round3(double v) {
    return static_cast<double>(static_cast<long long>(v * 1000 + 0.5)) / 1000;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        auto value = line.substr(line.find(':') + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        return value;
    }
    return "unknown";
}

json loadavg() {
    std::ifstream in("/proc/loadavg");
    double one = 0, five = 0, fifteen = 0;
    in >> one >> five >> fifteen;
    return json::array({one, five, fifteen});
}

json report(const LoadOptions& o, LoadResult& r) {
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    const auto ok = r.latencies_ms.size();
    json statuses = json::object();
    for (const auto& [status, n] : r.statuses) statuses[std::to_string(status)] = n;
    return {{"method", o.method},
            {"connections", o.connections},
            {"duration_s", round3(r.elapsed_s)},
            {"requests", ok + r.errors},
            {"requests_per_s", round3(static_cast<double>(ok) / r.elapsed_s)},
            {"p50_ms", round3(percentile(r.latencies_ms, 0.50))},
            {"p99_ms", round3(percentile(r.latencies_ms, 0.99))},
            {"max_ms", ok == 0 ? 0.0 : round3(r.latencies_ms.back())},
            {"errors", r.errors},
            {"statuses", statuses}};
}

int run_devnet(LoadOptions o) {
    using namespace ferry;
    devnet::DevnetOptions d;
    d.work_dir = o.work_dir.empty() ? test::make_work_dir("ferry-api-load") : fs::path(o.work_dir);
    d.anvil = FERRY_ANVIL;
    d.ferry_binary = FERRY_BINARY;
    progress("starting a devnet in " + d.work_dir.string());
    devnet::Devnet net(d);
    const auto fail = [](const std::string& what) {
        progress("devnet failed: " + what);
        return 1;
    };
    if (auto r = net.start_chains(); !r) return fail(r.error().message);
    if (auto r = net.deploy(); !r) return fail(r.error().message);
    if (auto r = net.write_configs(); !r) return fail(r.error().message);
    if (o.rate_limit_per_s || o.rate_limit_burst) {
        // The relayer's api.rate_limit_* keys (the config's defaults otherwise).
        json config;
        {
            std::ifstream in(net.relayer_config_path());
            config = json::parse(in);
        }
        if (o.rate_limit_per_s) config["api"]["rate_limit_per_s"] = *o.rate_limit_per_s;
        if (o.rate_limit_burst) config["api"]["rate_limit_burst"] = *o.rate_limit_burst;
        std::ofstream(net.relayer_config_path()) << config.dump(2);
    }
    for (std::size_t i = 1; i <= d.validators; ++i)
        if (auto r = net.start_validator(i); !r) return fail(r.error().message);
    if (auto r = net.start_relayer(); !r) return fail(r.error().message);
    o.url = net.relayer_api_url();
    // Warm up: one packet each way delivered before measuring.
    std::vector<devnet::SentPacket> sent;
    for (const char* from : {"alpha", "beta"}) {
        auto s = net.send_packets(from, 1, "warm-up");
        if (!s) {
            progress("sending failed: " + s.error().message);
            return 1;
        }
        sent.insert(sent.end(), s->begin(), s->end());
    }
    if (auto w = net.wait_delivered(sent, {}); !w || !w->complete()) {
        progress("warm-up packets were not delivered");
        return 1;
    }
    sent.clear();

    const auto load_before = loadavg();
    std::atomic<bool> done{false};
    LoadResult result;
    std::thread load([&] {
        result = run_load(o);
        done = true;
    });
    progress("load: " + std::to_string(o.connections) + " connections for " +
             std::to_string(o.duration_s) + " s against " + o.url + "; sending packets meanwhile");
    // Relaying meanwhile: a batch each way every second or so.
    const auto per_batch = std::max<std::size_t>(1, static_cast<std::size_t>(o.send_rate / 2));
    std::string send_error;
    while (!done) {
        const auto t0 = Clock::now();
        for (const char* from : {"alpha", "beta"}) {
            auto s = net.send_packets(from, per_batch, "load");
            if (!s) {
                send_error = s.error().message;
                break;
            }
            sent.insert(sent.end(), s->begin(), s->end());
        }
        if (!send_error.empty()) break;
        std::this_thread::sleep_until(t0 + std::chrono::seconds(1));
    }
    load.join();
    const auto load_after = loadavg();
    json out = report(o, result);
    devnet::WaitOptions wait;
    wait.timeout = std::chrono::seconds(120);
    auto delivered = net.wait_delivered(sent, wait);
    json relaying = {{"packets_sent_during_load", sent.size()},
                     {"delivered_within_120s", delivered ? delivered->delivered : 0}};
    if (!send_error.empty()) relaying["send_error"] = send_error;
    out["relaying"] = relaying;
    if (auto* p = net.process("relayer")) {
        const auto rss = p->peak_rss_bytes();
        const auto cpu = p->cpu_seconds();
        out["relayer_peak_rss_mib"] = rss ? round3(static_cast<double>(*rss) / (1 << 20)) : 0.0;
        out["relayer_cpu_s"] = cpu ? round3(*cpu) : 0.0;
    }
    out["machine"] = {{"cpu", cpu_model()},
                      {"cpus", std::thread::hardware_concurrency()},
                      {"loadavg_before", load_before},
                      {"loadavg_after", load_after}};
    std::cout << out.dump() << std::endl;
    net.stop_all();
    if (!o.keep) {
        std::error_code ec;
        fs::remove_all(d.work_dir, ec);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    LoadOptions o;
    CLI::App app{
        "Load test of the Ferry node's JSON-RPC API: keep-alive connections calling one "
        "method as fast as the node answers; prints one JSON object."};
    app.add_option("--url", o.url, "The node's API, http://host:port");
    app.add_option("-c,--connections", o.connections, "Concurrent keep-alive connections")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    app.add_option("-d,--duration", o.duration_s, "Seconds to run")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    app.add_option("--method", o.method, "JSON-RPC method (no params)")->capture_default_str();
    app.add_flag("--devnet", o.devnet,
                 "Start a devnet (anvil chains, validators, relayer) and load its relayer while "
                 "packets flow both ways");
    app.add_option("--send-rate", o.send_rate, "Packets per second sent meanwhile (--devnet)")
        ->check(CLI::Range(0.0, 1000.0))
        ->capture_default_str();
    app.add_option("--work-dir", o.work_dir, "Devnet directory (default: a new temporary one)");
    app.add_flag("--keep", o.keep, "Keep the devnet directory");
    app.add_option("--rate-limit-per-s", o.rate_limit_per_s,
                   "--devnet: the relayer's api.rate_limit_per_s (default: the config default)");
    app.add_option("--rate-limit-burst", o.rate_limit_burst,
                   "--devnet: the relayer's api.rate_limit_burst (default: the config default)");
    CLI11_PARSE(app, argc, argv);
    try {
        if (o.devnet) return run_devnet(o);
        if (o.url.empty()) {
            std::cerr << "ferry_api_load: give --url or --devnet\n";
            return 2;
        }
        const auto before = loadavg();
        auto result = run_load(o);
        json out = report(o, result);
        out["machine"] = {{"cpu", cpu_model()},
                          {"cpus", std::thread::hardware_concurrency()},
                          {"loadavg_before", before},
                          {"loadavg_after", loadavg()}};
        std::cout << out.dump() << std::endl;
        return result.errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "ferry_api_load: " << e.what() << '\n';
        return 1;
    }
}

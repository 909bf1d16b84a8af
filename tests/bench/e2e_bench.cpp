// The end-to-end benchmark: a devnet (two anvil chains with 1 s blocks, three
// validators per source chain signing 2-of-3, ordered delivery, one relayer; all real
// `ferry start` processes), N packets sent alpha -> beta at once, and, once all are delivered,
// one JSON object per run on stdout:
//
//   seconds_to_all_delivered  first send (wall clock) to the last delivery seen by polling
//   latency_p50_s/_p99_s      source block timestamp (PacketSent) to destination block
//                             timestamp (PacketDelivered): chain time, 1 s resolution
//   gas_per_packet            gasUsed of the distinct delivery transactions / packets
//   relayer_peak_rss_mib/_cpu_seconds   /proc of the relayer just before it is stopped
//
// Progress goes to stderr. Usage: ferry_e2e_bench [--packets N] [--runs R] [--batch-size B]
// [--work-dir DIR] [--keep] [--timeout S] [--backlog]
// With --backlog every packet is sent before the relayer starts and the clock starts with it:
// seconds_to_all_delivered and packets_per_second are the catch-up (drain) figures.
#include "chains/evm/ferry_abi.hpp"
#include "devnet/devnet.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/work_dir.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace evm = ferry::chains::evm;
using namespace ferry;
using devnet::Devnet;
using devnet::DevnetOptions;
using devnet::SentPacket;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kFrom = "alpha";
constexpr std::string_view kTo = "beta";

struct BenchOptions {
    std::size_t packets = 1000;
    std::size_t runs = 1;
    std::uint32_t batch_size = DevnetOptions{}.batch_size;
    std::string work_dir;
    bool keep = false;
    std::uint64_t timeout_s = 600;
    /// Send every packet before the relayer starts: it catches up on a backlog (the drain
    /// rate and peak RSS of a catch-up).
    bool backlog = false;
};

std::atomic<bool> g_stop{false};

void on_bench_stop_signal(int) { g_stop.store(true); }

void progress(const std::string& line) { std::cerr << "[e2e-bench] " << line << std::endl; }

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        return value;
    }
    return "unknown";
}

double load_average_1m() {
    double load[1] = {0};
    return ::getloadavg(load, 1) == 1 ? load[0] : -1.0;
}

/// Nearest-rank percentile (p in (0, 100]) of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

/// Block timestamps, each block read once.
class BlockTimes {
public:
    explicit BlockTimes(test::ChainClient& client) : client_(client) {}
    std::uint64_t at(std::uint64_t block) {
        if (auto it = times_.find(block); it != times_.end()) return it->second;
        char quantity[24];
        std::snprintf(quantity, sizeof quantity, "0x%llx", static_cast<unsigned long long>(block));
        const auto b = client_.rpc().call("eth_getBlockByNumber", {quantity, false});
        if (b.is_null()) throw std::runtime_error("block " + std::to_string(block) + " not found");
        const auto t = test::quantity_u64(b.at("timestamp"));
        times_.emplace(block, t);
        return t;
    }

private:
    test::ChainClient& client_;
    std::map<std::uint64_t, std::uint64_t> times_;
};

/// The logs of `topic` at `address` in blocks from..to, asked 10 blocks at a time (a backlog's
/// answers for the whole range pass the test client's answer limit).
std::vector<evm::Log> logs_in_steps(test::ChainClient& client, const crypto::Address& address,
                                    const crypto::Hash32& topic, std::uint64_t from,
                                    std::uint64_t to) {
    std::vector<evm::Log> out;
    for (std::uint64_t b = from; b <= to; b += 10) {
        auto part = client.get_logs(address, topic, b, std::min(to, b + 9));
        out.insert(out.end(), std::make_move_iterator(part.begin()),
                   std::make_move_iterator(part.end()));
    }
    return out;
}

struct ChainMeasurements {
    std::vector<double> latency_s;  // per packet, block time to block time
    std::uint64_t gas_used = 0;     // of the distinct delivery transactions
    std::size_t delivery_txs = 0;
    std::size_t failed_deliveries = 0;  // PacketDelivered with success = false
};

/// Reads PacketSent logs on the source Outbox and PacketDelivered logs on the destination
/// Inbox for `sent`, their block timestamps and the delivery transactions' receipts.
ChainMeasurements measure_on_chain(Devnet& net, const std::vector<SentPacket>& sent) {
    const auto* src = net.chain(kFrom).value();
    const auto* dst = net.chain(kTo).value();
    test::ChainClient src_client(src->rpc_url);
    test::ChainClient dst_client(dst->rpc_url);
    BlockTimes src_times(src_client);
    BlockTimes dst_times(dst_client);

    std::map<crypto::PacketId, std::uint64_t> sent_time;  // id -> source block timestamp
    for (const auto& p : sent) sent_time.emplace(p.id, 0);
    std::uint64_t first_block = sent.front().block;
    std::uint64_t last_block = sent.front().block;
    for (const auto& p : sent) {
        first_block = std::min(first_block, p.block);
        last_block = std::max(last_block, p.block);
    }
    std::size_t found_sent = 0;
    for (const auto& log : logs_in_steps(src_client, src->outbox, evm::packet_sent_topic(),
                                         first_block, last_block)) {
        auto e = evm::decode_packet_sent(log);
        if (!e) throw std::runtime_error("bad PacketSent log: " + e.error().message());
        auto it = sent_time.find(e->id);
        if (it == sent_time.end()) continue;
        it->second = src_times.at(log.block_number);
        ++found_sent;
    }
    if (found_sent != sent.size())
        throw std::runtime_error("found " + std::to_string(found_sent) + " PacketSent logs of " +
                                 std::to_string(sent.size()) + " packets on " + src->name);

    const auto head = test::quantity_u64(dst_client.rpc().call("eth_blockNumber"));
    ChainMeasurements m;
    std::set<crypto::Hash32> txs;
    std::set<crypto::PacketId> seen;
    for (const auto& log : logs_in_steps(dst_client, dst->inbox, evm::packet_delivered_topic(),
                                         dst->deploy_block, head)) {
        auto e = evm::decode_packet_delivered(log);
        if (!e) throw std::runtime_error("bad PacketDelivered log: " + e.error().message());
        auto it = sent_time.find(e->id);
        if (it == sent_time.end() || !seen.insert(e->id).second) continue;
        if (!e->success) ++m.failed_deliveries;
        const auto delivered_at = dst_times.at(log.block_number);
        m.latency_s.push_back(static_cast<double>(delivered_at) - static_cast<double>(it->second));
        txs.insert(log.tx_hash);
    }
    if (seen.size() != sent.size())
        throw std::runtime_error("found " + std::to_string(seen.size()) +
                                 " PacketDelivered logs of " + std::to_string(sent.size()) +
                                 " packets on " + dst->name);
    for (const auto& tx : txs) {
        const auto receipt = dst_client.rpc().call("eth_getTransactionReceipt", {tx.hex()});
        if (receipt.is_null()) throw std::runtime_error("no receipt for delivery tx " + tx.hex());
        m.gas_used += test::quantity_u64(receipt.at("gasUsed"));
    }
    m.delivery_txs = txs.size();
    std::sort(m.latency_s.begin(), m.latency_s.end());
    return m;
}

double round_to(double v, int digits) {
    const double f = std::pow(10.0, digits);
    return std::round(v * f) / f;
}

/// The devnet without its relayer (started later on a backlog).
AppResult<void> start_without_relayer(Devnet& net, std::size_t validators) {
    if (auto r = net.start_chains(); !r) return r;
    if (auto r = net.deploy(); !r) return r;
    if (auto r = net.write_configs(); !r) return r;
    for (std::size_t i = 1; i <= validators; ++i)
        if (auto r = net.start_validator(i); !r) return r;
    return {};
}

/// One run on a fresh devnet in `work_dir`; the JSON line, or throws.
nlohmann::json run_once(const BenchOptions& options, std::size_t run, const fs::path& work_dir) {
    DevnetOptions o;
    o.work_dir = work_dir;
    o.anvil = FERRY_ANVIL;
    o.ferry_binary = FERRY_BINARY;
    o.block_time_s = 1.0;
    o.validators = 3;
    o.threshold = 2;
    o.ordered = true;
    o.batch_size = options.batch_size;
    // Minutes of full blocks would raise an EIP-1559 base fee 12.5 % per block beyond what any
    // account can pay: a backlog's chains start at base fee 0, where it stays near 0.
    if (options.backlog) o.base_fee_wei = 0;
    Devnet net(o);
    const double load_at_start = load_average_1m();

    auto fail = [&](const std::string& what) -> std::runtime_error {
        for (const auto& f : net.log_files()) progress("log: " + f.string());
        return std::runtime_error(what);
    };

    progress("run " + std::to_string(run) + ": starting the devnet in " + work_dir.string());
    auto started = options.backlog ? start_without_relayer(net, o.validators) : net.start();
    if (!started) throw fail("starting the devnet: " + started.error().message);

    progress("run " + std::to_string(run) + ": sending " + std::to_string(options.packets) +
             " packets " + std::string(kFrom) + " -> " + std::string(kTo));
    // A backlog goes out in chunks the source chain mines well within the send timeout.
    const std::size_t chunk = options.backlog ? 10'000 : options.packets;
    auto sent = net.send_packets(kFrom, std::min(chunk, options.packets), "bench");
    if (!sent) throw fail("sending packets: " + sent.error().message);
    while (sent->size() < options.packets) {
        auto more = net.send_packets(kFrom, std::min(chunk, options.packets - sent->size()),
                                     "bench " + std::to_string(sent->size()));
        if (!more) throw fail("sending packets: " + more.error().message);
        sent->insert(sent->end(), more->begin(), more->end());
        progress("sent " + std::to_string(sent->size()) + " / " + std::to_string(options.packets));
    }
    if (sent->empty()) throw std::runtime_error("no packets sent");
    auto first_send = sent->front().sent_at;
    if (options.backlog) {
        // The clock starts when the relayer does: seconds_to_all_delivered is the catch-up.
        progress("sent; starting the relayer on a backlog of " + std::to_string(sent->size()) +
                 " packets");
        first_send = Clock::now();
        if (auto r = net.start_relayer(); !r)
            throw fail("starting the relayer: " + r.error().message);
    }
    progress("sent (blocks " + std::to_string(sent->front().block) + ".." +
             std::to_string(sent->back().block) + "); waiting for delivery");

    devnet::WaitOptions wait;
    wait.timeout = std::chrono::seconds(options.timeout_s);
    wait.poll = std::chrono::milliseconds(200);
    std::size_t delivered = 0;
    const std::size_t step = std::max<std::size_t>(1, options.packets / 10);
    wait.on_delivered = [&](const SentPacket&, std::chrono::duration<double>) {
        ++delivered;
        if (delivered % step == 0 || delivered == options.packets)
            progress("delivered " + std::to_string(delivered) + " / " +
                     std::to_string(options.packets));
    };
    std::vector<std::string> dead;
    wait.interrupted = [&] {
        dead = net.exited_nodes();
        return g_stop.load() || !dead.empty();
    };
    auto outcome = net.wait_delivered(*sent, wait);
    if (!outcome) throw fail("checking deliveries: " + outcome.error().message);
    for (const auto& d : dead) progress("node exited: " + d);
    if (!outcome->complete())
        throw fail(std::to_string(outcome->delivered) + " of " + std::to_string(sent->size()) +
                   " packets delivered" +
                   (outcome->interrupted ? std::string(" (interrupted)") : " within the timeout"));

    Clock::time_point last_seen = first_send;
    for (std::size_t k = 0; k < sent->size(); ++k) {
        const auto seen =
            (*sent)[k].sent_at + std::chrono::duration_cast<Clock::duration>(*outcome->latency[k]);
        last_seen = std::max(last_seen, seen);
    }
    const double seconds = std::chrono::duration<double>(last_seen - first_send).count();

    // The relayer's resource use, read before it stops.
    std::optional<std::uint64_t> rss;
    std::optional<double> cpu;
    if (auto* relayer = net.process("relayer")) {
        rss = relayer->peak_rss_bytes();
        cpu = relayer->cpu_seconds();
    }
    progress("all delivered in " + std::to_string(seconds) + " s; relayer peak RSS " +
             (rss ? std::to_string(*rss / 1024) + " KiB" : std::string("?")));

    progress("reading logs, block timestamps and receipts");
    const auto m = measure_on_chain(net, *sent);
    net.stop_all();

    const auto n = static_cast<double>(sent->size());
    nlohmann::json j;
    j["run"] = run;
    j["packets"] = sent->size();
    j["route"] = std::string(kFrom) + "->" + std::string(kTo);
    j["block_time_s"] = o.block_time_s;
    j["validators"] = o.validators;
    j["threshold"] = o.threshold;
    j["ordered"] = o.ordered;
    j["batch_size"] = o.batch_size;
    j["backlog"] = options.backlog;
    j["base_fee_wei_at_start"] =
        o.base_fee_wei ? nlohmann::json(*o.base_fee_wei) : nlohmann::json();
    j["seconds_to_all_delivered"] = round_to(seconds, 3);
    j["packets_per_second"] = round_to(seconds > 0 ? n / seconds : 0.0, 2);
    j["latency_p50_s"] = percentile(m.latency_s, 50);
    j["latency_p99_s"] = percentile(m.latency_s, 99);
    j["latency_max_s"] = m.latency_s.empty() ? 0.0 : m.latency_s.back();
    j["delivery_txs"] = m.delivery_txs;
    j["failed_deliveries"] = m.failed_deliveries;
    j["gas_per_packet"] = round_to(static_cast<double>(m.gas_used) / n, 1);
    j["relayer_peak_rss_mib"] =
        rss ? nlohmann::json(round_to(static_cast<double>(*rss) / (1024.0 * 1024.0), 1))
            : nlohmann::json(nullptr);
    j["relayer_cpu_seconds"] = cpu ? nlohmann::json(round_to(*cpu, 2)) : nlohmann::json(nullptr);
    j["machine"] = {{"nproc", ::sysconf(_SC_NPROCESSORS_ONLN)},
                    {"cpu_model", cpu_model()},
                    {"load_avg_1m_at_start", round_to(load_at_start, 2)}};
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    BenchOptions options;
    CLI::App app{
        "Ferry end-to-end benchmark: a devnet (anvil, 1 s blocks, 3 validators 2-of-3, ordered), "
        "N packets alpha -> beta, one JSON line per run on stdout"};
    app.add_option("--packets", options.packets, "Packets per run")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    app.add_option("--runs", options.runs, "Runs, each on a fresh devnet")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100}));
    app.add_option("--batch-size", options.batch_size, "The relayer's batch size")
        ->capture_default_str()
        ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{10'000}));
    app.add_option("--work-dir", options.work_dir,
                   "Directory for configs, databases and logs (default: a new temporary one)");
    app.add_flag("--keep", options.keep, "Keep the work directory");
    app.add_flag("--backlog", options.backlog,
                 "Send every packet before the relayer starts, then time its catch-up");
    app.add_option("--timeout", options.timeout_s, "Longest wait for delivery per run, seconds")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{86'400}));
    CLI11_PARSE(app, argc, argv);

    struct sigaction sa {};
    sa.sa_handler = on_bench_stop_signal;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    fs::path root;
    bool created_root = false;
    try {
        if (options.work_dir.empty()) {
            root = test::make_work_dir("ferry-e2e-bench");
            created_root = true;
        } else {
            root = options.work_dir;
            created_root = !fs::exists(root);
            fs::create_directories(root);
        }
    } catch (const std::exception& e) {
        std::cerr << "ferry_e2e_bench: " << e.what() << '\n';
        return 1;
    }

    int code = 0;
    for (std::size_t run = 1; run <= options.runs && !g_stop.load(); ++run) {
        const fs::path dir = root / ("run-" + std::to_string(run));
        try {
            const auto j = run_once(options, run, dir);
            std::cout << j.dump() << std::endl;
            if (!options.keep) {
                std::error_code ec;
                fs::remove_all(dir, ec);
            }
        } catch (const std::exception& e) {
            std::cerr << "ferry_e2e_bench: run " << run << ": " << e.what() << '\n';
            std::cerr << "ferry_e2e_bench: logs kept in " << dir.string() << '\n';
            code = 1;
            break;
        }
    }
    if (g_stop.load()) code = code == 0 ? 130 : code;
    if (code == 0 && !options.keep && created_root) {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    return code;
}

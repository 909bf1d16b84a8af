// The soak test: two anvil chains, three validators per chain and the relayer (real
// `ferry start` processes, devnet/devnet.hpp), the relayer reaching beta through a killable TCP
// proxy, a steady stream of packets both ways, and at random intervals SIGKILL + restart of the
// relayer, SIGKILL + restart of one validator, and close + reopen of the proxy. At the end it
// stops sending, waits for delivery and checks on chain that every packet sent was delivered
// exactly once (PacketDelivered per id on the destination Inbox, TestRecipient per body). It
// prints the figures as text and as one JSON line ("SOAK_RESULT {...}"); exit 0 only when
// nothing was lost or duplicated and no node died on its own. Run it with scripts/soak.
#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "crypto/keccak.hpp"
#include "devnet/devnet.hpp"
#include "tests/support/ferry_chain.hpp"
#include "tests/support/rpc_client.hpp"
#include "tests/support/tcp_proxy.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace evm = ferry::chains::evm;
using namespace ferry;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) { g_interrupted = true; }

struct Options {
    double minutes = 10;
    double rate = 1.0;  // packets per second, per direction
    double relayer_kill_s = 120;
    double validator_kill_s = 60;
    double outage_every_s = 90;
    double outage_max_s = 12;
    double validator_down_max_s = 8;
    double block_time_s = 1.0;
    double drain_timeout_s = 300;
    std::uint64_t seed = 0;  // 0: from the clock
    std::string anvil = FERRY_ANVIL;
    std::string ferry = FERRY_BINARY;
    std::string work_dir;
    bool keep = false;
};

/// Resource use of one process, read from /proc.
struct Sample {
    double at_s = 0;   // since the soak began
    double age_s = 0;  // since this process started
    std::uint64_t rss_kb = 0;
    std::size_t fds = 0;
};

json to_json(const Sample& s) {
    return {{"at_s", std::round(s.at_s)},
            {"age_s", std::round(s.age_s)},
            {"rss_kb", s.rss_kb},
            {"fds", s.fds}};
}

std::optional<Sample> sample_process(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return std::nullopt;
    Sample s;
    bool found = false;
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream in(line.substr(6));
            in >> s.rss_kb;
            found = true;
        }
    }
    if (!found) return std::nullopt;
    std::error_code ec;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec))
        ++s.fds;
    if (ec) return std::nullopt;
    return s;
}

/// One relayer process between two kills.
struct Incarnation {
    pid_t pid = -1;
    Clock::time_point started;
    std::optional<Sample> warm;  // the first sample at least kWarmAge old
    std::optional<Sample> last;
};
constexpr Seconds kWarmAge{20.0};

fs::path make_work_dir() {
    std::string pattern = (fs::temp_directory_path() / "ferry-soak-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    return made;
}

template <class T>
T value_or_throw(ferry::AppResult<T> r, const std::string& what) {
    if (!r) throw std::runtime_error(what + ": " + r.error().message);
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

void check_ok(ferry::AppResult<void> r, const std::string& what) {
    if (!r) throw std::runtime_error(what + ": " + r.error().message);
}

std::string now_text(Clock::time_point began) {
    const auto s = static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - began).count());
    char buf[32];
    std::snprintf(buf, sizeof buf, "[%3ld:%02ld]", s / 60, s % 60);
    return buf;
}

struct DeliveryCheck {
    std::size_t delivered = 0;   // sent packets with at least one PacketDelivered
    std::size_t duplicates = 0;  // extra PacketDelivered beyond the first, over sent packets
    std::size_t lost = 0;        // sent packets with none
    std::size_t failed = 0;      // PacketDelivered with success == false
    std::size_t foreign = 0;     // PacketDelivered of ids the soak did not send
    std::size_t recipient_mismatch = 0;  // TestRecipient.timesReceived(body) != 1
};

/// Reads every PacketDelivered of both Inboxes and TestRecipient's count per body.
DeliveryCheck check_on_chain(devnet::Devnet& net, const std::vector<devnet::SentPacket>& sent) {
    DeliveryCheck out;
    std::map<crypto::PacketId, int> times;
    std::map<crypto::PacketId, bool> ours;
    for (const auto& p : sent) ours[p.id] = true;
    for (const auto& chain : net.chains()) {
        test::ChainClient client(chain.rpc_url);
        const auto head = test::quantity_u64(client.rpc().call("eth_blockNumber"));
        // In windows, so no single eth_getLogs answer gets large.
        constexpr std::uint64_t kWindow = 2000;
        for (std::uint64_t from = chain.deploy_block; from <= head; from += kWindow) {
            const auto to = std::min(head, from + kWindow - 1);
            for (const auto& log :
                 client.get_logs(chain.inbox, evm::packet_delivered_topic(), from, to)) {
                auto e = evm::decode_packet_delivered(log);
                if (!e) throw std::runtime_error("undecodable PacketDelivered on " + chain.name);
                if (!e->success) ++out.failed;
                if (ours.count(e->id) == 0) {
                    ++out.foreign;
                    continue;
                }
                ++times[e->id];
            }
        }
    }
    std::map<std::string, test::ChainClient> clients;
    for (const auto& p : sent) {
        const int n = times[p.id];
        if (n == 0) {
            ++out.lost;
            std::cerr << "lost: " << p.route() << " nonce " << p.nonce << " id " << p.id.hex()
                      << '\n';
        } else {
            ++out.delivered;
            if (n > 1) {
                out.duplicates += static_cast<std::size_t>(n - 1);
                std::cerr << "duplicate (" << n << "x): " << p.route() << " nonce " << p.nonce
                          << " id " << p.id.hex() << '\n';
            }
        }
        auto it = clients.find(p.to);
        if (it == clients.end())
            it = clients.emplace(p.to, test::ChainClient(net.chain(p.to).value()->rpc_url)).first;
        const auto data = evm::AbiEncoder()
                              .add_bytes32(crypto::keccak256(p.body))
                              .encode_call(evm::function_selector("timesReceived(bytes32)"));
        const auto* dst = net.chain(p.to).value();
        auto count = evm::AbiDecoder(it->second.call(dst->recipient, data)).read_uint(64);
        if (!count) throw std::runtime_error("cannot decode timesReceived");
        if (*count != 1) {
            ++out.recipient_mismatch;
            std::cerr << "TestRecipient saw " << p.route() << " nonce " << p.nonce << " " << *count
                      << " times\n";
        }
    }
    return out;
}

int run(const Options& o) {
    std::mt19937_64 rng(o.seed);
    const auto uniform = [&](double lo, double hi) {
        return std::uniform_real_distribution<double>(lo, hi)(rng);
    };
    // The next event of a kind: between half and one and a half times its mean interval.
    const auto next_in = [&](double mean_s) {
        return std::chrono::duration_cast<Clock::duration>(Seconds(uniform(0.5, 1.5) * mean_s));
    };

    devnet::DevnetOptions dopt;
    dopt.work_dir = o.work_dir.empty() ? make_work_dir() : fs::path(o.work_dir);
    dopt.anvil = o.anvil;
    dopt.ferry_binary = o.ferry;
    dopt.block_time_s = o.block_time_s;
    dopt.validators = 3;
    dopt.threshold = 2;
    devnet::Devnet net(dopt);
    std::cout << "soak: work dir " << net.work_dir() << " (logs there), seed " << o.seed << '\n';

    check_ok(net.start_chains(), "starting the chains");
    check_ok(net.deploy(), "deploying");
    check_ok(net.write_configs(), "writing the configs");

    // The relayer reaches beta only through the proxy.
    const auto* beta = value_or_throw(net.chain("beta"), "beta");
    test::RpcClient beta_direct(beta->rpc_url);
    test::TcpProxy proxy(beta_direct.port());
    {
        std::ifstream in(net.relayer_config_path());
        json config = json::parse(in);
        bool pointed = false;
        for (auto& c : config["chains"]) {
            if (c["name"] == "beta") {
                c["rpc"] = json::array({proxy.url()});
                pointed = true;
            }
        }
        if (!pointed) throw std::runtime_error("no chain beta in relayer.json");
        std::ofstream out(net.relayer_config_path(), std::ios::trunc);
        out << config.dump(2) << '\n';
    }
    for (std::size_t i = 1; i <= 3; ++i)
        check_ok(net.start_validator(i), "starting validator " + std::to_string(i));
    check_ok(net.start_relayer(), "starting the relayer");

    const auto began = Clock::now();
    const auto end = began + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double, std::ratio<60>>(o.minutes));
    std::vector<Incarnation> relayers;
    const auto new_incarnation = [&] {
        Incarnation inc;
        if (auto* p = net.process("relayer")) inc.pid = p->pid();
        inc.started = Clock::now();
        relayers.push_back(inc);
    };
    new_incarnation();

    std::vector<devnet::SentPacket> sent;
    std::map<std::string, std::size_t> kills = {{"relayer", 0}, {"validator", 0}, {"proxy", 0}};
    std::vector<std::string> unexpected;
    std::size_t send_errors = 0;
    std::size_t calls = 0;
    double owed_alpha = 0, owed_beta = 0;
    auto last_tick = Clock::now();
    auto next_relayer_kill = began + next_in(o.relayer_kill_s);
    auto next_validator_kill = began + next_in(o.validator_kill_s);
    auto next_outage = began + next_in(o.outage_every_s);
    // Plain values rather than std::optional: g++ 12 -O2 misreports optional<time_point> as
    // maybe-uninitialized.
    std::size_t validator_down = 0;  // the validator killed and not yet restarted; 0: none
    Clock::time_point validator_back_at{};
    bool proxy_down = false;
    Clock::time_point proxy_back_at{};
    auto next_report = began + std::chrono::seconds(60);

    const auto sample_relayer = [&] {
        if (relayers.empty() || relayers.back().pid < 0) return;
        auto& inc = relayers.back();
        auto s = sample_process(inc.pid);
        if (!s) return;
        s->at_s = Seconds(Clock::now() - began).count();
        s->age_s = Seconds(Clock::now() - inc.started).count();
        if (!inc.warm && s->age_s >= kWarmAge.count()) inc.warm = *s;
        inc.last = *s;
    };

    const auto send = [&](const char* from, double& owed) {
        const auto n = static_cast<std::size_t>(owed);
        if (n == 0) return;
        owed -= static_cast<double>(n);
        const std::string prefix = std::string("soak ") + from + " " + std::to_string(++calls);
        auto r = net.send_packets(from, n, prefix);
        if (!r) {
            // The sender talks to anvil directly; a failure here is the harness's, not Ferry's.
            ++send_errors;
            std::cerr << now_text(began) << " sending from " << from
                      << " failed: " << r.error().message << '\n';
            return;
        }
        sent.insert(sent.end(), r->begin(), r->end());
    };

    while (Clock::now() < end && !g_interrupted) {
        const auto now = Clock::now();
        const double dt = Seconds(now - last_tick).count();
        last_tick = now;
        owed_alpha += o.rate * dt;
        owed_beta += o.rate * dt;
        send("alpha", owed_alpha);
        send("beta", owed_beta);

        // Nodes that died on their own: a failure, but restart them so the soak goes on.
        for (const auto& line : net.exited_nodes()) {
            unexpected.push_back(line);
            std::cerr << now_text(began) << " node exited on its own: " << line << '\n';
            for (std::size_t v = 1; v <= 3; ++v) {
                if (line.rfind("validator-" + std::to_string(v) + "-", 0) != 0) continue;
                (void)net.stop_validator(v, SIGKILL);  // its node for the other chain
                if (validator_down != v)
                    check_ok(net.start_validator(v), "restarting validator " + std::to_string(v));
            }
        }
        if (net.process("relayer") == nullptr) {
            check_ok(net.start_relayer(), "restarting the relayer after it exited");
            new_incarnation();
        }

        if (Clock::now() >= next_relayer_kill) {
            sample_relayer();
            if (auto killed = net.kill_relayer(SIGKILL); !killed)
                throw std::runtime_error("killing the relayer: " + killed.error().message);
            ++kills["relayer"];
            std::cout << now_text(began) << " SIGKILL relayer (#" << kills["relayer"] << ")"
                      << std::endl;
            check_ok(net.start_relayer(), "restarting the relayer");
            new_incarnation();
            next_relayer_kill = Clock::now() + next_in(o.relayer_kill_s);
        }
        if (validator_down == 0 && Clock::now() >= next_validator_kill) {
            const auto i = static_cast<std::size_t>(uniform(1, 4));
            const std::size_t v = std::min<std::size_t>(3, std::max<std::size_t>(1, i));
            check_ok(net.stop_validator(v, SIGKILL), "killing validator " + std::to_string(v));
            ++kills["validator"];
            const auto down = Seconds(uniform(0.5, o.validator_down_max_s));
            validator_down = v;
            validator_back_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(down);
            std::cout << now_text(began) << " SIGKILL validator " << v << " (#"
                      << kills["validator"] << "), down " << static_cast<int>(down.count()) << " s"
                      << std::endl;
        }
        if (validator_down != 0 && Clock::now() >= validator_back_at) {
            check_ok(net.start_validator(validator_down),
                     "restarting validator " + std::to_string(validator_down));
            validator_down = 0;
            next_validator_kill = Clock::now() + next_in(o.validator_kill_s);
        }
        if (!proxy_down && Clock::now() >= next_outage) {
            proxy.close();
            proxy_down = true;
            ++kills["proxy"];
            const auto down = Seconds(uniform(1.0, o.outage_max_s));
            proxy_back_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(down);
            std::cout << now_text(began) << " proxy to beta closed (#" << kills["proxy"]
                      << "), for " << static_cast<int>(down.count()) << " s" << std::endl;
        }
        if (proxy_down && Clock::now() >= proxy_back_at) {
            proxy.reopen();
            proxy_down = false;
            next_outage = Clock::now() + next_in(o.outage_every_s);
        }

        sample_relayer();
        if (Clock::now() >= next_report) {
            const auto& inc = relayers.back();
            std::cout << now_text(began) << " sent " << sent.size() << ", relayer pid " << inc.pid
                      << " rss " << (inc.last ? inc.last->rss_kb : 0) << " kB, fds "
                      << (inc.last ? inc.last->fds : 0) << std::endl;
            next_report += std::chrono::seconds(60);
        }
        std::this_thread::sleep_until(now + std::chrono::seconds(1));
    }

    // Stop the faults, then wait for every packet.
    std::cout << now_text(began) << " stopped sending: " << sent.size()
              << " packets; waiting for delivery" << std::endl;
    if (proxy_down) proxy.reopen();
    if (validator_down != 0) check_ok(net.start_validator(validator_down), "restarting validator");
    devnet::WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.drain_timeout_s * 1000));
    wait.poll = std::chrono::milliseconds(500);
    const auto outcome = value_or_throw(net.wait_delivered(sent, wait), "waiting for delivery");
    const auto drained_at = Clock::now();
    std::cout << now_text(began) << " " << outcome.delivered << " of " << sent.size()
              << " seen delivered; settling" << std::endl;
    // Let the relayer finish its receipts, then measure it at rest.
    std::this_thread::sleep_for(std::chrono::seconds(10));
    sample_relayer();
    for (const auto& line : net.exited_nodes()) unexpected.push_back(line);

    const DeliveryCheck check = check_on_chain(net, sent);

    // Figures. start: the first relayer process 20 s after it started (under load); end: the
    // process running at the end, after delivery and 10 s of rest. Every relayer process is
    // also measured 20 s after its (re)start ("warm"), which compares processes at the same
    // point of their lives, and the longest-lived one at 20 s and at its end.
    const Incarnation& first = relayers.front();
    const Incarnation& last = relayers.back();
    const Incarnation* longest = &relayers.front();
    for (const auto& inc : relayers) {
        if (inc.last && (!longest->last || inc.last->age_s > longest->last->age_s)) longest = &inc;
    }
    std::vector<const Sample*> warm;
    for (const auto& inc : relayers)
        if (inc.warm) warm.push_back(&*inc.warm);
    const auto opt_json = [](const std::optional<Sample>& s) { return s ? to_json(*s) : json(); };

    json result = {
        {"minutes", o.minutes},
        {"rate_per_direction_per_s", o.rate},
        {"seed", o.seed},
        {"packets_sent", sent.size()},
        {"packets_delivered", check.delivered},
        {"duplicates", check.duplicates},
        {"lost", check.lost},
        {"failed_deliveries", check.failed},
        {"foreign_deliveries", check.foreign},
        {"recipient_mismatches", check.recipient_mismatch},
        {"drain_s", std::round(Seconds(drained_at - end).count())},
        {"kills",
         {{"relayer", kills["relayer"]},
          {"validator", kills["validator"]},
          {"proxy", kills["proxy"]}}},
        {"unexpected_exits", unexpected.size()},
        {"send_errors", send_errors},
        {"relayer_processes", relayers.size()},
        {"relayer_start", opt_json(first.warm)},
        {"relayer_end", opt_json(last.last)},
        {"longest_lived", {{"warm", opt_json(longest->warm)}, {"end", opt_json(longest->last)}}},
        {"warm_after_restart",
         {{"first", warm.empty() ? json() : to_json(*warm.front())},
          {"last", warm.empty() ? json() : to_json(*warm.back())},
          {"rss_kb_min", warm.empty() ? 0
                                      : (*std::min_element(warm.begin(), warm.end(),
                                                           [](auto* a, auto* b) {
                                                               return a->rss_kb < b->rss_kb;
                                                           }))
                                            ->rss_kb},
          {"rss_kb_max", warm.empty() ? 0
                                      : (*std::max_element(warm.begin(), warm.end(),
                                                           [](auto* a, auto* b) {
                                                               return a->rss_kb < b->rss_kb;
                                                           }))
                                            ->rss_kb},
          {"fds_max", warm.empty()
                          ? 0
                          : (*std::max_element(warm.begin(), warm.end(),
                                               [](auto* a, auto* b) { return a->fds < b->fds; }))
                                ->fds}}},
    };
    const bool ok = check.lost == 0 && check.duplicates == 0 && check.recipient_mismatch == 0 &&
                    check.failed == 0 && unexpected.empty() && send_errors == 0 && !g_interrupted;
    result["ok"] = ok;

    const auto kb = [](const std::optional<Sample>& s) {
        return s ? std::to_string(s->rss_kb) + " kB / " + std::to_string(s->fds) + " fds (age " +
                       std::to_string(static_cast<long>(s->age_s)) + " s)"
                 : std::string("n/a");
    };
    std::cout << "\n== soak: " << o.minutes << " min, " << o.rate << " packets/s each way ==\n"
              << "packets sent       " << sent.size() << '\n'
              << "delivered (once+)  " << check.delivered << '\n'
              << "duplicates         " << check.duplicates << '\n'
              << "lost               " << check.lost << '\n'
              << "recipient mismatch " << check.recipient_mismatch << '\n'
              << "failed / foreign   " << check.failed << " / " << check.foreign << '\n'
              << "kills survived     relayer " << kills["relayer"] << ", validator "
              << kills["validator"] << ", proxy " << kills["proxy"] << '\n'
              << "unexpected exits   " << unexpected.size() << '\n'
              << "relayer at start   " << kb(first.warm) << "  [first process, 20 s in]\n"
              << "relayer at end     " << kb(last.last) << "  [after delivery + 10 s]\n"
              << "longest-lived      " << kb(longest->warm) << " -> " << kb(longest->last) << '\n'
              << "warm after restart first "
              << kb(warm.empty() ? std::nullopt : std::optional(*warm.front())) << ", last "
              << kb(warm.empty() ? std::nullopt : std::optional(*warm.back())) << '\n'
              << (ok ? "RESULT: OK" : "RESULT: FAILED") << '\n';
    for (const auto& line : unexpected) std::cout << "  exited: " << line << '\n';
    std::cout << "SOAK_RESULT " << result.dump() << std::endl;

    net.stop_all();
    if (ok && !o.keep) {
        std::error_code ec;
        fs::remove_all(net.work_dir(), ec);
    } else {
        std::cout << "logs kept in " << net.work_dir() << std::endl;
    }
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app(
        "Ferry soak test: packets both ways while the relayer, a validator and the "
        "relayer's RPC link to beta are killed at random; checks exactly-once delivery.");
    app.add_option("--minutes", o.minutes, "how long to send packets")->capture_default_str();
    app.add_option("--rate", o.rate, "packets per second in each direction")->capture_default_str();
    app.add_option("--relayer-kill-every", o.relayer_kill_s,
                   "mean seconds between relayer SIGKILLs (each interval 0.5..1.5 x this)")
        ->capture_default_str();
    app.add_option("--validator-kill-every", o.validator_kill_s,
                   "mean seconds between validator SIGKILLs")
        ->capture_default_str();
    app.add_option("--outage-every", o.outage_every_s, "mean seconds between proxy outages")
        ->capture_default_str();
    app.add_option("--outage-max", o.outage_max_s, "longest proxy outage, seconds")
        ->capture_default_str();
    app.add_option("--block-time", o.block_time_s, "anvil block time, seconds")
        ->capture_default_str();
    app.add_option("--drain-timeout", o.drain_timeout_s,
                   "seconds to wait for delivery after sending stops")
        ->capture_default_str();
    app.add_option("--seed", o.seed, "random seed (0: from the clock)")->capture_default_str();
    app.add_option("--anvil", o.anvil, "the anvil executable")->capture_default_str();
    app.add_option("--ferry", o.ferry, "the ferry executable")->capture_default_str();
    app.add_option("--work-dir", o.work_dir, "configs, databases and logs (default: a temp dir)");
    app.add_flag("--keep", o.keep, "keep the work dir even when the soak passes");
    CLI11_PARSE(app, argc, argv);
    if (o.minutes <= 0 || o.rate <= 0 || o.relayer_kill_s <= 0 || o.validator_kill_s <= 0 ||
        o.outage_every_s <= 0 || o.outage_max_s < 1 || o.block_time_s < 0) {
        std::cerr << "ferry_soak: durations and the rate must be positive\n";
        return 2;
    }
    if (o.seed == 0)
        o.seed =
            static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "ferry_soak: error: " << e.what() << std::endl;
        return 2;
    }
}

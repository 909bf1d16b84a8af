// `ferry devnet`: the command-line face of the Devnet class (devnet/devnet.hpp).
#include "cli/devnet_cmd.hpp"

#include "cli/cli_common.hpp"
#include "devnet/devnet.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace ferry::cli {

using devnet::remove_devnet_files;
using namespace std::chrono_literals;

using devnet::Devnet;
using devnet::DevnetOptions;
using devnet::kMaxDevnetValidators;
using devnet::SentPacket;
using devnet::WaitOptions;

namespace {

constexpr std::string_view kCommand = "devnet";
constexpr int kSteps = 6;

std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_stop_requested.store(true); }

/// Installs SIGINT/SIGTERM handlers for its lifetime.
class StopSignals {
public:
    StopSignals() {
        g_stop_requested.store(false);
        struct sigaction action {};
        action.sa_handler = on_stop_signal;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
    }
    ~StopSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    static bool requested() { return g_stop_requested.load(); }

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

void step(int n, const std::string& what) {
    std::cout << '[' << n << '/' << kSteps << "] " << what << " ... " << std::flush;
}

std::string short_id(const crypto::PacketId& id) { return id.hex().substr(0, 10) + "…"; }

std::string seconds_text(double s) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << s << " s";
    return out.str();
}

std::filesystem::path default_anvil() {
    std::error_code ec;
    const std::filesystem::path local = ".tools/node_modules/.bin/anvil";
    if (std::filesystem::exists(local, ec)) return std::filesystem::absolute(local, ec);
    if (const char* path = std::getenv("PATH")) {
        std::string_view dirs(path);
        while (!dirs.empty()) {
            const auto colon = dirs.find(':');
            const auto dir = dirs.substr(0, colon);
            if (!dir.empty()) {
                const auto candidate = std::filesystem::path(dir) / "anvil";
                if (::access(candidate.c_str(), X_OK) == 0) return candidate;
            }
            if (colon == std::string_view::npos) break;
            dirs.remove_prefix(colon + 1);
        }
    }
    return {};
}

class DevnetCommand {
public:
    explicit DevnetCommand(const DevnetCommandOptions& options) : options_(options) {}

    int run() {
        StopSignals signals;
        const int code = run_steps();
        devnet_.reset();  // stops every child
        if (code == kExitOk && !options_.keep && !work_dir_.empty()) {
            remove_devnet_files(work_dir_, true);
        } else if (!work_dir_.empty()) {
            std::cout << "configs, databases and logs kept in " << work_dir_.string() << std::endl;
        }
        return code;
    }

private:
    int fail(const std::string& message) {
        std::cout << "failed" << std::endl;
        print_error(kCommand, message);
        print_logs();
        return kExitFailure;
    }

    void print_logs() const {
        if (!devnet_) return;
        const auto logs = devnet_->log_files();
        if (logs.empty()) return;
        std::cerr << "logs:";
        for (const auto& log : logs) std::cerr << ' ' << log.string();
        std::cerr << std::endl;
    }

    bool interrupted() const {
        if (!StopSignals::requested()) return false;
        std::cout << "\ninterrupted: stopping the devnet" << std::endl;
        return true;
    }

    int run_steps() {
        std::filesystem::path anvil = options_.anvil;
        if (anvil.empty()) anvil = default_anvil();
        if (anvil.empty()) {
            print_error(kCommand,
                        "anvil not found: pass --anvil PATH (scripts/setup installs it into "
                        ".tools/node_modules/.bin/anvil)");
            return kExitFailure;
        }
        DevnetOptions o;
        o.work_dir = options_.work_dir;
        o.anvil = anvil;
        o.block_time_s = options_.block_time_s;
        o.validators = options_.validators;
        o.threshold = options_.threshold;
        devnet_ = std::make_unique<Devnet>(o);
        auto& net = *devnet_;

        step(1, "starting chains " + o.chains[0].name + " (" +
                    std::to_string(o.chains[0].chain_id) + ") and " + o.chains[1].name + " (" +
                    std::to_string(o.chains[1].chain_id) + ")");
        if (auto r = net.start_chains(); !r) return fail(r.error().message);
        work_dir_ = net.work_dir();
        std::cout << net.chains()[0].rpc_url << ", " << net.chains()[1].rpc_url << std::endl;
        if (interrupted()) return kExitOk;

        step(2, "deploying Outbox, Inbox and TestRecipient on both chains");
        if (auto r = net.deploy(); !r) return fail(r.error().message);
        std::cout << "done" << std::endl;
        for (const auto& c : net.chains())
            std::cout << "      " << std::left << std::setw(6) << c.name + ":" << std::right
                      << " Outbox " << c.outbox.hex() << "  Inbox " << c.inbox.hex()
                      << "  TestRecipient " << c.recipient.hex() << std::endl;
        if (interrupted()) return kExitOk;

        step(3, "writing configs");
        if (auto r = net.write_configs(); !r) return fail(r.error().message);
        std::cout << "relayer.json and validator-<i>-<chain>.json in " << work_dir_.string()
                  << std::endl;
        if (interrupted()) return kExitOk;

        step(4, "starting " + std::to_string(o.validators) + " validators on each source chain (" +
                    std::to_string(o.threshold) + " of " + std::to_string(o.validators) +
                    " must sign)");
        for (std::size_t i = 1; i <= o.validators; ++i)
            if (auto r = net.start_validator(i); !r) return fail(r.error().message);
        std::cout << std::to_string(o.validators * net.chains().size()) << " nodes up" << std::endl;
        if (interrupted()) return kExitOk;

        step(5, "starting the relayer");
        if (auto r = net.start_relayer(); !r) return fail(r.error().message);
        std::cout << net.relayer_api_url() << std::endl;
        if (interrupted()) return kExitOk;

        if (options_.packets == 0) {
            std::cout << '[' << kSteps << '/' << kSteps << "] no demo packets (--packets 0)"
                      << std::endl;
        } else {
            step(6, "sending " + std::to_string(options_.packets) + " packets each way");
            std::vector<SentPacket> sent;
            for (const auto& c : net.chains()) {
                auto packets = net.send_packets(c.name, options_.packets, "hello from " + c.name);
                if (!packets) return fail(packets.error().message);
                sent.insert(sent.end(), packets->begin(), packets->end());
            }
            std::cout << "sent; waiting for delivery" << std::endl;
            WaitOptions wait;
            wait.timeout = std::chrono::seconds(options_.timeout_s);
            std::vector<std::string> dead;
            wait.interrupted = [&] {
                dead = net.exited_nodes();
                return StopSignals::requested() || !dead.empty();
            };
            wait.on_delivered = [](const SentPacket& p, std::chrono::duration<double> latency) {
                std::cout << "      " << p.route() << "  nonce " << p.nonce << "  id "
                          << short_id(p.id) << "  delivered in " << seconds_text(latency.count())
                          << std::endl;
            };
            auto outcome = net.wait_delivered(sent, wait);
            if (!outcome) {
                print_error(kCommand, "checking deliveries failed: " + outcome.error().message);
                print_logs();
                return kExitFailure;
            }
            if (!dead.empty()) {
                for (const auto& d : dead) print_error(kCommand, "node exited: " + d);
                print_error(kCommand, std::to_string(sent.size() - outcome->delivered) + " of " +
                                          std::to_string(sent.size()) +
                                          " packets not delivered; see the logs");
                print_logs();
                return kExitFailure;
            }
            if (outcome->interrupted) {
                interrupted();
                return kExitOk;
            }
            if (!outcome->complete()) {
                print_error(kCommand, std::to_string(sent.size() - outcome->delivered) + " of " +
                                          std::to_string(sent.size()) +
                                          " packets were not delivered within " +
                                          std::to_string(options_.timeout_s) + " s; see the logs");
                for (const auto& node : net.exited_nodes())
                    print_error(kCommand, "node exited: " + node);
                print_logs();
                return kExitFailure;
            }
        }
        if (options_.once) {
            std::cout << "all packets delivered; stopping (--once)" << std::endl;
            return kExitOk;
        }

        std::cout << "devnet running — relayer API " << net.relayer_api_url() << "; Ctrl-C to stop"
                  << std::endl;
        while (!StopSignals::requested()) {
            std::this_thread::sleep_for(200ms);
            if (const auto exited = net.exited_nodes(); !exited.empty()) {
                for (const auto& d : exited) print_error(kCommand, "node exited: " + d);
                print_logs();
                return kExitFailure;
            }
        }
        std::cout << "\nstopping the devnet" << std::endl;
        return kExitOk;
    }

    const DevnetCommandOptions& options_;
    std::unique_ptr<Devnet> devnet_;
    std::filesystem::path work_dir_;
};

}  // namespace

CLI::App* add_devnet_command(CLI::App& app, DevnetCommandOptions& options) {
    auto* cmd = app.add_subcommand(
        "devnet",
        "Run a local Ferry network: two anvil chains, contracts, validators and a relayer, and "
        "relay demo packets both ways");
    cmd->footer(
        "Steps: starts anvil chains alpha (4301) and beta (4302) on free loopback ports; deploys "
        "Outbox, Inbox and TestRecipient on both from anvil dev account #0 and configures each "
        "Inbox for the other chain's Outbox (validators = dev accounts #2, #3, #4, 2 of 3 must "
        "sign, ordered); writes relayer.json and validator-<i>-<chain>.json into the work "
        "directory; starts one `ferry start -c` validator node per validator and source chain "
        "and one relayer node (dev account #1); sends the demo packets and prints each as it "
        "is delivered.\n"
        "Then it keeps running until Ctrl-C (SIGINT) or SIGTERM, and stops every process it "
        "started. Keys go to the nodes in FERRY_VALIDATOR_KEY / FERRY_RELAYER_KEY, never on the "
        "command line; they are anvil's well-known dev keys, fit for local chains only.\n"
        "Exit code 0 after a clean stop; 1 when a step fails, a node dies or the packets are "
        "not delivered in time (the work directory is then kept: see its *.log files).\n"
        "Example:\n  ferry devnet --anvil .tools/node_modules/.bin/anvil --once");
    cmd->add_option("--anvil", options.anvil,
                    "anvil executable (default: .tools/node_modules/.bin/anvil, else anvil on "
                    "PATH)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    cmd->add_option("--work-dir", options.work_dir,
                    "directory for configs, databases and logs (its previous devnet files are "
                    "removed at start)")
        ->capture_default_str()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    cmd->add_option("--packets", options.packets, "demo packets to send in each direction")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{0}, std::size_t{10'000}));
    cmd->add_flag("--once", options.once,
                  "stop and exit once the demo packets are delivered (exit 0)");
    cmd->add_option("--block-time", options.block_time_s,
                    "seconds between blocks on both chains (fractions allowed; 0: a block per "
                    "transaction)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    cmd->add_option("--validators", options.validators, "validators per source chain")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, kMaxDevnetValidators));
    cmd->add_option("--threshold", options.threshold, "signatures a packet needs")
        ->capture_default_str()
        ->check(CLI::Range(std::uint32_t{1}, static_cast<std::uint32_t>(kMaxDevnetValidators)));
    cmd->add_option("--timeout", options.timeout_s,
                    "seconds to wait for the demo packets' delivery")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{3600}));
    cmd->add_flag("--keep", options.keep,
                  "keep the work directory's configs, databases and logs after a clean exit "
                  "(they are always kept after a failure)");
    return cmd;
}

int run_devnet(const DevnetCommandOptions& options) {
    if (options.threshold > options.validators) {
        print_error(kCommand, "--threshold " + std::to_string(options.threshold) +
                                  " is more than --validators " +
                                  std::to_string(options.validators));
        return kExitUsage;
    }
    return DevnetCommand(options).run();
}

}  // namespace ferry::cli

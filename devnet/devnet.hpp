// A local Ferry network for demos, end-to-end tests and benchmarks (README.md, scripts/devnet): two
// anvil chains
// ("alpha" 4301, "beta" 4302), the Outbox, Inbox and TestRecipient on each, N validator nodes
// per source chain and one relayer, all real `ferry start` processes, plus a fast packet
// sender and delivery checks. `ferry devnet` is the command-line face of the Devnet class.
#pragma once

#include "crypto/app_error.hpp"

#include "crypto/bytes.hpp"
#include "crypto/types.hpp"
#include "devnet/process.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::devnet {

/// One of anvil's default dev accounts (mnemonic "test test ... junk"): well-known public test
/// keys, for local chains only.
struct DevAccount {
    crypto::PrivateKey key;
    crypto::Address address;
};
/// Number of dev accounts anvil funds by default.
inline constexpr std::size_t kDevAccountCount = 10;
/// Removes the files a devnet creates (configs, databases, logs) from `dir`, and `dir` itself
/// when `remove_dir` and that leaves it empty.
void remove_devnet_files(const std::filesystem::path& dir, bool remove_dir);

/// Dev account `index` in 0 .. kDevAccountCount - 1; std::out_of_range otherwise.
DevAccount dev_account(std::size_t index);

/// Roles of the dev accounts (README.md, scripts/devnet).
inline constexpr std::size_t kDeployerAccount = 0;  // owner of the contracts, demo sender
inline constexpr std::size_t kRelayerAccount = 1;
inline constexpr std::size_t kFirstValidatorAccount = 2;  // validator i uses account 1 + i
inline constexpr std::size_t kMaxDevnetValidators = kDevAccountCount - kFirstValidatorAccount;

/// The environment variables that carry keys to the child nodes (never argv).
inline constexpr std::string_view kRelayerKeyEnv = "FERRY_RELAYER_KEY";
inline constexpr std::string_view kValidatorKeyEnv = "FERRY_VALIDATOR_KEY";

struct DevnetChainSpec {
    std::string name;
    std::uint64_t chain_id = 0;
};

struct DevnetOptions {
    /// Holds the configs, databases and logs. Created when missing.
    std::filesystem::path work_dir;
    /// The anvil executable.
    std::filesystem::path anvil;
    /// The ferry executable run as `ferry start -c ...`; empty: this executable
    /// (/proc/self/exe), which is right inside `ferry devnet` but not inside a test.
    std::filesystem::path ferry_binary;
    /// Interval mining; 0: a block per transaction.
    double block_time_s = 1.0;
    /// The chains' first base fee (wei); empty: anvil's default (AnvilOptions::base_fee_wei).
    std::optional<std::uint64_t> base_fee_wei;
    /// Validators per source chain (dev accounts #2, #3, ...), 1 .. kMaxDevnetValidators.
    std::size_t validators = 3;
    std::uint32_t threshold = 2;
    bool ordered = true;
    std::uint64_t confirmations = 1;
    std::uint32_t batch_size = 50;
    std::uint64_t poll_interval_ms = 200;
    /// --log-level given to the nodes; empty: their default.
    std::string log_level;
    /// The two chains; routes run both ways between them.
    std::array<DevnetChainSpec, 2> chains = {DevnetChainSpec{"alpha", 4301},
                                             DevnetChainSpec{"beta", 4302}};
    /// Longest wait for a chain or a node to come up.
    std::chrono::milliseconds start_timeout{30'000};
    /// Given to each child when stopping it before SIGKILL.
    std::chrono::milliseconds stop_grace{10'000};
};

/// A chain of the devnet; the addresses are set by deploy().
struct DevnetChain {
    std::string name;
    crypto::ChainId chain_id{};
    std::string rpc_url;  // set by start_chains()
    crypto::Address outbox;
    crypto::Address inbox;
    crypto::Address recipient;       // TestRecipient
    std::uint64_t deploy_block = 0;  // block of the first deployment
};

/// A packet sent by send_packets().
struct SentPacket {
    std::string from;  // source chain name
    std::string to;    // destination chain name
    crypto::ChainId src{};
    crypto::ChainId dst{};
    crypto::PacketId id;
    std::uint64_t nonce = 0;  // the Outbox's packet nonce for (src, dst)
    crypto::Bytes body;
    crypto::Hash32 tx_hash;
    std::uint64_t block = 0;  // source block holding the PacketSent log
    /// When its transaction went to the node (steady clock).
    std::chrono::steady_clock::time_point sent_at;

    /// "alpha->beta".
    std::string route() const { return from + "->" + to; }
};

struct WaitOptions {
    std::chrono::milliseconds timeout{60'000};
    std::chrono::milliseconds poll{100};
    /// Called once per packet, when it is seen delivered, with the time from sending it.
    std::function<void(const SentPacket&, std::chrono::duration<double>)> on_delivered;
    /// Polled between checks; true ends the wait early (e.g. after SIGINT).
    std::function<bool()> interrupted;
};

struct WaitOutcome {
    /// Per packet, in the order given: the time from sending to seeing it delivered, or
    /// nullopt while it is not.
    std::vector<std::optional<std::chrono::duration<double>>> latency;
    std::size_t delivered = 0;
    bool interrupted = false;

    bool complete() const noexcept { return delivered == latency.size(); }
};

/// The devnet. Every method is synchronous (it runs its own io_context), so tests and
/// benchmarks can drive it step by step:
///
///     Devnet net({.work_dir = dir, .anvil = anvil, .ferry_binary = ferry});
///     net.start_chains().value();  net.deploy().value();  net.write_configs().value();
///     for (i = 1..N) net.start_validator(i).value();  net.start_relayer().value();
///     auto sent = net.send_packets("alpha", 10, "hello").value();
///     auto outcome = net.wait_delivered(sent, {}).value();
///
/// or start() for all of it. The destructor stops every child. Not thread-safe; the child
/// processes get SIGTERM if the thread that created them exits (PR_SET_PDEATHSIG).
class Devnet {
public:
    explicit Devnet(DevnetOptions options);
    ~Devnet();
    Devnet(const Devnet&) = delete;
    Devnet& operator=(const Devnet&) = delete;

    const DevnetOptions& options() const noexcept { return options_; }
    const std::filesystem::path& work_dir() const noexcept { return options_.work_dir; }

    /// start_chains, deploy, write_configs, every validator, the relayer.
    AppResult<void> start();

    /// Creates work_dir, removes the files an earlier devnet left there (configs, databases
    /// and logs named anvil-*, validator-*, relayer.*: new chains make them stale) and starts
    /// both anvil chains (logs: anvil-<name>.log).
    AppResult<void> start_chains();
    /// Deploys Outbox, Inbox and TestRecipient on both chains from dev account #0 and
    /// configures each Inbox for the other chain's Outbox with the validators, threshold and
    /// ordering of the options.
    AppResult<void> deploy();
    /// Writes validator-<i>-<chain>.json (i = 1..N, one validator node per source chain; each
    /// with its own database and API port) and relayer.json (routes both ways) into work_dir,
    /// and picks the API ports, which stay fixed across restarts.
    AppResult<void> write_configs();

    /// Starts validator i (1-based; dev account #(1 + i)) on every source chain: one
    /// `ferry start -c validator-<i>-<chain>.json` per chain, key in FERRY_VALIDATOR_KEY.
    /// Returns once each prints its listening line.
    AppResult<void> start_validator(std::size_t i);
    /// Sends `sig` to validator i's nodes and waits for them to exit (SIGKILL once the grace
    /// period has passed). SIGSTOP and SIGCONT are only sent: they pause and resume the nodes.
    AppResult<void> stop_validator(std::size_t i, int sig = SIGTERM);
    /// Starts `ferry start -c relayer.json` with the key in FERRY_RELAYER_KEY; returns once it
    /// prints its listening line.
    AppResult<void> start_relayer();
    /// Sends `sig` to the relayer and waits for it to exit (SIGKILL once the grace period has
    /// passed); how it ended. Use signal_node() for SIGSTOP / SIGCONT.
    AppResult<ExitStatus> kill_relayer(int sig = SIGKILL);
    /// Sends `sig` to a running node ("relayer", "validator-<i>-<chain>") without waiting.
    AppResult<void> signal_node(std::string_view name, int sig);

    /// "http://127.0.0.1:<port>" of the running relayer's API; empty when it is not running.
    std::string relayer_api_url() const;
    /// The API URL validator i's node for `source_chain` has (or will have).
    AppResult<std::string> validator_api_url(std::size_t i, std::string_view source_chain) const;

    /// Sends `count` packets from `from_chain` to the other chain's TestRecipient as fast as
    /// the node takes them: consecutive account nonces of dev account #0 signed here, a fixed
    /// gas limit, all pushed with batched eth_sendRawTransaction, then their receipts awaited.
    /// Bodies are "<body_prefix> #<k>" for k = 1..count. In nonce order.
    AppResult<std::vector<SentPacket>> send_packets(std::string_view from_chain, std::size_t count,
                                                    std::string_view body_prefix);
    /// send_packets() with packet k (1-based) addressed to `recipient_of(k)` on the other chain.
    AppResult<std::vector<SentPacket>> send_packets_to(
        std::string_view from_chain, std::size_t count, std::string_view body_prefix,
        std::function<crypto::Address(std::size_t)> recipient_of);
    /// Inbox.delivered(id) on `chain`.
    AppResult<bool> delivered(std::string_view chain, const crypto::PacketId& id);
    /// Polls the destination Inboxes until every packet is delivered, the timeout passes or
    /// `interrupted` says so. An RPC error ends the wait with an error.
    AppResult<WaitOutcome> wait_delivered(std::span<const SentPacket> packets,
                                          const WaitOptions& wait);

    /// Stops the relayer and the validators (in parallel), then the chains. Idempotent.
    void stop_all() noexcept;

    /// The chains (after start_chains / deploy).
    std::span<const DevnetChain> chains() const noexcept { return chains_; }
    AppResult<const DevnetChain*> chain(std::string_view name) const;
    /// The other chain's name.
    std::string_view peer_of(std::string_view name) const noexcept;

    std::filesystem::path relayer_config_path() const;
    std::filesystem::path validator_config_path(std::size_t i, std::string_view chain) const;
    /// work_dir/<name>.log for "relayer", "validator-<i>-<chain>", "anvil-<chain>".
    std::filesystem::path log_path(std::string_view name) const;
    /// Every log file of the devnet that exists, for "see ..." messages.
    std::vector<std::filesystem::path> log_files() const;

    /// The running child nodes (validators, relayer) that have exited since started, as
    /// "<name> (<status>), log <path>".
    std::vector<std::string> exited_nodes();

    /// Resource use of a running node ("relayer", "validator-1-alpha", "anvil-beta").
    ChildProcess* process(std::string_view name);

private:
    struct Impl;
    DevnetOptions options_;
    std::vector<DevnetChain> chains_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::devnet

#include "devnet/devnet.hpp"

#include "devnet/chain_ops.hpp"
#include "devnet/devnet_impl.hpp"

#include "chains/evm/json.hpp"
#include "chains/evm/rpc_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

namespace ferry::devnet {
namespace {

namespace evm = chains::evm;
using chains::Task;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using nlohmann::ordered_json;

AppError derr(std::string message) { return AppError{std::move(message)}; }

std::string exception_text(const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

/// Runs `task` on `io` until it finishes.
template <class T>
AppResult<T> run_sync(boost::asio::io_context& io, Task<AppResult<T>> task) {
    std::optional<AppResult<T>> result;
    boost::asio::co_spawn(
        io, std::move(task), [&result](std::exception_ptr failure, AppResult<T> value) {
            if (failure) {
                result.emplace(derr("internal error: " + exception_text(failure)));
            } else {
                result.emplace(std::move(value));
            }
        });
    io.restart();
    while (!result && io.run_one() > 0) {
    }
    if (!result) return derr("internal error: a devnet task stalled");
    return std::move(*result);
}

/// Runs the tasks at once on `io` until all finish; the first error in task order.
AppResult<void> run_parallel(boost::asio::io_context& io,
                             std::vector<Task<AppResult<void>>> tasks) {
    std::vector<std::optional<AppResult<void>>> results(tasks.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        boost::asio::co_spawn(
            io, std::move(tasks[i]),
            [&results, &done, i](std::exception_ptr failure, AppResult<void> value) {
                if (failure) {
                    results[i].emplace(derr("internal error: " + exception_text(failure)));
                } else {
                    results[i].emplace(std::move(value));
                }
                ++done;
            });
    }
    io.restart();
    while (done < results.size() && io.run_one() > 0) {
    }
    if (done < results.size()) return derr("internal error: a devnet task stalled");
    for (auto& r : results)
        if (!*r) return r->error();
    return {};
}

AppResult<void> write_json_file(const std::filesystem::path& path, const ordered_json& j) {
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << j.dump(2) << '\n';
        out.close();
        if (!out) return derr("cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return derr("cannot write " + path.string() + ": " + ec.message());
    return {};
}

/// True for the files a devnet creates in its work dir (configs, databases, logs).
bool is_devnet_file(const std::string& name) {
    const bool ours = name.starts_with("anvil-") || name.starts_with("validator-") ||
                      name.starts_with("relayer.") || name.starts_with("relayer-");
    if (!ours) return false;
    for (const std::string_view suffix :
         {".json", ".json.tmp", ".log", ".db", ".db-wal", ".db-shm", ".db-journal"})
        if (name.ends_with(suffix)) return true;
    return false;
}

}  // namespace

void remove_devnet_files(const std::filesystem::path& dir, bool remove_dir) {
    std::error_code ec;
    std::vector<std::filesystem::path> doomed;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && is_devnet_file(it->path().filename().string()))
            doomed.push_back(it->path());
    }
    for (const auto& path : doomed) std::filesystem::remove(path, ec);
    if (remove_dir && std::filesystem::is_empty(dir, ec) && !ec) std::filesystem::remove(dir, ec);
}

// ---------------------------------------------------------------------------- Devnet

Devnet::Devnet(DevnetOptions options) : options_(std::move(options)), impl_(new Impl) {
    for (const auto& spec : options_.chains) {
        DevnetChain chain;
        chain.name = spec.name;
        chain.chain_id = crypto::ChainId{spec.chain_id};
        chains_.push_back(std::move(chain));
    }
}

Devnet::~Devnet() { stop_all(); }

AppResult<const DevnetChain*> Devnet::chain(std::string_view name) const {
    for (const auto& c : chains_)
        if (c.name == name) return &c;
    std::string known;
    for (const auto& c : chains_) known += (known.empty() ? "" : ", ") + c.name;
    return derr("no devnet chain '" + std::string(name) + "' (there are: " + known + ")");
}

std::string_view Devnet::peer_of(std::string_view name) const noexcept {
    return chains_[0].name == name ? std::string_view(chains_[1].name)
                                   : std::string_view(chains_[0].name);
}

std::filesystem::path Devnet::relayer_config_path() const {
    return options_.work_dir / "relayer.json";
}

std::filesystem::path Devnet::validator_config_path(std::size_t i, std::string_view chain) const {
    return options_.work_dir / (validator_node_name(i, chain) + ".json");
}

std::filesystem::path Devnet::log_path(std::string_view name) const {
    return options_.work_dir / (std::string(name) + ".log");
}

std::vector<std::filesystem::path> Devnet::log_files() const {
    std::vector<std::filesystem::path> out;
    std::vector<std::string> names = {std::string(kRelayerName)};
    for (std::size_t i = 1; i <= options_.validators; ++i)
        for (const auto& c : chains_) names.push_back(validator_node_name(i, c.name));
    for (const auto& c : chains_) names.push_back("anvil-" + c.name);
    std::error_code ec;
    for (const auto& name : names)
        if (std::filesystem::exists(log_path(name), ec)) out.push_back(log_path(name));
    return out;
}

AppResult<void> Devnet::start() {
    if (auto r = start_chains(); !r) return r;
    if (auto r = deploy(); !r) return r;
    if (auto r = write_configs(); !r) return r;
    for (std::size_t i = 1; i <= options_.validators; ++i)
        if (auto r = start_validator(i); !r) return r;
    return start_relayer();
}

AppResult<void> Devnet::start_chains() {
    if (!impl_->anvils.empty()) return derr("the devnet chains are already running");
    if (options_.chains[0].name == options_.chains[1].name ||
        options_.chains[0].chain_id == options_.chains[1].chain_id ||
        options_.chains[0].chain_id == 0 || options_.chains[1].chain_id == 0)
        return derr("the two devnet chains need distinct names and distinct non-zero chain ids");
    if (options_.validators < 1 || options_.validators > kMaxDevnetValidators)
        return derr("validators must be 1 .. " + std::to_string(kMaxDevnetValidators) + ", not " +
                    std::to_string(options_.validators));
    if (options_.threshold < 1 || options_.threshold > options_.validators)
        return derr("threshold must be 1 .. " + std::to_string(options_.validators) + ", not " +
                    std::to_string(options_.threshold));
    if (!(options_.block_time_s >= 0) || options_.block_time_s > 3600)
        return derr("block time must be 0 .. 3600 s");
    std::error_code ec;
    std::filesystem::create_directories(options_.work_dir, ec);
    if (ec)
        return derr("cannot create the work directory " + options_.work_dir.string() + ": " +
                    ec.message());
    options_.work_dir = std::filesystem::absolute(options_.work_dir, ec);
    // New chains make old databases and logs meaningless.
    remove_devnet_files(options_.work_dir, false);

    for (auto& chain : chains_) {
        AnvilOptions anvil;
        anvil.anvil = options_.anvil;
        anvil.chain_id = crypto::to_u64(chain.chain_id);
        if (options_.block_time_s > 0) anvil.block_time_s = options_.block_time_s;
        anvil.base_fee_wei = options_.base_fee_wei;
        anvil.log_file = log_path("anvil-" + chain.name);
        anvil.start_timeout = options_.start_timeout;
        anvil.name = "anvil " + chain.name;
        auto node = AnvilNode::start(std::move(anvil));
        if (!node) {
            impl_->anvils.clear();
            return derr(node.error().message);
        }
        chain.rpc_url = node->url();
        impl_->anvils.push_back(std::move(*node));
    }
    for (const auto& chain : chains_) {
        evm::RpcClientConfig config;
        config.endpoints = {chain.rpc_url};
        config.http.connect_timeout = 5s;
        config.http.request_timeout = 30s;
        auto client = evm::RpcClient::create(impl_->io.get_executor(), std::move(config));
        if (!client) return derr(chain.name + ": " + client.error().to_string());
        impl_->rpcs.push_back(std::move(*client));
    }
    return {};
}

AppResult<void> Devnet::deploy() {
    if (impl_->rpcs.size() != chains_.size()) return derr("start the chains before deploying");
    const auto owner = dev_account(kDeployerAccount);
    std::vector<Task<AppResult<void>>> tasks;
    for (std::size_t c = 0; c < chains_.size(); ++c)
        tasks.push_back(deploy_contracts(impl_->rpcs[c], chains_[c], owner));
    if (auto r = run_parallel(impl_->io, std::move(tasks)); !r) return r;

    std::vector<crypto::Address> validators;
    for (std::size_t i = 1; i <= options_.validators; ++i)
        validators.push_back(dev_account(kFirstValidatorAccount + i - 1).address);
    tasks.clear();
    for (std::size_t c = 0; c < chains_.size(); ++c) {
        const auto& peer = chains_[1 - c];
        evm::SourceSpec source;
        source.chain_id = peer.chain_id;
        source.outbox = peer.outbox;
        source.validators = validators;
        source.threshold = static_cast<std::uint8_t>(options_.threshold);
        source.ordered = options_.ordered;
        tasks.push_back(configure_inbox(impl_->rpcs[c], chains_[c], owner, std::move(source)));
    }
    if (auto r = run_parallel(impl_->io, std::move(tasks)); !r) return r;
    impl_->deployed = true;
    return {};
}

AppResult<void> Devnet::write_configs() {
    if (!impl_->deployed) return derr("deploy the contracts before writing the configs");
    // Ports are picked once, so a restarted node keeps its URL.
    std::set<std::uint16_t> taken;
    for (const auto& [name, port] : impl_->ports) taken.insert(port);
    const auto port_for = [&](const std::string& name) -> AppResult<std::uint16_t> {
        if (auto it = impl_->ports.find(name); it != impl_->ports.end()) return it->second;
        for (int attempt = 0; attempt < 20; ++attempt) {
            auto port = free_loopback_port();
            if (!port) return derr(port.error().message);
            if (taken.insert(*port).second) {
                impl_->ports.emplace(name, *port);
                return *port;
            }
        }
        return derr("cannot find a free loopback port");
    };
    const auto chain_json = [&](const DevnetChain& c, bool with_inbox) {
        ordered_json j;
        j["name"] = c.name;
        j["chain_id"] = crypto::to_u64(c.chain_id);
        j["rpc"] = json::array({c.rpc_url});
        j["confirmations"] = options_.confirmations;
        j["poll_interval_ms"] = options_.poll_interval_ms;
        j["start_block"] = c.deploy_block;
        j["outbox"] = c.outbox.hex();
        if (with_inbox) j["inbox"] = c.inbox.hex();
        return j;
    };
    const ordered_json retry = {{"initial_delay_ms", 1000},
                                {"multiplier", 2.0},
                                {"max_delay_ms", 30000},
                                {"jitter", 0.2},
                                {"max_attempts", 8}};

    for (std::size_t i = 1; i <= options_.validators; ++i) {
        for (const auto& c : chains_) {
            const auto name = validator_node_name(i, c.name);
            auto port = port_for(name);
            if (!port) return port.error();
            ordered_json j;
            j["database"] = name + ".db";
            j["api"] = {{"listen", "127.0.0.1:" + std::to_string(*port)}};
            j["chains"] = ordered_json::array({chain_json(c, false)});
            j["validator"] = {{"chain", c.name}, {"key", {{"env", kValidatorKeyEnv}}}};
            if (auto r = write_json_file(validator_config_path(i, c.name), j); !r) return r;
        }
    }

    auto relayer_port = port_for(std::string(kRelayerName));
    if (!relayer_port) return relayer_port.error();
    ordered_json j;
    j["database"] = std::string(kRelayerName) + ".db";
    j["api"] = {{"listen", "127.0.0.1:" + std::to_string(*relayer_port)}};
    j["chains"] = ordered_json::array();
    for (const auto& c : chains_) j["chains"].push_back(chain_json(c, true));
    j["routes"] = ordered_json::array();
    for (const auto& c : chains_)
        j["routes"].push_back({{"from", c.name},
                               {"to", peer_of(c.name)},
                               {"ordered", options_.ordered},
                               {"batch_size", options_.batch_size}});
    j["validator_sets"] = ordered_json::array();
    for (const auto& c : chains_) {
        ordered_json set;
        set["source"] = c.name;
        set["threshold"] = options_.threshold;
        set["validators"] = ordered_json::array();
        for (std::size_t i = 1; i <= options_.validators; ++i)
            set["validators"].push_back(
                {{"address", dev_account(kFirstValidatorAccount + i - 1).address.hex()},
                 {"url", loopback_url(impl_->ports.at(validator_node_name(i, c.name)))}});
        j["validator_sets"].push_back(std::move(set));
    }
    j["relayer"] = {{"key", {{"env", kRelayerKeyEnv}}}};
    j["retry"] = retry;
    if (auto r = write_json_file(relayer_config_path(), j); !r) return r;
    impl_->configs_written = true;
    return {};
}

std::string Devnet::relayer_api_url() const {
    auto it = impl_->nodes.find(kRelayerName);
    if (it == impl_->nodes.end() || it->second.exit_status()) return {};
    return loopback_url(impl_->ports.at(std::string(kRelayerName)));
}

AppResult<std::string> Devnet::validator_api_url(std::size_t i,
                                                 std::string_view source_chain) const {
    auto it = impl_->ports.find(validator_node_name(i, source_chain));
    if (it == impl_->ports.end())
        return derr("no validator " + std::to_string(i) + " for chain '" +
                    std::string(source_chain) + "' (are the configs written?)");
    return AppResult<std::string>(boost::system::in_place_value, loopback_url(it->second));
}

AppResult<std::vector<SentPacket>> Devnet::send_packets(std::string_view from_chain,
                                                        std::size_t count,
                                                        std::string_view body_prefix) {
    return send_packets_to(from_chain, count, body_prefix, {});
}

AppResult<std::vector<SentPacket>> Devnet::send_packets_to(
    std::string_view from_chain, std::size_t count, std::string_view body_prefix,
    std::function<crypto::Address(std::size_t)> recipient_of) {
    if (!impl_->deployed) return derr("deploy the contracts before sending packets");
    auto src = chain(from_chain);
    if (!src) return src.error();
    auto dst = chain(peer_of(from_chain));
    if (!dst) return dst.error();
    const auto index = static_cast<std::size_t>(*src - chains_.data());
    if (count == 0) return std::vector<SentPacket>{};
    return run_sync(impl_->io, send_packets_task(
                                   impl_->rpcs[index], **src, **dst, dev_account(kDeployerAccount),
                                   count, std::string(body_prefix), std::move(recipient_of)));
}

AppResult<bool> Devnet::delivered(std::string_view chain_name, const crypto::PacketId& id) {
    if (!impl_->deployed) return derr("the contracts are not deployed");
    auto c = chain(chain_name);
    if (!c) return c.error();
    const auto index = static_cast<std::size_t>(*c - chains_.data());
    return run_sync(impl_->io, delivered_task(impl_->rpcs[index], (*c)->inbox, id));
}

AppResult<WaitOutcome> Devnet::wait_delivered(std::span<const SentPacket> packets,
                                              const WaitOptions& wait) {
    WaitOutcome outcome;
    outcome.latency.resize(packets.size());
    if (packets.empty()) return outcome;
    if (!impl_->deployed) return derr("the contracts are not deployed");
    // Pending packet indices per destination chain.
    std::vector<std::vector<std::size_t>> pending(chains_.size());
    for (std::size_t k = 0; k < packets.size(); ++k) {
        std::size_t c = 0;
        while (c < chains_.size() && chains_[c].chain_id != packets[k].dst) ++c;
        if (c == chains_.size())
            return derr("packet " + packets[k].id.hex() + " goes to chain " +
                        std::to_string(crypto::to_u64(packets[k].dst)) +
                        ", which is not in this devnet");
        pending[c].push_back(k);
    }
    const auto deadline = Clock::now() + wait.timeout;
    for (;;) {
        for (std::size_t c = 0; c < chains_.size(); ++c) {
            if (pending[c].empty()) continue;
            auto done = run_sync(
                impl_->io, check_delivered(impl_->rpcs[c], chains_[c].inbox, packets, pending[c]));
            if (!done) return done.error();
            const auto now = Clock::now();
            for (const auto k : *done) {
                const std::chrono::duration<double> latency = now - packets[k].sent_at;
                outcome.latency[k] = latency;
                ++outcome.delivered;
                if (wait.on_delivered) wait.on_delivered(packets[k], latency);
            }
            std::erase_if(pending[c],
                          [&](std::size_t k) { return outcome.latency[k].has_value(); });
        }
        if (outcome.complete()) return outcome;
        if (wait.interrupted && wait.interrupted()) {
            outcome.interrupted = true;
            return outcome;
        }
        if (Clock::now() >= deadline) return outcome;
        std::this_thread::sleep_for(wait.poll);
    }
}

}  // namespace ferry::devnet

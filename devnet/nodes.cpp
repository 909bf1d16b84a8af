// The Devnet's child nodes: `ferry start` validators and the relayer, started with their key
// in an environment variable (never argv), awaited until they listen, signalled and reaped.
#include "devnet/devnet.hpp"

#include "devnet/devnet_impl.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <system_error>
#include <utility>

namespace ferry::devnet {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

AppError derr(std::string message) { return AppError{std::move(message)}; }

}  // namespace

namespace {

/// Spawns `ferry start -c <config>` for a node with `key` in `key_env`.
AppResult<ChildProcess> spawn_node(const DevnetOptions& options, const std::string& name,
                                   const std::filesystem::path& config,
                                   const std::filesystem::path& log, std::string_view key_env,
                                   const crypto::PrivateKey& key) {
    std::filesystem::path ferry = options.ferry_binary;
    if (ferry.empty()) {
        std::error_code ec;
        ferry = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (ec) return AppError{"cannot find the ferry executable: " + ec.message()};
    }
    SpawnOptions spawn;
    spawn.executable = ferry;
    spawn.name = name;
    spawn.args = {"start", "-c", config.string()};
    if (!options.log_level.empty()) {
        spawn.args.emplace_back("--log-level");
        spawn.args.push_back(options.log_level);
    }
    spawn.env = {std::string(key_env) + "=" + key.reveal_hex()};
    spawn.log_file = log;
    spawn.working_dir = options.work_dir;
    return ChildProcess::spawn(spawn);
}

/// Waits for a node's listening line; checks it is on `port`.
AppResult<void> await_listening(ChildProcess& node, std::uint16_t port,
                                std::chrono::milliseconds timeout) {
    auto line = node.wait_for_line(kListeningLine, timeout);
    if (!line) return derr(line.error().message);
    const std::string expected = "127.0.0.1:" + std::to_string(port);
    if (line->find(expected) == std::string::npos)
        return derr(node.name() + " listens elsewhere than " + expected + ": " + *line);
    return {};
}

/// Sends `sig` to each; unless it only pauses or resumes, waits for all to exit within
/// `grace` (SIGKILL after that).
std::vector<ExitStatus> signal_and_reap(std::vector<ChildProcess*> nodes, int sig,
                                        std::chrono::milliseconds grace) {
    for (auto* node : nodes) {
        node->signal(sig);
        node->signal(SIGCONT);  // a paused node could not act on it
    }
    std::vector<ExitStatus> out;
    const auto deadline = Clock::now() + grace;
    for (auto* node : nodes) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::max<Clock::duration>(deadline - Clock::now(), Clock::duration::zero()));
        if (auto status = node->wait_for(left)) {
            out.push_back(*status);
        } else {
            out.push_back(node->terminate(0ms));
        }
    }
    return out;
}

}  // namespace

AppResult<void> Devnet::start_validator(std::size_t i) {
    if (!impl_->configs_written) return derr("write the configs before starting validators");
    if (i < 1 || i > options_.validators)
        return derr("no validator " + std::to_string(i) + " (there are 1 .. " +
                    std::to_string(options_.validators) + ")");
    const auto account = dev_account(kFirstValidatorAccount + i - 1);
    std::vector<std::string> started;
    const auto undo = [&](AppError error) {
        for (const auto& name : started) {
            if (auto it = impl_->nodes.find(name); it != impl_->nodes.end()) {
                it->second.terminate(options_.stop_grace);
                impl_->nodes.erase(it);
            }
        }
        return error;
    };
    for (const auto& c : chains_) {
        const auto name = validator_node_name(i, c.name);
        if (auto it = impl_->nodes.find(name); it != impl_->nodes.end()) {
            if (it->second.running()) return undo(derr(name + " is already running"));
            impl_->nodes.erase(it);
        }
        auto child = spawn_node(options_, name, validator_config_path(i, c.name), log_path(name),
                                kValidatorKeyEnv, account.key);
        if (!child) return undo(derr(child.error().message));
        impl_->nodes.emplace(name, std::move(*child));
        started.push_back(name);
    }
    for (const auto& name : started) {
        auto r =
            await_listening(impl_->nodes.at(name), impl_->ports.at(name), options_.start_timeout);
        if (!r) return undo(r.error());
    }
    return {};
}

AppResult<void> Devnet::stop_validator(std::size_t i, int sig) {
    if (i < 1 || i > options_.validators)
        return derr("no validator " + std::to_string(i) + " (there are 1 .. " +
                    std::to_string(options_.validators) + ")");
    std::vector<ChildProcess*> nodes;
    std::vector<std::string> names;
    for (const auto& c : chains_) {
        const auto name = validator_node_name(i, c.name);
        if (auto it = impl_->nodes.find(name); it != impl_->nodes.end() && it->second.running()) {
            nodes.push_back(&it->second);
            names.push_back(name);
        }
    }
    if (nodes.empty()) return derr("validator " + std::to_string(i) + " is not running");
    if (sig == SIGSTOP || sig == SIGCONT) {
        for (auto* node : nodes) node->signal(sig);
        return {};
    }
    signal_and_reap(nodes, sig, options_.stop_grace);
    for (const auto& name : names) impl_->nodes.erase(name);
    return {};
}

AppResult<void> Devnet::start_relayer() {
    if (!impl_->configs_written) return derr("write the configs before starting the relayer");
    const std::string name(kRelayerName);
    if (auto it = impl_->nodes.find(name); it != impl_->nodes.end()) {
        if (it->second.running()) return derr("the relayer is already running");
        impl_->nodes.erase(it);
    }
    const auto account = dev_account(kRelayerAccount);
    auto child = spawn_node(options_, name, relayer_config_path(), log_path(name), kRelayerKeyEnv,
                            account.key);
    if (!child) return derr(child.error().message);
    auto& node = impl_->nodes.emplace(name, std::move(*child)).first->second;
    if (auto r = await_listening(node, impl_->ports.at(name), options_.start_timeout); !r) {
        node.terminate(options_.stop_grace);
        impl_->nodes.erase(name);
        return r;
    }
    return {};
}

AppResult<ExitStatus> Devnet::kill_relayer(int sig) {
    auto it = impl_->nodes.find(kRelayerName);
    if (it == impl_->nodes.end() || !it->second.running())
        return derr("the relayer is not running");
    if (sig == SIGSTOP || sig == SIGCONT)
        return derr(
            "kill_relayer waits for the relayer to exit; use signal_node for SIGSTOP/SIGCONT");
    auto status = signal_and_reap({&it->second}, sig, options_.stop_grace).front();
    impl_->nodes.erase(it);
    return status;
}

AppResult<void> Devnet::signal_node(std::string_view name, int sig) {
    auto it = impl_->nodes.find(name);
    if (it == impl_->nodes.end() || !it->second.running())
        return derr(std::string(name) + " is not running");
    if (!it->second.signal(sig)) return derr("cannot signal " + std::string(name));
    return {};
}

std::vector<std::string> Devnet::exited_nodes() {
    std::vector<std::string> out;
    for (auto it = impl_->nodes.begin(); it != impl_->nodes.end();) {
        if (it->second.running()) {
            ++it;
            continue;
        }
        out.push_back(it->first + " (" +
                      it->second.exit_status().value_or(ExitStatus{}).to_string() + "), log " +
                      it->second.log_file().string());
        it = impl_->nodes.erase(it);
    }
    return out;
}

ChildProcess* Devnet::process(std::string_view name) {
    if (auto it = impl_->nodes.find(name); it != impl_->nodes.end()) return &it->second;
    for (std::size_t c = 0; c < impl_->anvils.size(); ++c)
        if (name == "anvil-" + chains_[c].name) return &impl_->anvils[c].process();
    return nullptr;
}

void Devnet::stop_all() noexcept {
    if (!impl_) return;
    try {
        std::vector<ChildProcess*> nodes;
        for (auto& [name, node] : impl_->nodes) {
            node.signal(SIGCONT);  // a paused node cannot stop
            nodes.push_back(&node);
        }
        signal_and_reap(nodes, SIGTERM, options_.stop_grace);
        impl_->nodes.clear();
        impl_->rpcs.clear();
        for (auto& anvil : impl_->anvils) anvil.stop();
        impl_->anvils.clear();
    } catch (...) {
        // Destructors of the children still stop them.
    }
}

}  // namespace ferry::devnet

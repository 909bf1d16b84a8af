// AnvilNode: a local anvil chain started as a child process on a free port, awaited until it
// answers eth_chainId with the configured chain id.
#include "devnet/process.hpp"

#include "chains/evm/rpc_client.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

namespace ferry::devnet {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kAnvilListening = "Listening on ";

AppError err(std::string message) { return AppError{std::move(message)}; }

std::string format_seconds(double seconds) {
    std::array<char, 64> buffer{};
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), seconds);
    if (ec != std::errc{}) return std::to_string(seconds);
    return std::string(buffer.data(), end);
}

/// The port of anvil's "Listening on 127.0.0.1:<port>" line, or 0.
std::uint16_t listening_port(std::string_view line) {
    const auto colon = line.rfind(':');
    if (colon == std::string_view::npos) return 0;
    const auto digits = line.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end == digits.data() || value == 0 || value > 65535) return 0;
    return static_cast<std::uint16_t>(value);
}

/// Asks `url` for eth_chainId until it answers or `deadline` passes.
AppResult<std::uint64_t> await_chain_id(const std::string& url, Clock::time_point deadline) {
    boost::asio::io_context io;
    chains::evm::RpcClientConfig config;
    config.endpoints = {url};
    config.http.connect_timeout = 2s;
    config.http.request_timeout = 2s;
    auto client = chains::evm::RpcClient::create(io.get_executor(), std::move(config));
    if (!client) return err(client.error().to_string());
    std::string last_error = "no answer";
    for (;;) {
        std::optional<chains::evm::RpcResult<std::uint64_t>> answer;
        boost::asio::co_spawn(
            io, client->chain_id(),
            [&](std::exception_ptr failure, chains::evm::RpcResult<std::uint64_t> r) {
                if (failure) {
                    answer = chains::evm::make_rpc_error(chains::evm::RpcError::Code::node_error,
                                                         "eth_chainId failed");
                } else {
                    answer = std::move(r);
                }
            });
        io.restart();
        while (!answer && io.run_one() > 0) {
        }
        if (answer && *answer) return **answer;
        if (answer) last_error = answer->error().to_string();
        if (Clock::now() >= deadline) return err("eth_chainId: " + last_error);
        std::this_thread::sleep_for(50ms);
    }
}

}  // namespace

AppResult<AnvilNode> AnvilNode::start(AnvilOptions options) {
    AnvilNode node;
    if (options.name.empty()) options.name = "anvil";
    if (options.log_file.empty()) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "ferry-anvil-XXXXXX.log").string();
        const int fd = ::mkstemps(pattern.data(), 4);
        if (fd < 0)
            return err("cannot create a log file for anvil: " +
                       std::system_category().message(errno));
        ::close(fd);
        options.log_file = pattern;
        node.temp_log_ = true;
    }
    node.options_ = std::move(options);
    const auto& opts = node.options_;

    SpawnOptions spawn;
    spawn.executable = opts.anvil;
    spawn.name = opts.name;
    spawn.log_file = opts.log_file;
    spawn.args = {"--host",  "127.0.0.1",  "--port",
                  "0",       "--chain-id", std::to_string(opts.chain_id),
                  "--color", "never"};
    if (opts.block_time_s) {
        if (!(*opts.block_time_s > 0) || *opts.block_time_s > 3600)
            return err(opts.name + ": block time " + format_seconds(*opts.block_time_s) +
                       " s is not in (0, 3600]");
        spawn.args.emplace_back("--block-time");
        spawn.args.push_back(format_seconds(*opts.block_time_s));
    }
    if (opts.base_fee_wei) {
        spawn.args.emplace_back("--block-base-fee-per-gas");
        spawn.args.push_back(std::to_string(*opts.base_fee_wei));
    }
    const auto deadline = Clock::now() + opts.start_timeout;
    auto child = ChildProcess::spawn(spawn);
    if (!child) return child.error();
    node.process_ = std::move(*child);

    const auto fail = [&](const std::string& why) {
        std::string message = "starting " + opts.name + " (chain " + std::to_string(opts.chain_id) +
                              ") failed: " + why;
        node.stop();
        return err(std::move(message));
    };
    auto line = node.process_.wait_for_line(kAnvilListening, opts.start_timeout);
    if (!line) return fail(line.error().message);
    node.port_ = listening_port(*line);
    if (node.port_ == 0) return fail("cannot read the port from '" + *line + "'");
    node.url_ = "http://127.0.0.1:" + std::to_string(node.port_);
    auto chain_id = await_chain_id(node.url_, deadline);
    if (!chain_id)
        return fail(chain_id.error().message + "; its last output:\n" +
                    node.process_.output_tail());
    if (*chain_id != opts.chain_id)
        return fail(node.url_ + " reports chain id " + std::to_string(*chain_id));
    return node;
}

AnvilNode::AnvilNode(AnvilNode&& other) noexcept
    : options_(std::move(other.options_)),
      temp_log_(std::exchange(other.temp_log_, false)),
      process_(std::move(other.process_)),
      port_(std::exchange(other.port_, 0)),
      url_(std::move(other.url_)) {}

AnvilNode& AnvilNode::operator=(AnvilNode&& other) noexcept {
    if (this != &other) {
        stop();
        options_ = std::move(other.options_);
        temp_log_ = std::exchange(other.temp_log_, false);
        process_ = std::move(other.process_);
        port_ = std::exchange(other.port_, 0);
        url_ = std::move(other.url_);
    }
    return *this;
}

AnvilNode::~AnvilNode() { stop(); }

void AnvilNode::stop() noexcept {
    process_.terminate();
    if (temp_log_) {
        std::error_code ec;
        std::filesystem::remove(options_.log_file, ec);
        temp_log_ = false;
    }
}

}  // namespace ferry::devnet

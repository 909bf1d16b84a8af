#include "relayer/devnet.hpp"

#include "chains/evm/abi.hpp"
#include "chains/evm/contracts.hpp"
#include "chains/evm/fee_policy.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/json.hpp"
#include "chains/evm/packet.hpp"
#include "chains/evm/rpc_client.hpp"
#include "chains/evm/transaction.hpp"
#include "crypto/hex.hpp"
#include "crypto/secp256k1.hpp"
#include "relayer/cli_common.hpp"
#include "relayer/deploy.hpp"
#include "relayer/tx_sender.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

namespace ferry::relayer {
namespace {

namespace evm = chains::evm;
using chains::Task;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::uint64_t kGwei = 1'000'000'000;
constexpr std::uint64_t kMaxBaseFeeWei = 1'000'000 * kGwei;
// Outbox.send costs well under 100k gas for short bodies; the limit is fixed so that a burst of
// sends needs no estimates, and generous so that none runs out.
constexpr std::uint64_t kSendGasBase = 200'000;
constexpr std::uint64_t kSendGasPerBodyByte = 64;
constexpr std::uint64_t kMaxBodyBytes = 32768;
constexpr std::uint64_t kHandleGasLimit = 500'000;
constexpr std::size_t kRpcBatchSize = 100;
constexpr auto kReceiptTimeout = 120s;
constexpr auto kReceiptPoll = 100ms;
constexpr std::string_view kListeningLine = "ferry: listening on ";
constexpr std::string_view kRelayerName = "relayer";

// anvil's dev keys for its default mnemonic, as anvil prints them at start-up. Public test
// keys: they guard nothing but local chains.
constexpr std::array<std::string_view, kDevAccountCount> kDevKeys = {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

DevnetError derr(std::string message) { return DevnetError{std::move(message)}; }

std::string rpc_text(const evm::RpcError& error, std::string_view what) {
    return to_chain_error(error, what).message;
}

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
DevnetResult<T> run_sync(boost::asio::io_context& io, Task<DevnetResult<T>> task) {
    std::optional<DevnetResult<T>> result;
    boost::asio::co_spawn(
        io, std::move(task), [&result](std::exception_ptr failure, DevnetResult<T> value) {
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
DevnetResult<void> run_parallel(boost::asio::io_context& io,
                                std::vector<Task<DevnetResult<void>>> tasks) {
    std::vector<std::optional<DevnetResult<void>>> results(tasks.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        boost::asio::co_spawn(
            io, std::move(tasks[i]),
            [&results, &done, i](std::exception_ptr failure, DevnetResult<void> value) {
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

std::string validator_node_name(std::size_t i, std::string_view chain) {
    return "validator-" + std::to_string(i) + "-" + std::string(chain);
}

std::string loopback_url(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

DevnetResult<void> write_json_file(const std::filesystem::path& path, const ordered_json& j) {
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

/// Removes the devnet's files from `dir` (and `dir` when that leaves it empty).
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

std::string short_id(const crypto::PacketId& id) { return id.hex().substr(0, 10) + "…"; }

// ---------------------------------------------------------------------------- chain tasks

Task<DevnetResult<void>> deploy_contracts(evm::RpcClient& rpc, DevnetChain& chain,
                                          DevAccount owner) {
    TxSender sender(rpc, chain.chain_id, owner.key, owner.address);
    auto outbox = co_await deploy_contract(sender, evm::Contract::outbox,
                                           outbox_constructor_args(kMaxBodyBytes));
    if (!outbox)
        co_return derr(chain.name +
                       ": deploying the Outbox failed: " + describe_chain_error(outbox.error()));
    auto inbox = co_await deploy_contract(sender, evm::Contract::inbox,
                                          inbox_constructor_args(kHandleGasLimit));
    if (!inbox)
        co_return derr(chain.name +
                       ": deploying the Inbox failed: " + describe_chain_error(inbox.error()));
    auto recipient = co_await deploy_contract(sender, evm::Contract::test_recipient, {});
    if (!recipient)
        co_return derr(chain.name + ": deploying the TestRecipient failed: " +
                       describe_chain_error(recipient.error()));
    chain.outbox = *outbox->contract_address;
    chain.inbox = *inbox->contract_address;
    chain.recipient = *recipient->contract_address;
    chain.deploy_block = outbox->block_number;
    co_return DevnetResult<void>{};
}

Task<DevnetResult<void>> configure_inbox(evm::RpcClient& rpc, const DevnetChain& chain,
                                         DevAccount owner, SourceSpec source) {
    TxSender sender(rpc, chain.chain_id, owner.key, owner.address);
    const auto src = crypto::to_u64(source.chain_id);
    auto receipt = co_await configure_source(sender, chain.inbox, std::move(source));
    if (!receipt)
        co_return derr(chain.name + ": configuring source " + std::to_string(src) +
                       " on the Inbox failed: " + describe_chain_error(receipt.error()));
    co_return DevnetResult<void>{};
}

Task<DevnetResult<bool>> delivered_task(evm::RpcClient& rpc, crypto::Address inbox,
                                        crypto::PacketId id) {
    evm::CallRequest call;
    call.to = inbox;
    call.data = evm::inbox_delivered_calldata(id);
    auto answer = co_await rpc.call(std::move(call));
    if (!answer) co_return derr(rpc_text(answer.error(), "Inbox.delivered"));
    auto value = evm::decode_delivered_result(*answer);
    if (!value) co_return derr("Inbox.delivered: bad answer: " + value.error().message());
    co_return *value;
}

struct PendingSend {
    evm::SignedTx tx;
    crypto::Bytes body;
    Clock::time_point sent_at;
};

/// The packet of a mined Outbox.send receipt.
DevnetResult<SentPacket> packet_of(const evm::Receipt& receipt, const DevnetChain& src,
                                   const DevnetChain& dst, PendingSend& send) {
    if (!receipt.success)
        return derr(src.name + ": Outbox.send transaction " + receipt.tx_hash.hex() +
                    " reverted in block " + std::to_string(receipt.block_number));
    const auto topic = evm::packet_sent_topic();
    for (const auto& log : receipt.logs) {
        if (log.address != src.outbox || log.topics.empty() || log.topics[0] != topic) continue;
        auto event = evm::decode_packet_sent(log);
        if (!event) return derr("malformed PacketSent log: " + event.error().message());
        auto packet = evm::decode_sent_packet(*event, kMaxBodyBytes);
        if (!packet) return derr("bad packet in PacketSent log: " + packet.error().message());
        SentPacket out;
        out.from = src.name;
        out.to = dst.name;
        out.src = src.chain_id;
        out.dst = dst.chain_id;
        out.id = event->id;
        out.nonce = crypto::to_u64(event->nonce);
        out.body = std::move(send.body);
        out.tx_hash = receipt.tx_hash;
        out.block = receipt.block_number;
        out.sent_at = send.sent_at;
        return out;
    }
    return derr(src.name + ": transaction " + receipt.tx_hash.hex() + " emitted no PacketSent");
}

/// Fees of the devnet's Outbox.send bursts at `base_fee`: a fixed 1 gwei tip and a generous
/// max fee (4 × base fee, at least 20 gwei, plus the tip), as a burst raises the base fee block
/// after block.
DevnetResult<evm::Fees> send_fees(const DevnetChain& src, std::uint64_t base_fee) {
    if (base_fee > kMaxBaseFeeWei)
        return derr(src.name + ": the base fee " + std::to_string(base_fee) +
                    " wei is too high for a devnet");
    evm::FeePolicy policy;
    policy.fixed_tip = kGwei;
    policy.base_fee_multiplier = 4.0;
    policy.min_base_part = 20 * kGwei;
    const auto fees = policy.quote(base_fee, policy.tip(std::nullopt));
    if (!fees)
        return derr(src.name + ": cannot price a send at base fee " + std::to_string(base_fee));
    return *fees;
}

Task<DevnetResult<std::vector<SentPacket>>> send_packets_task(evm::RpcClient& rpc,
                                                              const DevnetChain& src,
                                                              const DevnetChain& dst,
                                                              DevAccount sender, std::size_t count,
                                                              std::string prefix) {
    using Out = std::vector<SentPacket>;
    auto nonce = co_await rpc.get_transaction_count(sender.address, evm::BlockTag::pending);
    if (!nonce) co_return derr(rpc_text(nonce.error(), "eth_getTransactionCount"));
    auto block = co_await rpc.get_block_by_number(evm::BlockTag::latest);
    if (!block) co_return derr(rpc_text(block.error(), "eth_getBlockByNumber"));
    if (!*block || !(*block)->base_fee_per_gas || !(*block)->base_fee_per_gas->to_u64())
        co_return derr(src.name + ": the latest block has no usable base fee");
    const auto fees = send_fees(src, *(*block)->base_fee_per_gas->to_u64());
    if (!fees) co_return fees.error();

    std::vector<PendingSend> sends;
    sends.reserve(count);
    const auto recipient = evm::address_to_bytes32(dst.recipient);
    for (std::size_t k = 1; k <= count; ++k) {
        const std::string text = prefix + " #" + std::to_string(k);
        crypto::Bytes body(text.begin(), text.end());
        evm::Eip1559Tx tx;
        tx.chain_id = src.chain_id;
        tx.nonce = *nonce + (k - 1);
        tx.max_priority_fee_per_gas = evm::U256::from_u64(fees->tip);
        tx.max_fee_per_gas = evm::U256::from_u64(fees->max_fee);
        tx.gas_limit = kSendGasBase + kSendGasPerBodyByte * body.size();
        tx.to = src.outbox;
        tx.data = evm::outbox_send_calldata(dst.chain_id, recipient, 0, body);
        auto signed_tx = evm::sign(tx, sender.key);
        if (!signed_tx) co_return derr("signing failed: " + signed_tx.error().message());
        sends.push_back(PendingSend{std::move(*signed_tx), std::move(body), {}});
    }

    const std::string send_method = "eth_sendRawTransaction";
    for (std::size_t first = 0; first < sends.size(); first += kRpcBatchSize) {
        const std::size_t last = std::min(sends.size(), first + kRpcBatchSize);
        std::vector<evm::RpcCall> calls;
        for (std::size_t k = first; k < last; ++k)
            calls.push_back({send_method, json::array({crypto::to_hex(sends[k].tx.raw)})});
        const auto now = Clock::now();
        for (std::size_t k = first; k < last; ++k) sends[k].sent_at = now;
        auto answers = co_await rpc.batch(std::move(calls));
        if (!answers) co_return derr(src.name + ": " + rpc_text(answers.error(), send_method));
        for (std::size_t k = first; k < last; ++k) {
            const auto& answer = (*answers)[k - first];
            if (!answer) {
                if (answer.error().code == evm::RpcError::Code::already_known) continue;
                co_return derr(src.name + ": sending packet " + std::to_string(k + 1) + " of " +
                               std::to_string(count) + ": " +
                               rpc_text(answer.error(), send_method));
            }
            auto hash = evm::hash_from_json(*answer);
            if (!hash || *hash != sends[k].tx.hash)
                co_return derr(src.name + ": the node reports another hash for packet " +
                               std::to_string(k + 1) + ": " + answer->dump());
        }
    }

    // Receipts, polled in batches until all are mined.
    const std::string receipt_method = "eth_getTransactionReceipt";
    Out out(sends.size());
    std::vector<std::size_t> pending(sends.size());
    for (std::size_t k = 0; k < pending.size(); ++k) pending[k] = k;
    const auto deadline = Clock::now() + kReceiptTimeout;
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor);
    while (!pending.empty()) {
        std::vector<std::size_t> still;
        for (std::size_t first = 0; first < pending.size(); first += kRpcBatchSize) {
            const std::size_t last = std::min(pending.size(), first + kRpcBatchSize);
            std::vector<evm::RpcCall> calls;
            for (std::size_t p = first; p < last; ++p)
                calls.push_back({receipt_method, json::array({sends[pending[p]].tx.hash.hex()})});
            auto answers = co_await rpc.batch(std::move(calls));
            if (!answers)
                co_return derr(src.name + ": " + rpc_text(answers.error(), receipt_method));
            for (std::size_t p = first; p < last; ++p) {
                const std::size_t k = pending[p];
                const auto& answer = (*answers)[p - first];
                if (!answer)
                    co_return derr(src.name + ": " + rpc_text(answer.error(), receipt_method));
                if (answer->is_null()) {
                    still.push_back(k);
                    continue;
                }
                auto receipt = evm::receipt_from_json(*answer);
                if (!receipt)
                    co_return derr(src.name + ": malformed receipt of " + sends[k].tx.hash.hex() +
                                   ": " + receipt.error().message());
                auto packet = packet_of(*receipt, src, dst, sends[k]);
                if (!packet) co_return packet.error();
                out[k] = std::move(*packet);
            }
        }
        pending = std::move(still);
        if (pending.empty()) break;
        if (Clock::now() > deadline)
            co_return derr(src.name + ": " + std::to_string(pending.size()) + " of " +
                           std::to_string(count) + " Outbox.send transactions not mined within " +
                           std::to_string(kReceiptTimeout.count()) + " s");
        timer.expires_after(kReceiptPoll);
        co_await timer.async_wait(boost::asio::use_awaitable);
    }
    std::sort(out.begin(), out.end(),
              [](const SentPacket& a, const SentPacket& b) { return a.nonce < b.nonce; });
    co_return out;
}

/// One round of delivered() checks for `indices` of `packets` (all to `inbox`): the indices
/// now delivered.
Task<DevnetResult<std::vector<std::size_t>>> check_delivered(evm::RpcClient& rpc,
                                                             crypto::Address inbox,
                                                             std::span<const SentPacket> packets,
                                                             std::vector<std::size_t> indices) {
    const std::string method = "eth_call";
    std::vector<std::size_t> done;
    for (std::size_t first = 0; first < indices.size(); first += kRpcBatchSize) {
        const std::size_t last = std::min(indices.size(), first + kRpcBatchSize);
        std::vector<evm::RpcCall> calls;
        for (std::size_t p = first; p < last; ++p) {
            evm::CallRequest call;
            call.to = inbox;
            call.data = evm::inbox_delivered_calldata(packets[indices[p]].id);
            calls.push_back({method, json::array({evm::to_json(call), json("latest")})});
        }
        auto answers = co_await rpc.batch(std::move(calls));
        if (!answers) co_return derr(rpc_text(answers.error(), "Inbox.delivered"));
        for (std::size_t p = first; p < last; ++p) {
            const auto& answer = (*answers)[p - first];
            if (!answer) co_return derr(rpc_text(answer.error(), "Inbox.delivered"));
            auto data = evm::data_from_json(*answer);
            if (!data) co_return derr("Inbox.delivered: bad answer " + answer->dump());
            auto value = evm::decode_delivered_result(*data);
            if (!value) co_return derr("Inbox.delivered: bad answer: " + value.error().message());
            if (*value) done.push_back(indices[p]);
        }
    }
    co_return done;
}

}  // namespace

DevAccount dev_account(std::size_t index) {
    if (index >= kDevKeys.size()) throw std::out_of_range("no such anvil dev account");
    DevAccount account;
    account.key = crypto::PrivateKey::from_hex(kDevKeys[index]).value();
    account.address = crypto::Secp256k1Context::instance().address(account.key).value();
    return account;
}

// ---------------------------------------------------------------------------- Devnet

struct Devnet::Impl {
    boost::asio::io_context io;
    std::vector<AnvilNode> anvils;                            // one per chain, in chain order
    std::vector<evm::RpcClient> rpcs;                         // one per chain, in chain order
    std::map<std::string, std::uint16_t, std::less<>> ports;  // API port per node name
    std::map<std::string, ChildProcess, std::less<>> nodes;   // running ferry nodes
    bool deployed = false;
    bool configs_written = false;
};

Devnet::Devnet(DevnetOptions options) : options_(std::move(options)), impl_(new Impl) {
    for (const auto& spec : options_.chains) {
        DevnetChain chain;
        chain.name = spec.name;
        chain.chain_id = crypto::ChainId{spec.chain_id};
        chains_.push_back(std::move(chain));
    }
}

Devnet::~Devnet() { stop_all(); }

DevnetResult<const DevnetChain*> Devnet::chain(std::string_view name) const {
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

DevnetResult<void> Devnet::start() {
    if (auto r = start_chains(); !r) return r;
    if (auto r = deploy(); !r) return r;
    if (auto r = write_configs(); !r) return r;
    for (std::size_t i = 1; i <= options_.validators; ++i)
        if (auto r = start_validator(i); !r) return r;
    return start_relayer();
}

DevnetResult<void> Devnet::start_chains() {
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

DevnetResult<void> Devnet::deploy() {
    if (impl_->rpcs.size() != chains_.size()) return derr("start the chains before deploying");
    const auto owner = dev_account(kDeployerAccount);
    std::vector<Task<DevnetResult<void>>> tasks;
    for (std::size_t c = 0; c < chains_.size(); ++c)
        tasks.push_back(deploy_contracts(impl_->rpcs[c], chains_[c], owner));
    if (auto r = run_parallel(impl_->io, std::move(tasks)); !r) return r;

    std::vector<crypto::Address> validators;
    for (std::size_t i = 1; i <= options_.validators; ++i)
        validators.push_back(dev_account(kFirstValidatorAccount + i - 1).address);
    tasks.clear();
    for (std::size_t c = 0; c < chains_.size(); ++c) {
        const auto& peer = chains_[1 - c];
        SourceSpec source;
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

DevnetResult<void> Devnet::write_configs() {
    if (!impl_->deployed) return derr("deploy the contracts before writing the configs");
    // Ports are picked once, so a restarted node keeps its URL.
    std::set<std::uint16_t> taken;
    for (const auto& [name, port] : impl_->ports) taken.insert(port);
    const auto port_for = [&](const std::string& name) -> DevnetResult<std::uint16_t> {
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

namespace {

/// Spawns `ferry start -c <config>` for a node with `key` in `key_env`.
ProcessResult<ChildProcess> spawn_node(const DevnetOptions& options, const std::string& name,
                                       const std::filesystem::path& config,
                                       const std::filesystem::path& log, std::string_view key_env,
                                       const crypto::PrivateKey& key) {
    std::filesystem::path ferry = options.ferry_binary;
    if (ferry.empty()) {
        std::error_code ec;
        ferry = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (ec) return ProcessError{"cannot find the ferry executable: " + ec.message()};
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
DevnetResult<void> await_listening(ChildProcess& node, std::uint16_t port,
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

DevnetResult<void> Devnet::start_validator(std::size_t i) {
    if (!impl_->configs_written) return derr("write the configs before starting validators");
    if (i < 1 || i > options_.validators)
        return derr("no validator " + std::to_string(i) + " (there are 1 .. " +
                    std::to_string(options_.validators) + ")");
    const auto account = dev_account(kFirstValidatorAccount + i - 1);
    std::vector<std::string> started;
    const auto undo = [&](DevnetError error) {
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

DevnetResult<void> Devnet::stop_validator(std::size_t i, int sig) {
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

DevnetResult<void> Devnet::start_relayer() {
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

DevnetResult<ExitStatus> Devnet::kill_relayer(int sig) {
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

DevnetResult<void> Devnet::signal_node(std::string_view name, int sig) {
    auto it = impl_->nodes.find(name);
    if (it == impl_->nodes.end() || !it->second.running())
        return derr(std::string(name) + " is not running");
    if (!it->second.signal(sig)) return derr("cannot signal " + std::string(name));
    return {};
}

std::string Devnet::relayer_api_url() const {
    auto it = impl_->nodes.find(kRelayerName);
    if (it == impl_->nodes.end() || it->second.exit_status()) return {};
    return loopback_url(impl_->ports.at(std::string(kRelayerName)));
}

DevnetResult<std::string> Devnet::validator_api_url(std::size_t i,
                                                    std::string_view source_chain) const {
    auto it = impl_->ports.find(validator_node_name(i, source_chain));
    if (it == impl_->ports.end())
        return derr("no validator " + std::to_string(i) + " for chain '" +
                    std::string(source_chain) + "' (are the configs written?)");
    return DevnetResult<std::string>(boost::system::in_place_value, loopback_url(it->second));
}

DevnetResult<std::vector<SentPacket>> Devnet::send_packets(std::string_view from_chain,
                                                           std::size_t count,
                                                           std::string_view body_prefix) {
    if (!impl_->deployed) return derr("deploy the contracts before sending packets");
    auto src = chain(from_chain);
    if (!src) return src.error();
    auto dst = chain(peer_of(from_chain));
    if (!dst) return dst.error();
    const auto index = static_cast<std::size_t>(*src - chains_.data());
    if (count == 0) return std::vector<SentPacket>{};
    return run_sync(impl_->io, send_packets_task(impl_->rpcs[index], **src, **dst,
                                                 dev_account(kDeployerAccount), count,
                                                 std::string(body_prefix)));
}

DevnetResult<bool> Devnet::delivered(std::string_view chain_name, const crypto::PacketId& id) {
    if (!impl_->deployed) return derr("the contracts are not deployed");
    auto c = chain(chain_name);
    if (!c) return c.error();
    const auto index = static_cast<std::size_t>(*c - chains_.data());
    return run_sync(impl_->io, delivered_task(impl_->rpcs[index], (*c)->inbox, id));
}

DevnetResult<WaitOutcome> Devnet::wait_delivered(std::span<const SentPacket> packets,
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

// ---------------------------------------------------------------------------- ferry devnet

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

}  // namespace ferry::relayer

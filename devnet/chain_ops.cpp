// The devnet's chain-side tasks (devnet/chain_ops.hpp): deploying and configuring the
// contracts, sending packets fast, and checking deliveries.
#include "devnet/chain_ops.hpp"

#include "chains/evm/abi.hpp"
#include "chains/evm/contracts.hpp"
#include "chains/evm/deployment.hpp"
#include "chains/evm/fee_policy.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/json.hpp"
#include "chains/evm/packet.hpp"
#include "chains/evm/transaction.hpp"
#include "chains/evm/tx_sender.hpp"
#include "crypto/hex.hpp"
#include "crypto/secp256k1.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace ferry::devnet {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using evm::configure_source;
using evm::deploy_contract;
using evm::describe_chain_error;
using evm::inbox_constructor_args;
using evm::outbox_constructor_args;
using evm::SourceSpec;
using evm::TxSender;
using nlohmann::json;

constexpr std::uint64_t kGwei = 1'000'000'000;
constexpr std::uint64_t kMaxBaseFeeWei = 1'000'000 * kGwei;
// Outbox.send costs well under 100k gas for short bodies; the limit is fixed so that a burst of
// sends needs no estimates, and generous so that none runs out.
constexpr std::uint64_t kSendGasBase = 200'000;
constexpr std::uint64_t kSendGasPerBodyByte = 64;
constexpr std::uint64_t kMaxBodyBytes = 32768;
// Gas each recipient call gets; TestRecipient.handle needs well under it. Every delivery's gas
// limit reserves all of it per packet (docs/design.md §2, "Gas of a delivery"), so a generous
// limit costs block space, not money.
constexpr std::uint64_t kHandleGasLimit = 100'000;
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

AppError derr(std::string message) { return AppError{std::move(message)}; }

std::string rpc_text(const evm::RpcError& error, std::string_view what) {
    return to_chain_error(error, what).message;
}

}  // namespace

DevAccount dev_account(std::size_t index) {
    if (index >= kDevKeys.size()) throw std::out_of_range("no such anvil dev account");
    DevAccount account;
    account.key = crypto::PrivateKey::from_hex(kDevKeys[index]).value();
    account.address = crypto::Secp256k1Context::instance().address(account.key).value();
    return account;
}

// ---------------------------------------------------------------------------- chain tasks

Task<AppResult<void>> deploy_contracts(evm::RpcClient& rpc, DevnetChain& chain, DevAccount owner) {
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
    co_return AppResult<void>{};
}

Task<AppResult<void>> configure_inbox(evm::RpcClient& rpc, const DevnetChain& chain,
                                      DevAccount owner, SourceSpec source) {
    TxSender sender(rpc, chain.chain_id, owner.key, owner.address);
    const auto src = crypto::to_u64(source.chain_id);
    auto receipt = co_await configure_source(sender, chain.inbox, std::move(source));
    if (!receipt)
        co_return derr(chain.name + ": configuring source " + std::to_string(src) +
                       " on the Inbox failed: " + describe_chain_error(receipt.error()));
    co_return AppResult<void>{};
}

Task<AppResult<bool>> delivered_task(evm::RpcClient& rpc, crypto::Address inbox,
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
AppResult<SentPacket> packet_of(const evm::Receipt& receipt, const DevnetChain& src,
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
AppResult<evm::Fees> send_fees(const DevnetChain& src, std::uint64_t base_fee) {
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

Task<AppResult<std::vector<SentPacket>>> send_packets_task(
    evm::RpcClient& rpc, const DevnetChain& src, const DevnetChain& dst, DevAccount sender,
    std::size_t count, std::string prefix,
    std::function<crypto::Address(std::size_t)> recipient_of) {
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
    for (std::size_t k = 1; k <= count; ++k) {
        const auto recipient =
            evm::address_to_bytes32(recipient_of ? recipient_of(k) : dst.recipient);
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
Task<AppResult<std::vector<std::size_t>>> check_delivered(evm::RpcClient& rpc,
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

}  // namespace ferry::devnet

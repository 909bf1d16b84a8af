#include "chains/evm/tx_sender.hpp"

#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/transaction.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <limits>
#include <string>
#include <utility>

namespace ferry::chains::evm {
namespace {

using chains::ChainError;
using chains::ChainResult;
using chains::Task;
namespace evm = chains::evm;

ChainError permanent(std::string message) {
    return ChainError{ChainError::Kind::permanent, std::move(message), std::nullopt};
}

std::optional<std::string> reason_of(const evm::RpcError& error) {
    if (auto name = evm::ferry_error_name(error.revert_data)) return std::string(*name);
    if (error.revert_reason && !error.revert_reason->empty()) return error.revert_reason;
    return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> gas_with_margin(std::uint64_t estimate) noexcept {
    if (estimate > std::numeric_limits<std::uint64_t>::max() / kGasMarginNum) return std::nullopt;
    return (estimate * kGasMarginNum + kGasMarginDen - 1) / kGasMarginDen;
}

ChainError to_chain_error(const evm::RpcError& error, std::string_view what) {
    ChainError out;
    out.kind = error.transient() ? ChainError::Kind::transient : ChainError::Kind::permanent;
    out.revert_reason = reason_of(error);
    if (error.code == evm::RpcError::Code::execution_reverted) {
        // The node's text repeats the revert data, sometimes as raw bytes: keep our decoding.
        out.message = std::string(what) + ": " + error.endpoint + ": execution reverted";
    } else {
        out.message = std::string(what) + ": " + error.to_string();
    }
    return out;
}

TxSender::TxSender(evm::RpcClient& rpc, crypto::ChainId chain_id, crypto::PrivateKey key,
                   crypto::Address from, TxSenderOptions options)
    : rpc_(&rpc), chain_id_(chain_id), key_(std::move(key)), from_(from), options_(options) {}

Task<ChainResult<evm::Fees>> TxSender::quote_fees() {
    const evm::FeePolicy& policy = options_.fees;
    std::optional<std::uint64_t> node_tip;
    if (policy.tip_from_node()) {
        if (auto tip = co_await rpc_->max_priority_fee_per_gas()) {
            node_tip = tip->to_u64();
        } else if (!tip.error().transient() ||
                   tip.error().code == evm::RpcError::Code::method_not_found) {
            // not served: the policy's fallback
        } else {
            co_return to_chain_error(tip.error(), "eth_maxPriorityFeePerGas");
        }
    }
    auto block = co_await rpc_->get_block_by_number(evm::BlockTag::latest);
    if (!block) co_return to_chain_error(block.error(), "eth_getBlockByNumber");
    if (!*block) co_return permanent("the node has no latest block");
    const auto& base = (*block)->base_fee_per_gas;
    if (!base) co_return permanent("the chain reports no base fee (EIP-1559 is required)");
    const auto base_fee = base->to_u64();
    const auto fees = base_fee ? policy.quote(*base_fee, policy.tip(node_tip)) : std::nullopt;
    if (!fees) co_return permanent("the chain's base fee is too large");
    co_return *fees;
}

Task<ChainResult<evm::Receipt>> TxSender::send_and_wait(TxRequest request) {
    evm::Eip1559Tx tx;
    tx.chain_id = chain_id_;
    tx.to = request.to;
    tx.value = request.value;
    tx.data = std::move(request.data);

    auto fees = co_await quote_fees();
    if (!fees) co_return fees.error();
    tx.max_priority_fee_per_gas = evm::U256::from_u64(fees->tip);
    tx.max_fee_per_gas = evm::U256::from_u64(fees->max_fee);

    // Gas: the estimate with a margin, unless the caller fixed it.
    if (request.gas_limit) {
        tx.gas_limit = *request.gas_limit;
    } else {
        evm::CallRequest call;
        call.from = from_;
        call.to = tx.to;
        call.data = tx.data;
        call.value = tx.value;
        auto estimate = co_await rpc_->estimate_gas(call);
        if (!estimate) co_return to_chain_error(estimate.error(), "eth_estimateGas");
        const auto limit = gas_with_margin(*estimate);
        if (!limit) co_return permanent("the node's gas estimate is too large");
        tx.gas_limit = *limit;
    }

    auto nonce = co_await rpc_->get_transaction_count(from_, evm::BlockTag::pending);
    if (!nonce) co_return to_chain_error(nonce.error(), "eth_getTransactionCount");
    tx.nonce = *nonce;

    auto signed_tx = evm::sign(tx, key_);
    if (!signed_tx) co_return permanent("signing failed: " + signed_tx.error().message());

    auto hash = co_await rpc_->send_raw_transaction(signed_tx->raw);
    if (!hash) co_return to_chain_error(hash.error(), "eth_sendRawTransaction");

    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor);
    const auto deadline = std::chrono::steady_clock::now() + options_.receipt_timeout;
    for (;;) {
        auto receipt = co_await rpc_->get_transaction_receipt(*hash);
        if (!receipt && !receipt.error().transient())
            co_return to_chain_error(receipt.error(), "eth_getTransactionReceipt");
        if (receipt && *receipt) {
            evm::Receipt mined = std::move(**receipt);
            if (mined.success) co_return mined;
            // Replay the call on the parent block's state for the reason.
            ChainError error = permanent("transaction " + hash->hex() + " reverted in block " +
                                         std::to_string(mined.block_number));
            evm::CallRequest replay;
            replay.from = from_;
            replay.to = tx.to;
            replay.data = tx.data;
            replay.value = tx.value;
            replay.gas = tx.gas_limit;
            const std::uint64_t at = mined.block_number > 0 ? mined.block_number - 1 : 0;
            auto again = co_await rpc_->call(replay, at);
            if (!again) error.revert_reason = reason_of(again.error());
            co_return error;
        }
        if (std::chrono::steady_clock::now() > deadline)
            co_return ChainError{ChainError::Kind::transient,
                                 "no receipt for transaction " + hash->hex() + " within " +
                                     std::to_string(options_.receipt_timeout.count() / 1000) + " s",
                                 std::nullopt};
        timer.expires_after(options_.receipt_poll);
        co_await timer.async_wait(boost::asio::use_awaitable);
    }
}

}  // namespace ferry::chains::evm

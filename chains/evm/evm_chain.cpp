#include "chains/evm/evm_chain.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace ferry::chains::evm {

namespace {

/// eth_call of a view at the newest block, decoded by `decode`. A coroutine: every argument is
/// taken by value, as the callers return its awaitable after their own parameters are gone.
template <class Decode>
auto read_view(RpcClient& rpc, crypto::Address contract, crypto::Bytes calldata, Decode decode)
    -> Task<ViewResult<typename decltype(decode(ByteView{}))::value_type>> {
    CallRequest request;
    request.to = contract;
    request.data = std::move(calldata);
    auto returned = co_await rpc.call(std::move(request));
    if (!returned) co_return returned.error();
    co_return decode(*returned);
}

}  // namespace

Task<RequestResult<std::uint64_t>> EvmChain::chain_id() { return rpc_->chain_id(); }

Task<RequestResult<std::uint64_t>> EvmChain::head() { return rpc_->block_number(); }

Task<RequestResult<std::optional<BlockHeader>>> EvmChain::block(BlockId id) {
    return rpc_->get_block_by_number(id);
}

Task<RequestResult<std::vector<Log>>> EvmChain::logs(LogFilter filter) {
    return rpc_->get_logs(std::move(filter));
}

Task<RequestResult<crypto::Bytes>> EvmChain::call(CallRequest request) {
    return rpc_->call(std::move(request));
}

Task<RequestResult<crypto::Bytes>> EvmChain::call_at(CallRequest request, std::uint64_t block) {
    return rpc_->call(std::move(request), BlockId{block});
}

Task<RequestResult<std::uint64_t>> EvmChain::estimate_gas(CallRequest request) {
    return rpc_->estimate_gas(std::move(request));
}

Task<RequestResult<FeeQuote>> EvmChain::fee_quote(bool with_priority_fee) {
    FeeQuote quote;
    if (with_priority_fee) {
        // A node that cannot suggest a tip still lets the caller price with its own default.
        if (auto tip = co_await rpc_->max_priority_fee_per_gas(); tip) quote.priority_fee = *tip;
    }
    auto block = co_await rpc_->get_block_by_number(BlockTag::latest);
    if (!block) co_return block.error();
    if (*block) quote.base_fee = (*block)->base_fee_per_gas;
    co_return quote;
}

Task<RequestResult<std::uint64_t>> EvmChain::account_nonce(crypto::Address account, NonceAt at) {
    return rpc_->get_transaction_count(
        account, at == NonceAt::latest ? BlockTag::latest : BlockTag::pending);
}

Task<RequestResult<U256>> EvmChain::balance(crypto::Address account) {
    return rpc_->get_balance(account);
}

Task<RequestResult<crypto::Hash32>> EvmChain::send_raw(crypto::Bytes raw) {
    return rpc_->send_raw_transaction(std::move(raw));
}

Task<RequestResult<std::optional<Receipt>>> EvmChain::receipt(crypto::Hash32 tx) {
    return rpc_->get_transaction_receipt(tx);
}

Task<std::optional<std::uint64_t>> EvmChain::transaction_nonce(crypto::Hash32 tx) {
    std::string method = "eth_getTransactionByHash";
    nlohmann::json params = nlohmann::json::array({tx.hex()});
    auto tx_json = co_await rpc_->request(std::move(method), std::move(params));
    if (!tx_json || !tx_json->is_object()) co_return std::nullopt;
    const auto n = tx_json->find("nonce");
    if (n == tx_json->end() || !n->is_string()) co_return std::nullopt;
    try {
        co_return std::stoull(n->get_ref<const std::string&>(), nullptr, 16);
    } catch (...) {  // a malformed answer: no nonce
        co_return std::nullopt;
    }
}

Task<ViewResult<crypto::Nonce>> EvmChain::next_inbound_nonce(crypto::Address inbox,
                                                             crypto::ChainId src) {
    return read_view(*rpc_, inbox, inbox_next_inbound_nonce_calldata(src), decode_nonce_result);
}

Task<ViewResult<bool>> EvmChain::delivered(crypto::Address inbox, crypto::PacketId id) {
    return read_view(*rpc_, inbox, inbox_delivered_calldata(id), decode_delivered_result);
}

Task<ViewResult<std::uint64_t>> EvmChain::handle_gas_limit(crypto::Address inbox) {
    return read_view(*rpc_, inbox, inbox_handle_gas_limit_calldata(), decode_u64_result);
}

Task<ViewResult<ValidatorSet>> EvmChain::validator_set(crypto::Address inbox, crypto::ChainId src) {
    return read_view(*rpc_, inbox, inbox_validator_set_calldata(src), decode_validator_set_result);
}

}  // namespace ferry::chains::evm

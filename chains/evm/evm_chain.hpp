// The Chain interface over an EVM node's JSON-RPC: each method is the one eth_* request (or the
// fixed pair, for the fee quote) the stages have always made, in the same order.
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/rpc_client.hpp"

namespace ferry::chains::evm {

class EvmChain final : public Chain {
public:
    /// Talks through `rpc`, which must outlive the chain.
    explicit EvmChain(RpcClient& rpc) noexcept : rpc_(&rpc) {}

    Task<RequestResult<std::uint64_t>> chain_id() override;
    Task<RequestResult<std::uint64_t>> head() override;
    Task<RequestResult<std::optional<BlockHeader>>> block(BlockId id) override;
    Task<RequestResult<std::vector<Log>>> logs(LogFilter filter) override;
    Task<RequestResult<crypto::Bytes>> call(CallRequest request) override;
    Task<RequestResult<crypto::Bytes>> call_at(CallRequest request, std::uint64_t block) override;
    Task<RequestResult<std::uint64_t>> estimate_gas(CallRequest request) override;
    Task<RequestResult<FeeQuote>> fee_quote(bool with_priority_fee) override;
    Task<RequestResult<std::uint64_t>> account_nonce(crypto::Address account, NonceAt at) override;
    Task<RequestResult<U256>> balance(crypto::Address account) override;
    Task<RequestResult<crypto::Hash32>> send_raw(crypto::Bytes raw) override;
    Task<RequestResult<std::optional<Receipt>>> receipt(crypto::Hash32 tx) override;
    Task<std::optional<std::uint64_t>> transaction_nonce(crypto::Hash32 tx) override;
    Task<ViewResult<crypto::Nonce>> next_inbound_nonce(crypto::Address inbox,
                                                       crypto::ChainId src) override;
    Task<ViewResult<bool>> delivered(crypto::Address inbox, crypto::PacketId id) override;
    Task<ViewResult<ValidatorSet>> validator_set(crypto::Address inbox,
                                                 crypto::ChainId src) override;
    Task<ViewResult<std::uint64_t>> handle_gas_limit(crypto::Address inbox) override;

private:
    RpcClient* rpc_;
};

}  // namespace ferry::chains::evm

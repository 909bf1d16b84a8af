#include "chains/evm/deployment.hpp"

#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "crypto/hex.hpp"

#include <optional>
#include <utility>

namespace ferry::chains::evm {

std::string describe_chain_error(const ChainError& error) {
    std::string out = error.message;
    if (error.revert_reason) out += " (reverted: " + *error.revert_reason + ")";
    return out;
}

crypto::Bytes outbox_constructor_args(std::uint64_t max_body_bytes) {
    return AbiEncoder().add_uint256(U256::from_u64(max_body_bytes)).encode();
}

crypto::Bytes inbox_constructor_args(std::uint64_t handle_gas_limit) {
    return AbiEncoder().add_uint(handle_gas_limit).encode();
}

Task<ChainResult<Receipt>> deploy_contract(TxSender& sender, Contract contract,
                                           crypto::Bytes constructor_args) {
    auto code = crypto::from_hex(bytecode(contract));
    TxRequest request;
    request.data = std::move(code.value());
    request.data.insert(request.data.end(), constructor_args.begin(), constructor_args.end());
    auto receipt = co_await sender.send_and_wait(std::move(request));
    if (!receipt) co_return receipt.error();
    if (!receipt->contract_address)
        co_return ChainError{ChainError::Kind::permanent,
                             "transaction " + receipt->tx_hash.hex() +
                                 " created no contract (no contract address in receipt)",
                             std::nullopt};
    co_return std::move(*receipt);
}

Task<ChainResult<Receipt>> configure_source(TxSender& sender, crypto::Address inbox,
                                            SourceSpec source) {
    TxRequest request;
    request.to = inbox;
    request.data = inbox_configure_source_calldata(
        source.chain_id, source.outbox, source.validators, source.threshold, source.ordered);
    co_return co_await sender.send_and_wait(std::move(request));
}

}  // namespace ferry::chains::evm

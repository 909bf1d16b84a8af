// The steps of a Ferry deployment on an EVM chain, shared by `ferry deploy` and the devnet:
// constructor arguments, contract creation, and Inbox.configureSource (docs/design.md §2).
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/contracts.hpp"
#include "chains/evm/rpc_types.hpp"
#include "chains/evm/tx_sender.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::chains::evm {

/// A validator set for Inbox.configureSource.
struct SourceSpec {
    crypto::ChainId chain_id{};
    crypto::Address outbox;
    std::vector<crypto::Address> validators;
    std::uint8_t threshold = 0;
    bool ordered = true;
};

/// "<message>" plus " (reverted: <reason>)" when the chain gave a revert reason.
std::string describe_chain_error(const ChainError& error);

/// ABI-encoded constructor arguments: Outbox(uint256 maxBodyBytes), Inbox(uint64 handleGasLimit).
crypto::Bytes outbox_constructor_args(std::uint64_t max_body_bytes);
crypto::Bytes inbox_constructor_args(std::uint64_t handle_gas_limit);

/// Deploys `contract` (its embedded creation code followed by `constructor_args`) from the
/// sender's account and waits for it. The receipt's contract_address is set; a receipt
/// without one is a permanent error.
Task<ChainResult<Receipt>> deploy_contract(TxSender& sender, Contract contract,
                                           crypto::Bytes constructor_args);

/// Calls Inbox.configureSource for `source` on `inbox` and waits for the receipt.
Task<ChainResult<Receipt>> configure_source(TxSender& sender, crypto::Address inbox,
                                            SourceSpec source);

}  // namespace ferry::chains::evm

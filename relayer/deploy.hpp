// `ferry deploy`: deploys the Outbox and/or the Inbox, configures the Inbox's sources and
// writes the addresses to a deployment JSON file.
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/contracts.hpp"
#include "chains/evm/rpc_types.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"
#include "relayer/cli_common.hpp"
#include "relayer/tx_sender.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ferry::relayer {

struct DeployOptions {
    RpcOptions rpc;
    KeyOptions key;
    bool outbox = false;
    bool inbox = false;
    std::uint64_t max_body_bytes = 32768;
    std::uint64_t handle_gas_limit = 500'000;
    std::vector<std::string> sources;
    std::string out;
};

/// Adds the `deploy` subcommand to `app`, filling `options` when parsed.
CLI::App* add_deploy_command(CLI::App& app, DeployOptions& options);

/// Runs it; the exit code.
int run_deploy(const DeployOptions& options);

// The steps of a deployment, for `ferry deploy` and `ferry devnet`.

/// "<message>" plus " (reverted: <reason>)" when the chain gave a revert reason.
std::string describe_chain_error(const chains::ChainError& error);

/// ABI-encoded constructor arguments: Outbox(uint256 maxBodyBytes), Inbox(uint64 handleGasLimit).
crypto::Bytes outbox_constructor_args(std::uint64_t max_body_bytes);
crypto::Bytes inbox_constructor_args(std::uint64_t handle_gas_limit);

/// Deploys `contract` (its embedded creation code followed by `constructor_args`) from the
/// sender's account and waits for it. The receipt's contract_address is set; a receipt
/// without one is a permanent error.
chains::Task<chains::ChainResult<chains::evm::Receipt>> deploy_contract(
    TxSender& sender, chains::evm::Contract contract, crypto::Bytes constructor_args);

/// Calls Inbox.configureSource for `source` on `inbox` and waits for the receipt.
chains::Task<chains::ChainResult<chains::evm::Receipt>> configure_source(TxSender& sender,
                                                                         crypto::Address inbox,
                                                                         SourceSpec source);

}  // namespace ferry::relayer

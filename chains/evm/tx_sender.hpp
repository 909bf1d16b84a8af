// Builds, signs and sends one EIP-1559 transaction from a local key and waits for its receipt:
// fees by a FeePolicy (tip from eth_maxPriorityFeePerGas by default, latest base fee), gas from
// eth_estimateGas with a margin, nonce from the pending pool. The submitter grows from this.
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/abi.hpp"
#include "chains/evm/fee_policy.hpp"
#include "chains/evm/rpc_client.hpp"
#include "chains/evm/rpc_types.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace ferry::chains::evm {

/// What to send. `to` empty = contract creation (`data` is the init code).
struct TxRequest {
    std::optional<crypto::Address> to;
    crypto::Bytes data;
    chains::evm::U256 value;
    /// Fixed gas limit; empty = eth_estimateGas × kGasMargin.
    std::optional<std::uint64_t> gas_limit;
};

struct TxSenderOptions {
    /// Tip from the node (1 gwei when it does not serve eth_maxPriorityFeePerGas), max fee
    /// 2 × base fee + tip, no cap.
    chains::evm::FeePolicy fees;
    std::chrono::milliseconds receipt_poll{100};
    std::chrono::milliseconds receipt_timeout{120'000};
};

/// Gas estimate margin: limit = estimate × 6 / 5 (rounded up).
inline constexpr std::uint64_t kGasMarginNum = 6;
inline constexpr std::uint64_t kGasMarginDen = 5;

/// estimate × 6 / 5 rounded up; nullopt on overflow.
std::optional<std::uint64_t> gas_with_margin(std::uint64_t estimate) noexcept;

/// Sends transactions from one account on one chain. The key stays inside; nothing here
/// prints it or puts it in an error. Not thread-safe; the RpcClient must outlive it.
class TxSender {
public:
    TxSender(chains::evm::RpcClient& rpc, crypto::ChainId chain_id, crypto::PrivateKey key,
             crypto::Address from, TxSenderOptions options = {});

    /// The account the key controls.
    const crypto::Address& from() const noexcept { return from_; }

    /// Sends `request` and waits for its receipt. A reverted estimate or a mined transaction
    /// with status 0 is a permanent ChainError with revert_reason set when the node gave one
    /// (a Ferry custom error by name).
    chains::Task<chains::ChainResult<chains::evm::Receipt>> send_and_wait(TxRequest request);

private:
    /// The policy's fees at the latest block.
    chains::Task<chains::ChainResult<chains::evm::Fees>> quote_fees();

    chains::evm::RpcClient* rpc_;
    crypto::ChainId chain_id_;
    crypto::PrivateKey key_;
    crypto::Address from_;
    TxSenderOptions options_;
};

/// The ChainError for an RpcError: message "<what>: <endpoint>: <code>: <detail>", kind kept,
/// revert reason decoded (Ferry custom errors by name).
chains::ChainError to_chain_error(const chains::evm::RpcError& error, std::string_view what);

}  // namespace ferry::chains::evm

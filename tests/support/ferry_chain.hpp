// Test helpers that drive Ferry's contracts on a real chain with Ferry's own transaction, ABI and
// signing code: anvil's dev accounts, signed type-2 transactions, deployments, eth_call, logs,
// revert data and validator signature bundles. Synchronous, for tests only; they throw
// std::runtime_error (or RpcError) on anything unexpected.
#pragma once

#include "chains/evm/contracts.hpp"
#include "chains/evm/log.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"
#include "tests/support/rpc_client.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::test {

/// One of anvil's default dev accounts (its published "test test ... junk" mnemonic).
struct DevAccount {
    crypto::PrivateKey key;
    crypto::Address address;  // derived from `key` with Ferry's secp256k1 code
};

/// Number of dev accounts anvil creates by default.
inline constexpr std::size_t kDevAccountCount = 10;

/// Dev account `index` (0 .. kDevAccountCount - 1); throws std::out_of_range otherwise.
DevAccount dev_account(std::size_t index);

/// What a mined transaction's receipt says.
struct TxReceipt {
    crypto::Hash32 tx_hash;
    bool success = false;  // status 0x1
    std::uint64_t gas_used = 0;
    std::uint64_t block_number = 0;
    std::optional<crypto::Address> contract_address;
    std::vector<chains::evm::Log> logs;
};

/// Default gas limit of send(): far above any single Ferry call, far below anvil's block limit.
inline constexpr std::uint64_t kDefaultGasLimit = 3'000'000;

/// One chain reached through the synchronous test RPC client. Transactions are EIP-1559, built
/// and signed by chains/evm/transaction.hpp; the nonce comes from the node ("pending") and the
/// fee cap is twice the latest base fee plus a 1 gwei tip.
class ChainClient {
public:
    explicit ChainClient(std::string_view url);

    RpcClient& rpc() noexcept { return rpc_; }
    /// eth_chainId, read once by the constructor.
    crypto::ChainId chain_id() const noexcept { return chain_id_; }

    /// Signs and sends a transaction with the given gas limit, then waits for its receipt
    /// (reverted transactions included: check `success`). `to` empty = contract creation.
    TxReceipt send(const DevAccount& from, const std::optional<crypto::Address>& to,
                   crypto::ByteView data, std::uint64_t gas_limit = kDefaultGasLimit);

    /// Deploys `contract` with ABI-encoded constructor arguments; throws unless it succeeds.
    crypto::Address deploy(const DevAccount& from, chains::evm::Contract contract,
                           crypto::ByteView constructor_args);

    /// eth_call at "latest"; throws RpcError when the call reverts.
    crypto::Bytes call(const crypto::Address& to, crypto::ByteView data,
                       const std::optional<crypto::Address>& from = std::nullopt);

    /// The revert data of a mined transaction (debug_traceTransaction with the call tracer).
    crypto::Bytes revert_data(const crypto::Hash32& tx_hash);

    /// eth_getLogs of one contract and topic0 over [from_block, to_block].
    std::vector<chains::evm::Log> get_logs(const crypto::Address& address,
                                           const crypto::Hash32& topic0, std::uint64_t from_block,
                                           std::uint64_t to_block);

    /// Timestamp of the latest block.
    std::uint64_t latest_timestamp();
    /// evm_setNextBlockTimestamp: the next mined block gets exactly this timestamp.
    void set_next_block_timestamp(std::uint64_t timestamp);

private:
    RpcClient rpc_;
    crypto::ChainId chain_id_{};
};

/// Parses a JSON-RPC quantity ("0x..") that fits 64 bits; throws std::runtime_error otherwise.
std::uint64_t quantity_u64(const nlohmann::json& j);
/// Parses a log as eth_getLogs and receipts report it; throws std::runtime_error when malformed.
chains::evm::Log parse_log(const nlohmann::json& j);

/// The logs among `logs` whose topic0 is `topic0`, in order.
std::vector<chains::evm::Log> logs_with_topic(const std::vector<chains::evm::Log>& logs,
                                              const crypto::Hash32& topic0);

/// A validator's attestation of packet `id` from `outbox` on `src_chain` (docs/design.md §2).
crypto::Signature attest(crypto::ChainId src_chain, const crypto::Address& outbox,
                         const crypto::PacketId& id, const crypto::PrivateKey& key);

/// The Inbox's signature bundle: one attestation per signer, concatenated in strictly
/// ascending order of signer address (whatever order `signers` has).
crypto::Bytes signature_bundle(crypto::ChainId src_chain, const crypto::Address& outbox,
                               const crypto::PacketId& id, std::span<const DevAccount> signers);

/// The same signature with s replaced by n - s and v flipped: the malleated twin that
/// recovers to the same key but is not low-s (EIP-2).
crypto::Signature high_s_twin(const crypto::Signature& signature);

}  // namespace ferry::test

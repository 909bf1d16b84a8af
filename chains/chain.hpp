// The narrow interface the pipeline uses to talk to one chain (docs/design.md §5): every request
// the watcher, attestor, validator, submitter, chain monitor and the node's API make of a chain.
// chains/evm/evm_chain.hpp implements it over the JSON-RPC client; tests/support/fake_chain.hpp
// scripts it. EVM (chains/evm/) is the first family; its values (block ids, logs, receipts,
// 256-bit amounts) are the protocol's, so the interface uses them directly for now.
//
// What stays on the JSON-RPC client (chains/evm/rpc_client.hpp) is about endpoints, not the
// chain: the endpoint list with its health, per-method counters, and raw requests to other
// JSON-RPC servers (the attestor asks validators for signatures that way).
#pragma once

#include "chains/evm/error.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/log.hpp"
#include "chains/evm/rpc_error.hpp"
#include "chains/evm/rpc_types.hpp"
#include "chains/evm/u256.hpp"
#include "chains/task.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferry::chains {

/// Why one chain request failed, in the terms the stages decide on: transient or permanent,
/// the classified code (the submitter tells "nonce too low" and "already known" apart), the
/// node's JSON-RPC code, the revert reason and data, and the endpoint. The EVM client's
/// classification is the vocabulary; another chain family maps its failures into it.
using RequestError = evm::RpcError;

template <class T>
using RequestResult = boost::system::result<T, RequestError>;

/// Why a whole transaction flow (send, then wait for the receipt) failed, summed up for a
/// command's user: retry later or not, what happened, and the revert reason.
struct ChainError {
    /// transient: retry later (with backoff); permanent: the request is refused as it stands.
    enum class Kind { transient, permanent };
    Kind kind = Kind::transient;
    std::string message;                       // for logs and last_error; no secrets
    std::optional<std::string> revert_reason;  // set when a call or transaction reverted
};

[[noreturn]] inline void throw_exception_from_error(const ChainError& e,
                                                    const boost::source_location&) {
    throw std::runtime_error(e.message);
}

template <class T>
using ChainResult = boost::system::result<T, ChainError>;

/// A read of one of Ferry's contract views: the outer error says the request failed, the inner
/// one that the contract's answer did not decode as the view's type. The stages tell the two
/// apart (an unreachable chain is retried quietly, a contract that answers nonsense is reported).
template <class T>
using ViewResult = RequestResult<evm::Result<T>>;

/// Which account nonce: after the mined transactions, or also counting the pool's.
enum class NonceAt { latest, pending };

/// What the next block's fees look like: the latest block's base fee (nullopt when the chain
/// has no such block or predates EIP-1559) and the node's suggested priority fee (nullopt when
/// not asked for, or when the node could not say).
struct FeeQuote {
    std::optional<evm::U256> base_fee;
    std::optional<evm::U256> priority_fee;
};

/// One chain as the stages see it. Implementations never throw for bad chain input; they
/// report it as a RequestError. Not thread-safe: use it on the thread that runs its executor.
class Chain {
public:
    virtual ~Chain() = default;

    /// The chain id the node serves (eth_chainId), to check it against the config.
    virtual Task<RequestResult<std::uint64_t>> chain_id() = 0;
    /// Number of the newest block.
    virtual Task<RequestResult<std::uint64_t>> head() = 0;
    /// The block's header (number, hash, base fee); nullopt when the chain has no such block.
    virtual Task<RequestResult<std::optional<evm::BlockHeader>>> block(evm::BlockId id) = 0;
    /// Logs of the filter's inclusive block range, in chain order.
    virtual Task<RequestResult<std::vector<evm::Log>>> logs(evm::LogFilter filter) = 0;

    /// Read-only call at the newest block; the return data (a revert is an error with its reason).
    virtual Task<RequestResult<crypto::Bytes>> call(evm::CallRequest request) = 0;
    /// The same call on the state after block `block` (a mined transaction replayed on its
    /// block's parent tells why it reverted).
    virtual Task<RequestResult<crypto::Bytes>> call_at(evm::CallRequest request,
                                                       std::uint64_t block) = 0;
    /// Gas the transaction would use at the newest block.
    virtual Task<RequestResult<std::uint64_t>> estimate_gas(evm::CallRequest request) = 0;
    /// The fee quote; asks the node for a priority fee only when `with_priority_fee`. An error
    /// only when the latest block cannot be read.
    virtual Task<RequestResult<FeeQuote>> fee_quote(bool with_priority_fee) = 0;
    /// The account's next nonce.
    virtual Task<RequestResult<std::uint64_t>> account_nonce(crypto::Address account,
                                                             NonceAt at) = 0;
    /// The account's balance in wei at the newest block.
    virtual Task<RequestResult<evm::U256>> balance(crypto::Address account) = 0;

    /// Broadcasts a signed raw transaction; its hash (always keccak256(raw)).
    virtual Task<RequestResult<crypto::Hash32>> send_raw(crypto::Bytes raw) = 0;
    /// The receipt, or nullopt while the transaction is not mined.
    virtual Task<RequestResult<std::optional<evm::Receipt>>> receipt(crypto::Hash32 tx) = 0;
    /// The account nonce a transaction used, when the chain knows the transaction and says so
    /// plainly; nullopt for any failure (it is informational only).
    virtual Task<std::optional<std::uint64_t>> transaction_nonce(crypto::Hash32 tx) = 0;

    // Ferry's contract views (docs/design.md §2), read at the newest block.

    /// Inbox.nextInboundNonce(src).
    virtual Task<ViewResult<crypto::Nonce>> next_inbound_nonce(crypto::Address inbox,
                                                               crypto::ChainId src) = 0;
    /// Inbox.delivered(id).
    virtual Task<ViewResult<bool>> delivered(crypto::Address inbox, crypto::PacketId id) = 0;
    /// Inbox.validatorSet(src).
    virtual Task<ViewResult<evm::ValidatorSet>> validator_set(crypto::Address inbox,
                                                              crypto::ChainId src) = 0;
    /// Inbox.handleGasLimit(): the gas each recipient call gets.
    virtual Task<ViewResult<std::uint64_t>> handle_gas_limit(crypto::Address inbox) = 0;
};

}  // namespace ferry::chains

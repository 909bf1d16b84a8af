// The narrow interface the pipeline uses to talk to one chain (DESIGN.md §5), and the coroutine
// type of all chain I/O. EVM (chains/evm/) is the first family; its values (logs, receipts,
// 256-bit amounts) are the protocol's, so the interface uses them directly for now.
#pragma once

#include "chains/evm/abi.hpp"  // U256
#include "chains/evm/log.hpp"
#include "chains/evm/rpc_types.hpp"
#include "crypto/bytes.hpp"
#include "chains/task.hpp"
#include "crypto/types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferry::chains {

/// Why a chain request failed, in the terms the pipeline decides on.
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

/// One chain as the watcher, submitter and receipt tracker see it. Implementations never
/// throw for bad chain input; they report it as a ChainError.
class Chain {
public:
    virtual ~Chain() = default;

    virtual crypto::ChainId chain_id() const noexcept = 0;

    /// Number of the newest block.
    virtual Task<ChainResult<std::uint64_t>> head() = 0;
    /// Newest block the pipeline may treat as final (finalized tag, or head minus the
    /// configured confirmations).
    virtual Task<ChainResult<std::uint64_t>> confirmed_head() = 0;

    /// Logs of the filter's inclusive block range, in chain order.
    virtual Task<ChainResult<std::vector<evm::Log>>> logs(const evm::LogFilter& filter) = 0;

    /// Read-only call of `to` with calldata `data` at the newest block; the return data.
    virtual Task<ChainResult<crypto::Bytes>> call(const crypto::Address& to,
                                                  crypto::ByteView data) = 0;

    /// Broadcasts a signed raw transaction; its hash.
    virtual Task<ChainResult<crypto::Hash32>> send_raw_transaction(crypto::ByteView raw) = 0;

    /// The receipt, or nullopt while the transaction is not mined.
    virtual Task<ChainResult<std::optional<evm::Receipt>>> receipt(const crypto::Hash32& tx) = 0;

    virtual Task<ChainResult<evm::U256>> balance(const crypto::Address& account) = 0;

    /// Next account nonce: of mined transactions, or including the pool when `pending`.
    virtual Task<ChainResult<std::uint64_t>> nonce(const crypto::Address& account,
                                                   bool pending) = 0;
};

}  // namespace ferry::chains

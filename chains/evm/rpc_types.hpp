// Values the JSON-RPC client sends and receives, apart from their JSON (chains/evm/json.hpp):
// block ids, log filters, call requests, block headers, receipts and fee history.
#pragma once

#include "chains/evm/log.hpp"
#include "chains/evm/u256.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

namespace ferry::chains::evm {

/// Named blocks of the JSON-RPC default block parameter.
enum class BlockTag { earliest, latest, safe, finalized, pending };

/// A block by number or by tag.
using BlockId = std::variant<std::uint64_t, BlockTag>;

/// eth_getLogs filter over an inclusive block range.
struct LogFilter {
    std::uint64_t from_block = 0;
    std::uint64_t to_block = 0;
    std::vector<crypto::Address> addresses;  // empty: any contract
    /// topics[i] lists the accepted values of topic i; an empty list accepts any value.
    std::vector<std::vector<crypto::Hash32>> topics;
};

/// The transaction object of eth_call and eth_estimateGas.
struct CallRequest {
    std::optional<crypto::Address> from;
    std::optional<crypto::Address> to;  // empty: contract creation
    crypto::Bytes data;
    std::optional<U256> value;
    std::optional<std::uint64_t> gas;
};

/// The part of a block header Ferry reads.
struct BlockHeader {
    std::uint64_t number = 0;
    crypto::Hash32 hash;
    crypto::Hash32 parent_hash;
    std::uint64_t timestamp = 0;
    std::uint64_t gas_limit = 0;
    std::uint64_t gas_used = 0;
    std::optional<U256> base_fee_per_gas;  // absent before London

    friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

/// A mined transaction's receipt (post-Byzantium: with a status).
struct Receipt {
    crypto::Hash32 tx_hash;
    crypto::Hash32 block_hash;
    std::uint64_t block_number = 0;
    std::uint64_t tx_index = 0;
    bool success = false;
    std::uint64_t gas_used = 0;
    std::uint64_t cumulative_gas_used = 0;
    std::optional<U256> effective_gas_price;
    crypto::Address from;
    std::optional<crypto::Address> to;                // empty for a contract creation
    std::optional<crypto::Address> contract_address;  // set for a contract creation
    std::vector<Log> logs;

    friend bool operator==(const Receipt&, const Receipt&) = default;
};

/// eth_feeHistory: base fees of `block count + 1` blocks (the last one is the next block's),
/// gas used ratios and, when percentiles were asked for, priority fee rewards per block.
struct FeeHistory {
    std::uint64_t oldest_block = 0;
    std::vector<U256> base_fee_per_gas;
    std::vector<double> gas_used_ratio;
    std::vector<std::vector<U256>> reward;

    friend bool operator==(const FeeHistory&, const FeeHistory&) = default;
};

}  // namespace ferry::chains::evm

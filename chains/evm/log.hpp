// An EVM event log as eth_getLogs and receipts report it. Wire type only: its JSON mapping lives
// with the RPC client.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <cstdint>
#include <vector>

namespace ferry::chains::evm {

struct Log {
    crypto::Address address;             // contract that emitted it
    std::vector<crypto::Hash32> topics;  // topic0 = event signature hash (non-anonymous events)
    crypto::Bytes data;                  // ABI encoding of the non-indexed arguments
    std::uint64_t block_number = 0;
    crypto::Hash32 block_hash;
    crypto::Hash32 tx_hash;
    std::uint64_t log_index = 0;  // position in the block
    bool removed = false;         // true when a reorg dropped the block that held it

    friend bool operator==(const Log&, const Log&) = default;
};

}  // namespace ferry::chains::evm

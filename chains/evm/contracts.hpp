// The Ferry contracts built into the binary: creation bytecode and ABI of each, embedded at build
// time from the committed artifacts in chains/evm/artifacts/ (see scripts/compile-contracts).
#pragma once

#include <string_view>

namespace ferry::chains::evm {

enum class Contract { outbox, inbox, test_recipient };

/// "Outbox", "Inbox" or "TestRecipient": the Solidity contract name.
std::string_view contract_name(Contract contract) noexcept;

/// Creation bytecode as "0x" + lower-case hex, never empty. ABI-encoded constructor arguments
/// go after it: Outbox(uint256 maxBodyBytes), Inbox(uint64 handleGasLimit), TestRecipient().
std::string_view bytecode(Contract contract) noexcept;

/// The contract's ABI as solc's JSON array.
std::string_view abi_json(Contract contract) noexcept;

}  // namespace ferry::chains::evm

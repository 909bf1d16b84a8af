// The most gas an Inbox.deliverBatch transaction can use, from the Inbox's own rules
// (docs/design.md §2, "Gas"): every recipient call gets exactly handleGasLimit and may burn all
// of it, and the Inbox refuses to make a call with less than 64/63 of it (plus GAS_MARGIN)
// left. The rest — intrinsic gas, signature checks, storage writes, events, memory — has a
// fixed cost per packet and per signature that the e2e tests measure on anvil against this
// bound. A batch given this much never reverts with InsufficientGas, whatever its recipients
// do, and needs no estimate (which cannot simulate a batch behind unmined ones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ferry::chains::evm {

/// What a deliverBatch transaction carries.
struct BatchShape {
    std::span<const std::size_t> packet_sizes;  ///< encoded bytes of each packet
    std::size_t signatures = 0;                 ///< over all packets
    std::size_t calldata_bytes = 0;
};

/// The gas limit that always suffices for deliverBatch of `batch` on an Inbox whose
/// handleGasLimit is `handle_gas_limit`. Saturates at UINT64_MAX.
std::uint64_t deliver_batch_gas_bound(std::uint64_t handle_gas_limit, const BatchShape& batch);

}  // namespace ferry::chains::evm

// EIP-1559 fee policy: how Ferry prices a transaction (tip, max fee) and how it prices the
// replacement of one that is not mined. Pure arithmetic; the caller asks the node for the base
// fee and, when the policy wants it, the tip.
#pragma once

#include <cstdint>
#include <optional>

namespace ferry::chains::evm {

/// Per-gas fees of one EIP-1559 transaction, in wei.
struct Fees {
    std::uint64_t max_fee = 0;  ///< maxFeePerGas
    std::uint64_t tip = 0;      ///< maxPriorityFeePerGas
    friend bool operator==(const Fees&, const Fees&) = default;
};

/// Nodes refuse a replacement (same account nonce) unless both fees grow by at least 10 %.
inline constexpr std::uint32_t kMinReplacementBumpPercent = 10;

struct FeePolicy {
    /// Tip source: this fixed tip, or (unset) the node's eth_maxPriorityFeePerGas.
    std::optional<std::uint64_t> fixed_tip;
    /// The tip when the node gives none.
    std::uint64_t fallback_tip = 1'000'000'000;
    /// max_fee = max(base_fee · this, min_base_part) + tip. A whole multiplier is exact.
    double base_fee_multiplier = 2.0;
    /// Floor of the base-fee part of max_fee (headroom while the base fee climbs).
    std::uint64_t min_base_part = 0;
    /// Hard cap on max_fee (the tip is cut to it); unset = none, and a max_fee over 64 bits
    /// cannot be priced.
    std::optional<std::uint64_t> max_fee_cap;
    /// Each replacement raises both fees by this percent plus one wei; never below
    /// kMinReplacementBumpPercent.
    std::uint32_t bump_percent = 25;

    /// True when the tip comes from the node (the caller asks eth_maxPriorityFeePerGas).
    bool tip_from_node() const noexcept { return !fixed_tip; }
    /// The tip to pay, given the node's answer (nullopt: no usable answer).
    std::uint64_t tip(std::optional<std::uint64_t> node_tip) const noexcept;
    /// Fees for a block with `base_fee`; nullopt when the cap is below the base fee or the
    /// max fee does not fit 64 bits.
    std::optional<Fees> quote(std::uint64_t base_fee, std::uint64_t tip) const noexcept;
    /// `fee` raised by the bump percent plus one wei (saturating).
    std::uint64_t bumped(std::uint64_t fee) const noexcept;
    /// Fees to replace a transaction sent with `previous`: each bumped, at least the current
    /// `market` quote, within the cap. nullopt when the cap leaves no room to raise both fees
    /// (keep the transaction as it is).
    std::optional<Fees> replacement(const Fees& previous,
                                    const std::optional<Fees>& market) const noexcept;
};

}  // namespace ferry::chains::evm

#include "chains/evm/fee_policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ferry::chains::evm {
namespace {

using Wide = unsigned __int128;
constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

bool whole(double m) noexcept { return m >= 0.0 && m <= 4294967295.0 && std::floor(m) == m; }

/// max(base · multiplier, floor) + tip, rounded up and held to `cap`; nullopt when there is
/// no cap and it does not fit 64 bits.
std::optional<std::uint64_t> max_fee_of(std::uint64_t base, double multiplier, std::uint64_t floor,
                                        std::uint64_t tip,
                                        std::optional<std::uint64_t> cap) noexcept {
    if (whole(multiplier)) {
        const Wide wide =
            std::max<Wide>(Wide{base} * static_cast<std::uint32_t>(multiplier), Wide{floor}) + tip;
        if (cap && wide >= *cap) return *cap;
        if (wide > kU64Max) return std::nullopt;
        return static_cast<std::uint64_t>(wide);
    }
    const double value =
        std::max(static_cast<double>(base) * multiplier, static_cast<double>(floor)) +
        static_cast<double>(tip);
    if (cap && value >= static_cast<double>(*cap)) return *cap;
    if (value >= 18446744073709551616.0) return std::nullopt;  // 2^64
    return static_cast<std::uint64_t>(std::ceil(value));
}

}  // namespace

std::uint64_t FeePolicy::tip(std::optional<std::uint64_t> node_tip) const noexcept {
    if (fixed_tip) return *fixed_tip;
    return node_tip.value_or(fallback_tip);
}

std::optional<Fees> FeePolicy::quote(std::uint64_t base_fee, std::uint64_t tip) const noexcept {
    const auto max_fee = max_fee_of(base_fee, base_fee_multiplier, min_base_part, tip, max_fee_cap);
    if (!max_fee || *max_fee < base_fee) return std::nullopt;
    return Fees{*max_fee, std::min(tip, *max_fee)};
}

std::uint64_t FeePolicy::bumped(std::uint64_t fee) const noexcept {
    const std::uint32_t percent = std::max(bump_percent, kMinReplacementBumpPercent);
    const Wide wide = Wide{fee} * (100u + percent) / 100u + 1u;
    return wide > kU64Max ? kU64Max : static_cast<std::uint64_t>(wide);
}

std::optional<Fees> FeePolicy::replacement(const Fees& previous,
                                           const std::optional<Fees>& market) const noexcept {
    Fees fees{bumped(previous.max_fee), bumped(previous.tip)};
    if (market) {
        fees.tip = std::max(fees.tip, market->tip);
        fees.max_fee = std::max(fees.max_fee, market->max_fee);
    }
    if (max_fee_cap) fees.max_fee = std::min(fees.max_fee, *max_fee_cap);
    fees.tip = std::min(fees.tip, fees.max_fee);
    if (fees.max_fee > previous.max_fee && fees.tip > previous.tip) return fees;
    return std::nullopt;
}

}  // namespace ferry::chains::evm

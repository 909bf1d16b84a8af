// Proves the fee policy: tip source, base-fee multiplier and floor, cap, and replacement bumps
// that never fall below the node's +10 % rule.
#include "chains/evm/fee_policy.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>

using ferry::chains::evm::FeePolicy;
using ferry::chains::evm::Fees;
using ferry::chains::evm::kMinReplacementBumpPercent;

namespace {

constexpr std::uint64_t kGwei = 1'000'000'000;
constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST(fee_policy, tip_is_fixed_or_the_nodes_or_the_fallback) {
    FeePolicy node;
    node.fallback_tip = 7;
    EXPECT_TRUE(node.tip_from_node());
    EXPECT_EQ(node.tip(3), 3u);
    EXPECT_EQ(node.tip(std::nullopt), 7u);

    FeePolicy fixed;
    fixed.fixed_tip = 5;
    EXPECT_FALSE(fixed.tip_from_node());
    EXPECT_EQ(fixed.tip(3), 5u);
    EXPECT_EQ(fixed.tip(std::nullopt), 5u);
}

TEST(fee_policy, max_fee_is_base_times_multiplier_plus_tip) {
    FeePolicy p;
    p.base_fee_multiplier = 2.0;
    EXPECT_EQ(p.quote(10 * kGwei, kGwei), (Fees{21 * kGwei, kGwei}));
    p.base_fee_multiplier = 1.5;
    EXPECT_EQ(p.quote(3, 1), (Fees{6, 1}));  // 4.5 + 1 rounds up
    p.base_fee_multiplier = 4.0;
    p.min_base_part = 20 * kGwei;
    EXPECT_EQ(p.quote(kGwei, kGwei), (Fees{21 * kGwei, kGwei}));       // the floor holds
    EXPECT_EQ(p.quote(10 * kGwei, kGwei), (Fees{41 * kGwei, kGwei}));  // above the floor
}

TEST(fee_policy, whole_multiplier_is_exact_beyond_double_precision) {
    FeePolicy p;
    const std::uint64_t base = (std::uint64_t{1} << 60) + 1;
    EXPECT_EQ(p.quote(base, 1), (Fees{2 * base + 1, 1}));
}

TEST(fee_policy, cap_holds_the_max_fee_and_the_tip) {
    FeePolicy p;
    p.max_fee_cap = 50 * kGwei;
    EXPECT_EQ(p.quote(30 * kGwei, kGwei), (Fees{50 * kGwei, kGwei}));
    p.fixed_tip = 80 * kGwei;
    EXPECT_EQ(p.quote(kGwei, p.tip(std::nullopt)), (Fees{50 * kGwei, 50 * kGwei}));
    // A cap below the base fee cannot price a transaction.
    EXPECT_EQ(p.quote(60 * kGwei, kGwei), std::nullopt);
    // A cap saturates rather than overflowing.
    p.max_fee_cap = kU64Max;
    EXPECT_EQ(p.quote(kU64Max / 2 + 1, 1), (Fees{kU64Max, 1}));
}

TEST(fee_policy, without_a_cap_an_overflowing_max_fee_is_refused) {
    FeePolicy p;
    EXPECT_EQ(p.quote(kU64Max / 2 + 1, 0), std::nullopt);
    EXPECT_EQ(p.quote(kU64Max / 2, 1), (Fees{kU64Max, 1}));
    EXPECT_EQ(p.quote(kU64Max / 2, 2), std::nullopt);
}

TEST(fee_policy, bump_adds_the_percent_and_one_wei) {
    FeePolicy p;
    p.bump_percent = 25;
    EXPECT_EQ(p.bumped(100), 126u);
    EXPECT_EQ(p.bumped(0), 1u);
    EXPECT_EQ(p.bumped(kU64Max), kU64Max);
}

TEST(fee_policy, bump_is_never_below_the_replacement_rule) {
    for (std::uint32_t percent : {0u, 1u, 5u, 9u, 10u, 11u, 25u, 500u}) {
        FeePolicy p;
        p.bump_percent = percent;
        for (std::uint64_t fee : {std::uint64_t{1}, std::uint64_t{9}, std::uint64_t{1000},
                                  std::uint64_t{30} * kGwei, std::uint64_t{123'456'789'012}}) {
            // bumped · 100 ≥ fee · (100 + 10)
            const auto floor =
                static_cast<unsigned __int128>(fee) * (100 + kMinReplacementBumpPercent);
            EXPECT_TRUE(static_cast<unsigned __int128>(p.bumped(fee)) * 100 >= floor)
                << "percent " << percent << " fee " << fee;
            EXPECT_GT(p.bumped(fee), fee);
        }
    }
}

TEST(fee_policy, replacement_bumps_both_fees_and_follows_the_market) {
    FeePolicy p;
    p.bump_percent = 25;
    p.max_fee_cap = 500 * kGwei;
    const Fees before{40 * kGwei, 2 * kGwei};
    EXPECT_EQ(p.replacement(before, std::nullopt), (Fees{50 * kGwei + 1, 5 * kGwei / 2 + 1}));
    const Fees market{90 * kGwei, 3 * kGwei};
    EXPECT_EQ(p.replacement(before, market), market);
}

TEST(fee_policy, replacement_stops_at_the_cap) {
    FeePolicy p;
    p.bump_percent = 25;
    p.max_fee_cap = 45 * kGwei;
    // Room left under the cap: the max fee stops there.
    EXPECT_EQ(p.replacement(Fees{40 * kGwei, 2 * kGwei}, std::nullopt),
              (Fees{45 * kGwei, 5 * kGwei / 2 + 1}));
    // Already at the cap: keep the transaction.
    EXPECT_EQ(p.replacement(Fees{45 * kGwei, 2 * kGwei}, std::nullopt), std::nullopt);
    // The tip would pass the capped max fee and cannot rise: keep it.
    EXPECT_EQ(p.replacement(Fees{44 * kGwei, 45 * kGwei}, std::nullopt), std::nullopt);
}

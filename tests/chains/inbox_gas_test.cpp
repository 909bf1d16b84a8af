// The deliverBatch gas bound: handleGasLimit for every recipient, 64/63 of it plus the Inbox's
// margin before the last call, and the fixed costs per transaction, packet, signature and word.
// tests/e2e checks on anvil that batches of recipients burning all their gas fit under it.
#include "chains/evm/inbox_gas.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace ferry::chains::evm {
namespace {

TEST(inbox_gas, one_packet_adds_up_the_inboxs_rules) {
    const std::vector<std::size_t> sizes{160};  // 5 words
    const auto gas = deliver_batch_gas_bound(100'000, {sizes, 2, 600});
    // 21,000 + 16·600 calldata + 2·8,000 signatures + 50,000 packet + 12·5 words + 100,000
    // recipient + memory (13 words: 3·13 + 13²/512) + 100,000/63 + 1 + 10,000 margin.
    EXPECT_EQ(gas, 21'000u + 9'600u + 16'000u + 50'000u + 60u + 100'000u + 39u + 1'588u + 10'000u);
}

TEST(inbox_gas, every_packet_adds_at_least_the_whole_handle_gas_limit) {
    std::vector<std::size_t> sizes;
    std::uint64_t previous = deliver_batch_gas_bound(500'000, {sizes, 0, 4});
    for (int n = 1; n <= 50; ++n) {
        sizes.push_back(200);
        const auto gas = deliver_batch_gas_bound(500'000, {sizes, 2u * sizes.size(), 4});
        EXPECT_GE(gas - previous, 500'000u + 50'000u);
        previous = gas;
    }
}

TEST(inbox_gas, memory_grows_quadratically_with_large_bodies) {
    const std::vector<std::size_t> small(10, 32 * 100);
    const std::vector<std::size_t> large(10, 32 * 1000);
    const auto a = deliver_batch_gas_bound(0, {small, 0, 0});
    const auto b = deliver_batch_gas_bound(0, {large, 0, 0});
    // 10,080 words of memory cost 3·10,080 + 10,080²/512 = 30,240 + 198,450.
    EXPECT_GE(b - a, 198'450u);
}

TEST(inbox_gas, saturates_instead_of_wrapping) {
    const std::vector<std::size_t> sizes(3, 100);
    EXPECT_EQ(deliver_batch_gas_bound(std::numeric_limits<std::uint64_t>::max() / 2, {sizes, 6, 9}),
              std::numeric_limits<std::uint64_t>::max());
}

}  // namespace
}  // namespace ferry::chains::evm

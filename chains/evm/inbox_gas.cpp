#include "chains/evm/inbox_gas.hpp"

#include <limits>

namespace ferry::chains::evm {
namespace {

// Upper bounds of what the Inbox spends besides the recipient calls (EIP-2929 cold prices):
// per packet the keccak of the packet and the digest, the source slot, the replay slot and its
// 0 -> 1 write (22,100), the ordered nonce write, the failed-state write, the recipient's code
// size and call, the PacketDelivered event and the loop's calldata decoding — about 41,000 on
// anvil — rounded up; per signature an ecrecover (3,000), its call and the cold validator slot.
constexpr std::uint64_t kTxBase = 21'000;
constexpr std::uint64_t kCalldataPerByte = 16;  // a non-zero byte; zero bytes cost 4
constexpr std::uint64_t kPerPacket = 50'000;
constexpr std::uint64_t kPerSignature = 8'000;
/// Copying the body into memory for the recipient call and hashing it, per 32-byte word.
constexpr std::uint64_t kPerWord = 12;
/// Memory words each packet's call arguments take besides the body (selector, head, offsets).
constexpr std::uint64_t kWordsPerCall = 8;
/// The Inbox's GAS_MARGIN: what it keeps on top of 64/63 of handleGasLimit.
constexpr std::uint64_t kInboxGasMargin = 10'000;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::uint64_t add(std::uint64_t a, std::uint64_t b) { return a > kMax - b ? kMax : a + b; }
std::uint64_t mul(std::uint64_t a, std::uint64_t b) {
    return a != 0 && b > kMax / a ? kMax : a * b;
}

}  // namespace

std::uint64_t deliver_batch_gas_bound(std::uint64_t handle_gas_limit, const BatchShape& batch) {
    const std::uint64_t limit = handle_gas_limit;
    std::uint64_t gas = add(kTxBase, mul(kCalldataPerByte, batch.calldata_bytes));
    gas = add(gas, mul(kPerSignature, batch.signatures));
    std::uint64_t memory_words = 0;
    for (const std::size_t size : batch.packet_sizes) {
        const std::uint64_t words = (static_cast<std::uint64_t>(size) + 31) / 32;
        gas = add(gas, kPerPacket);
        gas = add(gas, mul(kPerWord, words));
        gas = add(gas, limit);  // the recipient may burn all it is given
        memory_words = add(memory_words, add(words, kWordsPerCall));
    }
    // Solidity never frees memory: the batch's calls grow it, at 3 per word + words^2 / 512.
    gas = add(gas, add(mul(3, memory_words), mul(memory_words, memory_words) / 512));
    // Before its last call the Inbox wants 64/63 of the limit plus its margin left.
    return add(gas, add(limit / 63 + 1, kInboxGasMargin));
}

}  // namespace ferry::chains::evm

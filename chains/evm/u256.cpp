#include "chains/evm/u256.hpp"

#include "crypto/hex.hpp"

#include <algorithm>

namespace ferry::chains::evm {

std::optional<U256> U256::from_be_bytes(crypto::ByteView be) noexcept {
    if (be.size() > 32) return std::nullopt;
    U256 out;
    std::copy(be.begin(), be.end(),
              out.bytes.begin() + static_cast<std::ptrdiff_t>(32 - be.size()));
    return out;
}

bool U256::fits_bits(unsigned bits) const noexcept {
    if (bits >= 256) return true;
    const std::size_t full = (256 - bits) / 8;  // whole high bytes that must be zero
    if (!std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(full),
                     [](std::uint8_t x) { return x == 0; }))
        return false;
    const unsigned rest = (256 - bits) % 8;
    return rest == 0 || (bytes[full] >> (8 - rest)) == 0;
}

std::optional<std::uint64_t> U256::to_u64() const noexcept {
    if (!fits_bits(64)) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = bytes.size() - 8; i < bytes.size(); ++i) v = (v << 8) | bytes[i];
    return v;
}

std::string U256::hex() const { return crypto::to_hex({bytes.data(), bytes.size()}, true); }

}  // namespace ferry::chains::evm

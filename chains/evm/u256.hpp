// An unsigned 256-bit integer as the EVM stores it: uint256 in the ABI, wei amounts and fees in
// JSON-RPC answers.
#pragma once

#include "crypto/bytes.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace ferry::chains::evm {

/// An unsigned 256-bit integer as 32 big-endian bytes (uint256 on the wire). Only what the ABI
/// needs: construction from small integers and range checks, no arithmetic.
struct U256 {
    std::array<std::uint8_t, 32> bytes{};

    static constexpr U256 from_u64(std::uint64_t v) noexcept {
        U256 out;
        for (std::size_t i = 0; i < 8; ++i)
            out.bytes[31 - i] = static_cast<std::uint8_t>(v >> (8 * i));
        return out;
    }

    /// Left-pads up to 32 big-endian bytes; nullopt when `be` is longer than 32 bytes.
    static std::optional<U256> from_be_bytes(crypto::ByteView be) noexcept;

    /// True when the value is below 2^bits (bits in 8..256).
    bool fits_bits(unsigned bits) const noexcept;

    /// The value when it is below 2^64.
    std::optional<std::uint64_t> to_u64() const noexcept;

    /// "0x" + 64 lower-case hex digits.
    std::string hex() const;

    friend constexpr auto operator<=>(const U256&, const U256&) = default;
};

}  // namespace ferry::chains::evm

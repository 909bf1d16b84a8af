// Hex encoding and checked decoding.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"

#include <string>
#include <string_view>

namespace ferry::crypto {

/// How a hex decoder treats a leading "0x".
enum class HexPrefix { required, forbidden, optional };

/// Lower-case hex of `bytes`, with a leading "0x" when `prefix` is true.
std::string to_hex(ByteView bytes, bool prefix = true);

/// Decodes hex. Errors: hex_missing_prefix / hex_unexpected_prefix (per `prefix`),
/// hex_odd_length, hex_bad_digit. Accepts upper and lower case digits.
Result<Bytes> from_hex(std::string_view hex, HexPrefix prefix = HexPrefix::optional);

/// Decodes hex into exactly `out.size()` bytes; hex_wrong_size when the length differs.
Result<void> from_hex_into(std::string_view hex, std::span<std::uint8_t> out,
                           HexPrefix prefix = HexPrefix::optional);

/// Value of one hex digit, or -1.
constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace ferry::crypto

#include "crypto/hex.hpp"

namespace ferry::crypto {
namespace {

bool has_prefix(std::string_view s) noexcept {
    return s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

// Strips the prefix according to the rule, or reports why it cannot.
Result<std::string_view> digits_of(std::string_view hex, HexPrefix prefix) {
    const bool present = has_prefix(hex);
    if (prefix == HexPrefix::required && !present) return Error::hex_missing_prefix;
    if (prefix == HexPrefix::forbidden && present) return Error::hex_unexpected_prefix;
    if (present) hex.remove_prefix(2);
    if (hex.size() % 2 != 0) return Error::hex_odd_length;
    return hex;
}

Result<void> decode_digits(std::string_view digits, std::uint8_t* out) {
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        const int hi = hex_digit_value(digits[i]);
        const int lo = hex_digit_value(digits[i + 1]);
        if (hi < 0 || lo < 0) return Error::hex_bad_digit;
        out[i / 2] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return {};
}

}  // namespace

std::string to_hex(ByteView bytes, bool prefix) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2 + 2);
    if (prefix) out += "0x";
    for (const std::uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 0x0f];
    }
    return out;
}

Result<Bytes> from_hex(std::string_view hex, HexPrefix prefix) {
    auto digits = digits_of(hex, prefix);
    if (!digits) return digits.error();
    Bytes out(digits->size() / 2);
    if (auto r = decode_digits(*digits, out.data()); !r) return r.error();
    return out;
}

Result<void> from_hex_into(std::string_view hex, std::span<std::uint8_t> out, HexPrefix prefix) {
    auto digits = digits_of(hex, prefix);
    if (!digits) return digits.error();
    if (digits->size() / 2 != out.size()) return Error::hex_wrong_size;
    return decode_digits(*digits, out.data());
}

}  // namespace ferry::crypto

// Strong byte types (Address, Hash32, Signature, PublicKey, PrivateKey) and strong integers
// (ChainId, Nonce). Zero-initialised, comparable, hashable, with checked from_hex().
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/error.hpp"
#include "crypto/hex.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry::crypto {

/// N bytes by value. Distinct N give distinct types, so an Address never passes for a Hash32.
template <std::size_t N>
struct FixedBytes {
    std::array<std::uint8_t, N> bytes{};

    static constexpr std::size_t kSize = N;

    constexpr std::uint8_t* data() noexcept { return bytes.data(); }
    constexpr const std::uint8_t* data() const noexcept { return bytes.data(); }
    static constexpr std::size_t size() noexcept { return N; }
    ByteView view() const noexcept { return {bytes.data(), N}; }
    constexpr std::uint8_t& operator[](std::size_t i) noexcept { return bytes[i]; }
    constexpr const std::uint8_t& operator[](std::size_t i) const noexcept { return bytes[i]; }

    constexpr bool is_zero() const noexcept {
        for (const auto b : bytes)
            if (b != 0) return false;
        return true;
    }

    /// "0x" + 2N lower-case hex digits.
    std::string hex() const { return to_hex(view(), true); }

    /// Parses exactly N bytes of hex; "0x" is required unless `prefix` says otherwise.
    static Result<FixedBytes> from_hex(std::string_view hex,
                                       HexPrefix prefix = HexPrefix::required) {
        FixedBytes out;
        if (auto r = from_hex_into(hex, out.bytes, prefix); !r) return r.error();
        return out;
    }

    /// Copies exactly N bytes; hex_wrong_size when `b` has another length.
    static Result<FixedBytes> from_bytes(ByteView b) {
        if (b.size() != N) return Error::hex_wrong_size;
        FixedBytes out;
        std::memcpy(out.bytes.data(), b.data(), N);
        return out;
    }

    friend constexpr auto operator<=>(const FixedBytes&, const FixedBytes&) = default;
};

using Address = FixedBytes<20>;
/// EIP-55: false when `hex40` (the 40 hex digits of `address`, without 0x) mixes upper and
/// lower case and its case is not the checksum of `address`; true for single-case digits.
/// Digits of another length are never a checksummed address: false.
bool eip55_ok(std::string_view hex40, const Address& address);
using Hash32 = FixedBytes<32>;
/// Recoverable ECDSA signature in Ethereum's order r ‖ s ‖ v, v ∈ {27, 28}.
using Signature = FixedBytes<65>;
/// Uncompressed secp256k1 public key without the 0x04 tag: x ‖ y.
using PublicKey = FixedBytes<64>;
using PacketId = Hash32;

/// Overwrites memory in a way the optimiser may not remove (OPENSSL_cleanse).
void secure_wipe(void* p, std::size_t n) noexcept;

/// A secp256k1 secret key. It has no hex() and no stream operator: printing it takes
/// reveal_hex(), spelled out. Its bytes are wiped when it is destroyed, when it is moved from
/// (the source is left all zero, which is not a valid key) and by wipe().
class PrivateKey {
public:
    PrivateKey() = default;
    explicit PrivateKey(const std::array<std::uint8_t, 32>& bytes) noexcept : bytes_(bytes) {}
    PrivateKey(const PrivateKey&) = default;
    PrivateKey& operator=(const PrivateKey&) = default;
    PrivateKey(PrivateKey&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }
    PrivateKey& operator=(PrivateKey&& other) noexcept {
        if (this != &other) {
            bytes_ = other.bytes_;
            other.wipe();
        }
        return *this;
    }
    ~PrivateKey();

    /// Overwrites the key with zeros.
    void wipe() noexcept { secure_wipe(bytes_.data(), bytes_.size()); }
    /// True when every byte is zero: default-constructed, moved from or wiped.
    bool is_zero() const noexcept {
        std::uint8_t acc = 0;
        for (const auto b : bytes_) acc = static_cast<std::uint8_t>(acc | b);
        return acc == 0;
    }

    /// Parses 32 bytes of hex ("0x" optional). Range is checked where the key is used.
    static Result<PrivateKey> from_hex(std::string_view hex);
    static Result<PrivateKey> from_bytes(ByteView b);

    const std::uint8_t* data() const noexcept { return bytes_.data(); }
    static constexpr std::size_t size() noexcept { return 32; }
    ByteView view() const noexcept { return {bytes_.data(), 32}; }

    /// The secret as hex. Only for an operator's explicit export.
    std::string reveal_hex() const { return to_hex(view(), true); }

    friend bool operator==(const PrivateKey& a, const PrivateKey& b) noexcept;

private:
    std::array<std::uint8_t, 32> bytes_{};
};

/// EIP-155 chain id.
enum class ChainId : std::uint64_t {};
/// Per-route packet nonce (first is 1).
enum class Nonce : std::uint64_t {};

constexpr std::uint64_t to_u64(ChainId v) noexcept { return static_cast<std::uint64_t>(v); }
constexpr std::uint64_t to_u64(Nonce v) noexcept { return static_cast<std::uint64_t>(v); }

namespace detail {
template <std::size_t N>
consteval FixedBytes<N> parse_literal(const char* s, std::size_t n) {
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
    }
    if (n != 2 * N) throw std::invalid_argument("literal has the wrong number of hex digits");
    FixedBytes<N> out;
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = hex_digit_value(s[2 * i]);
        const int lo = hex_digit_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) throw std::invalid_argument("literal has a non-hex character");
        out.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}
}  // namespace detail

/// Compile-time literals, for tests and constants only: 0x..._address, 0x..._hash.
namespace literals {
consteval Address operator""_address(const char* s, std::size_t n) {
    return detail::parse_literal<20>(s, n);
}
consteval Hash32 operator""_hash(const char* s, std::size_t n) {
    return detail::parse_literal<32>(s, n);
}
}  // namespace literals

}  // namespace ferry::crypto

template <std::size_t N>
struct std::hash<ferry::crypto::FixedBytes<N>> {
    std::size_t operator()(const ferry::crypto::FixedBytes<N>& v) const noexcept {
        // Hashes and addresses are already uniformly distributed: take the first 8 bytes.
        std::size_t h = 0;
        std::memcpy(&h, v.bytes.data(), N < sizeof(h) ? N : sizeof(h));
        return h;
    }
};

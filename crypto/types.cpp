#include "crypto/types.hpp"

#include "crypto/keccak.hpp"

#include <openssl/crypto.h>

#include <algorithm>

namespace ferry::crypto {

void secure_wipe(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

bool eip55_ok(std::string_view hex40, const Address& address) {
    if (hex40.size() != 40) return false;
    const bool has_upper =
        std::any_of(hex40.begin(), hex40.end(), [](char c) { return c >= 'A' && c <= 'F'; });
    const bool has_lower =
        std::any_of(hex40.begin(), hex40.end(), [](char c) { return c >= 'a' && c <= 'f'; });
    if (!has_upper || !has_lower) return true;
    const std::string lowered = address.hex().substr(2);
    const auto hash =
        keccak256(ByteView(reinterpret_cast<const std::uint8_t*>(lowered.data()), lowered.size()));
    for (std::size_t i = 0; i < 40; ++i) {
        const char c = hex40[i];
        if (c >= '0' && c <= '9') continue;
        const auto byte = static_cast<unsigned>(hash[i / 2]);
        const unsigned nibble = (i % 2 == 0) ? (byte >> 4u) : (byte & 0x0fu);
        const bool upper = c >= 'A' && c <= 'F';
        if (upper != (nibble >= 8)) return false;
    }
    return true;
}

PrivateKey::~PrivateKey() { wipe(); }

Result<PrivateKey> PrivateKey::from_hex(std::string_view hex) {
    PrivateKey key;
    if (auto r = from_hex_into(hex, key.bytes_, HexPrefix::optional); !r) return r.error();
    return key;
}

Result<PrivateKey> PrivateKey::from_bytes(ByteView b) {
    if (b.size() != 32) return Error::invalid_private_key;
    PrivateKey key;
    std::memcpy(key.bytes_.data(), b.data(), 32);
    return key;
}

bool operator==(const PrivateKey& a, const PrivateKey& b) noexcept {
    return CRYPTO_memcmp(a.bytes_.data(), b.bytes_.data(), 32) == 0;
}

}  // namespace ferry::crypto

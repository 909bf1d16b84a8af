#include "crypto/types.hpp"

#include <openssl/crypto.h>

namespace ferry::crypto {

void secure_wipe(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

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

#include "crypto/keccak.hpp"

#include <cryptopp/keccak.h>

namespace ferry::crypto {

Hash32 keccak256(ByteView data) noexcept {
    CryptoPP::Keccak_256 h;
    h.Update(data.data(), data.size());
    Hash32 out;
    h.Final(out.data());
    return out;
}

struct Keccak256::Impl {
    CryptoPP::Keccak_256 h;
};

Keccak256::Keccak256() : impl_(std::make_unique<Impl>()) {}
Keccak256::~Keccak256() = default;

Keccak256& Keccak256::update(ByteView data) noexcept {
    impl_->h.Update(data.data(), data.size());
    return *this;
}

Hash32 Keccak256::finish() noexcept {
    Hash32 out;
    impl_->h.Final(out.data());
    return out;
}

}  // namespace ferry::crypto

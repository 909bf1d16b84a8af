// Keccak-256 as Ethereum uses it (the original Keccak padding, not FIPS-202 SHA3-256).
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <memory>

namespace ferry::crypto {

/// keccak256(data). Thread-safe; allocates nothing.
Hash32 keccak256(ByteView data) noexcept;

/// Incremental Keccak-256 for data that arrives in pieces.
class Keccak256 {
public:
    Keccak256();
    ~Keccak256();
    Keccak256(const Keccak256&) = delete;
    Keccak256& operator=(const Keccak256&) = delete;

    Keccak256& update(ByteView data) noexcept;
    /// Returns the digest and resets the state for reuse.
    Hash32 finish() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::crypto

// secp256k1 ECDSA for Ethereum: recoverable signatures (RFC 6979, low s), recovery to public
// key and address, verification against an expected signer.
#pragma once

#include "crypto/error.hpp"
#include "crypto/types.hpp"

struct secp256k1_context_struct;

namespace ferry::crypto {

/// Owns one libsecp256k1 context, created with SECP256K1_CONTEXT_NONE and randomised once
/// from OpenSSL's RAND_bytes. All methods are const and thread-safe; share it by const&.
class Secp256k1Context {
public:
    Secp256k1Context();
    ~Secp256k1Context();
    Secp256k1Context(const Secp256k1Context&) = delete;
    Secp256k1Context& operator=(const Secp256k1Context&) = delete;

    /// The process-wide context.
    static const Secp256k1Context& instance();

    /// Signs a 32-byte digest. Deterministic (RFC 6979); s is always low; v is 27 or 28.
    /// Errors: invalid_private_key.
    Result<Signature> sign(const Hash32& digest, const PrivateKey& key) const;

    /// Recovers the signer's public key. Errors, checked in this order: signature_bad_v
    /// (v not 27/28), invalid_signature (r or s zero or >= n), signature_high_s (s > n/2,
    /// EIP-2), recovery_failed (r is not the x of a curve point for this digest).
    Result<PublicKey> recover(const Hash32& digest, const Signature& sig) const;

    /// recover() followed by address_of().
    Result<Address> recover_address(const Hash32& digest, const Signature& sig) const;

    /// True when `sig` is a valid low-s signature of `digest` by `signer`.
    bool verify(const Hash32& digest, const Signature& sig, const Address& signer) const;

    /// Public key of a secret key. Errors: invalid_private_key.
    Result<PublicKey> public_key(const PrivateKey& key) const;

    /// Ethereum address of a secret key. Errors: invalid_private_key.
    Result<Address> address(const PrivateKey& key) const;

    /// The raw context, for benchmarks that compare against the library itself.
    const secp256k1_context_struct* raw() const noexcept { return ctx_; }

private:
    secp256k1_context_struct* ctx_;
};

/// Ethereum address of a public key: the last 20 bytes of keccak256(x ‖ y).
Address address_of(const PublicKey& pub) noexcept;

/// True when s (bytes 32..63 of the signature) is at most n/2.
bool is_low_s(const Signature& sig) noexcept;

}  // namespace ferry::crypto

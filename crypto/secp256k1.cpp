#include "crypto/secp256k1.hpp"

#include "crypto/keccak.hpp"

#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <stdexcept>

namespace ferry::crypto {
namespace {

// n/2 for secp256k1, big-endian.
constexpr std::array<std::uint8_t, 32> kHalfOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

// n, the secp256k1 group order, big-endian.
constexpr std::array<std::uint8_t, 32> kOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// True when the 32 big-endian bytes at `p` are a scalar in [1, n - 1].
bool is_valid_scalar(const std::uint8_t* p) noexcept {
    const bool zero = std::all_of(p, p + 32, [](std::uint8_t b) { return b == 0; });
    return !zero && std::lexicographical_compare(p, p + 32, kOrder.begin(), kOrder.end());
}

void serialize_uncompressed(const secp256k1_context* ctx, const secp256k1_pubkey& pub,
                            PublicKey& out) noexcept {
    std::array<std::uint8_t, 65> ser{};
    std::size_t len = ser.size();
    secp256k1_ec_pubkey_serialize(ctx, ser.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    std::copy(ser.begin() + 1, ser.end(), out.bytes.begin());
}

}  // namespace

Secp256k1Context::Secp256k1Context() : ctx_(secp256k1_context_create(SECP256K1_CONTEXT_NONE)) {
    if (ctx_ == nullptr) throw std::runtime_error("secp256k1_context_create failed");
    std::array<unsigned char, 32> seed{};
    // Randomisation only hardens against side channels; a failure here is not fatal to
    // correctness, so the context stays usable without it.
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) == 1) {
        [[maybe_unused]] const int ok = secp256k1_context_randomize(ctx_, seed.data());
    }
    secure_wipe(seed.data(), seed.size());
}

Secp256k1Context::~Secp256k1Context() { secp256k1_context_destroy(ctx_); }

const Secp256k1Context& Secp256k1Context::instance() {
    static const Secp256k1Context ctx;
    return ctx;
}

Result<Signature> Secp256k1Context::sign(const Hash32& digest, const PrivateKey& key) const {
    secp256k1_ecdsa_recoverable_signature rsig;
    if (secp256k1_ecdsa_sign_recoverable(ctx_, &rsig, digest.data(), key.data(), nullptr,
                                         nullptr) != 1)
        return Error::invalid_private_key;
    Signature out;
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_, out.data(), &recid, &rsig);
    out[64] = static_cast<std::uint8_t>(27 + recid);
    return out;
}

Result<PublicKey> Secp256k1Context::recover(const Hash32& digest, const Signature& sig) const {
    const std::uint8_t v = sig[64];
    if (v != 27 && v != 28) return Error::signature_bad_v;
    // Range first: s >= n is out of range, not merely high. parse_compact alone would accept
    // r == 0 or s == 0 and leave them to fail later as recovery_failed.
    if (!is_valid_scalar(sig.data()) || !is_valid_scalar(sig.data() + 32))
        return Error::invalid_signature;
    if (!is_low_s(sig)) return Error::signature_high_s;
    secp256k1_ecdsa_recoverable_signature rsig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx_, &rsig, sig.data(), v - 27) != 1)
        return Error::invalid_signature;
    secp256k1_pubkey pub;
    if (secp256k1_ecdsa_recover(ctx_, &pub, &rsig, digest.data()) != 1)
        return Error::recovery_failed;
    PublicKey out;
    serialize_uncompressed(ctx_, pub, out);
    return out;
}

Result<Address> Secp256k1Context::recover_address(const Hash32& digest,
                                                  const Signature& sig) const {
    auto pub = recover(digest, sig);
    if (!pub) return pub.error();
    return address_of(*pub);
}

bool Secp256k1Context::verify(const Hash32& digest, const Signature& sig,
                              const Address& signer) const {
    auto addr = recover_address(digest, sig);
    return addr && *addr == signer;
}

Result<PublicKey> Secp256k1Context::public_key(const PrivateKey& key) const {
    secp256k1_pubkey pub;
    if (secp256k1_ec_pubkey_create(ctx_, &pub, key.data()) != 1) return Error::invalid_private_key;
    PublicKey out;
    serialize_uncompressed(ctx_, pub, out);
    return out;
}

Result<Address> Secp256k1Context::address(const PrivateKey& key) const {
    auto pub = public_key(key);
    if (!pub) return pub.error();
    return address_of(*pub);
}

Address address_of(const PublicKey& pub) noexcept {
    const Hash32 h = keccak256(pub.view());
    Address out;
    std::copy(h.bytes.begin() + 12, h.bytes.end(), out.bytes.begin());
    return out;
}

bool is_low_s(const Signature& sig) noexcept {
    return !std::lexicographical_compare(kHalfOrder.begin(), kHalfOrder.end(),
                                         sig.bytes.begin() + 32, sig.bytes.begin() + 64);
}

}  // namespace ferry::crypto

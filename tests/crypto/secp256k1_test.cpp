// Proves secp256k1 keys, signing and recovery match published vectors and reject bad input.
#include "crypto/secp256k1.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>

using namespace ferry::crypto;
using namespace ferry::crypto::literals;

namespace {

const Secp256k1Context& ctx() { return Secp256k1Context::instance(); }

std::string str(const nlohmann::json& v, const char* key) { return v.at(key).get<std::string>(); }

Hash32 hash_of(const nlohmann::json& v) { return Hash32::from_hex(str(v, "hash")).value(); }
Signature sig_of(const nlohmann::json& v) {
    return Signature::from_hex(str(v, "signature")).value();
}
Address signer_of(const nlohmann::json& v) { return Address::from_hex(str(v, "signer")).value(); }
PrivateKey key_of(const nlohmann::json& v) {
    return PrivateKey::from_hex(str(v, "private_key")).value();
}

Error error_named(const std::string& name) {
    if (name == "signature_high_s") return Error::signature_high_s;
    if (name == "signature_bad_v") return Error::signature_bad_v;
    if (name == "invalid_signature") return Error::invalid_signature;
    if (name == "recovery_failed") return Error::recovery_failed;
    ADD_FAILURE() << "unknown error name in vectors: " << name;
    return Error::ok;
}

// A uniformly random 32-byte value from a seeded engine, so a failure reproduces.
std::array<std::uint8_t, 32> random_bytes(std::mt19937_64& rng) {
    std::array<std::uint8_t, 32> out{};
    for (std::size_t i = 0; i < out.size(); i += 8) {
        const std::uint64_t w = rng();
        for (std::size_t j = 0; j < 8; ++j) out[i + j] = static_cast<std::uint8_t>(w >> (8 * j));
    }
    return out;
}

}  // namespace

TEST(secp256k1, private_keys_give_published_addresses) {
    const auto doc = ferry::test::load_vectors("secp256k1.json");
    ASSERT_GE(doc.at("keys").size(), 13u);
    for (const auto& v : doc.at("keys")) {
        const auto addr = ctx().address(key_of(v));
        ASSERT_TRUE(addr) << v.dump();
        EXPECT_EQ(*addr, Address::from_hex(str(v, "address")).value()) << v.dump();
        EXPECT_EQ(address_of(ctx().public_key(key_of(v)).value()), *addr);
    }
}

TEST(secp256k1, key_one_is_the_generator_point) {
    // G is fixed by SEC 2; its address is the well-known 0x7E5F... of private key 1.
    const auto pub =
        ctx().public_key(PrivateKey::from_hex("0x" + std::string(63, '0') + "1").value());
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->hex(),
              "0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
              "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
    EXPECT_EQ(address_of(*pub), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"_address);
}

TEST(secp256k1, invalid_private_keys_are_rejected) {
    const auto doc = ferry::test::load_vectors("secp256k1.json");
    ASSERT_GE(doc.at("invalid_private_keys").size(), 3u);
    const Hash32 digest = "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"_hash;
    for (const auto& v : doc.at("invalid_private_keys")) {
        const PrivateKey key = key_of(v);
        EXPECT_EQ(ctx().sign(digest, key).error(), Error::invalid_private_key) << v.dump();
        EXPECT_EQ(ctx().public_key(key).error(), Error::invalid_private_key) << v.dump();
        EXPECT_EQ(ctx().address(key).error(), Error::invalid_private_key) << v.dump();
    }
}

TEST(secp256k1, sign_reproduces_published_rfc6979_signatures) {
    const auto doc = ferry::test::load_vectors("secp256k1.json");
    ASSERT_GE(doc.at("signatures").size(), 4u);
    for (const auto& v : doc.at("signatures")) {
        const auto sig = ctx().sign(hash_of(v), key_of(v));
        ASSERT_TRUE(sig) << v.dump();
        EXPECT_EQ(*sig, sig_of(v)) << v.at("name") << " got " << sig->hex();
    }
}

TEST(secp256k1, recover_returns_published_signers) {
    const auto doc = ferry::test::load_vectors("secp256k1.json");
    std::size_t n = 0;
    for (const auto& v : doc.at("signatures")) {
        const auto addr = ctx().recover_address(hash_of(v), sig_of(v));
        ASSERT_TRUE(addr) << v.at("name") << ": " << addr.error().message();
        EXPECT_EQ(*addr, signer_of(v)) << v.at("name");
        EXPECT_TRUE(ctx().verify(hash_of(v), sig_of(v), signer_of(v))) << v.at("name");
        ++n;
    }
    for (const auto& v : doc.at("recoveries")) {
        const auto pub = ctx().recover(hash_of(v), sig_of(v));
        ASSERT_TRUE(pub) << v.at("name") << ": " << pub.error().message();
        EXPECT_EQ(pub->hex(), str(v, "public_key")) << v.at("name");
        EXPECT_EQ(ctx().recover_address(hash_of(v), sig_of(v)).value(), signer_of(v));
        ++n;
    }
    EXPECT_GE(n, 5u);
}

TEST(secp256k1, rejections_carry_precise_error_codes) {
    const auto doc = ferry::test::load_vectors("secp256k1.json");
    ASSERT_GE(doc.at("rejections").size(), 12u);
    const Address eip155_signer = "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"_address;
    for (const auto& v : doc.at("rejections")) {
        const Error want = error_named(str(v, "error"));
        const auto pub = ctx().recover(hash_of(v), sig_of(v));
        ASSERT_FALSE(pub) << v.at("name") << " recovered " << pub->hex();
        EXPECT_EQ(pub.error(), want) << v.at("name") << ": " << pub.error().message();
        EXPECT_EQ(ctx().recover_address(hash_of(v), sig_of(v)).error(), want) << v.at("name");
        EXPECT_FALSE(ctx().verify(hash_of(v), sig_of(v), eip155_signer)) << v.at("name");
    }
}

TEST(secp256k1, every_bad_v_is_rejected) {
    Signature sig = Signature::from_hex(
                        "0x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
                        "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d831b")
                        .value();
    const Hash32 digest = "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"_hash;
    for (int v = 0; v < 256; ++v) {
        sig[64] = static_cast<std::uint8_t>(v);
        const auto r = ctx().recover(digest, sig);
        if (v == 27 || v == 28)
            EXPECT_TRUE(r) << v;
        else
            EXPECT_EQ(r.error(), Error::signature_bad_v) << v;
    }
}

TEST(secp256k1, is_low_s_boundary_is_half_the_order) {
    Signature sig;
    // n/2 rounded down, from the SEC 2 group order.
    const Hash32 half = "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"_hash;
    std::copy(half.bytes.begin(), half.bytes.end(), sig.bytes.begin() + 32);
    EXPECT_TRUE(is_low_s(sig));
    sig[63] = 0xa1;
    EXPECT_FALSE(is_low_s(sig));
    sig[63] = 0x9f;
    EXPECT_TRUE(is_low_s(sig));
    sig[32] = 0x80;
    EXPECT_FALSE(is_low_s(sig));
}

TEST(secp256k1, sign_is_deterministic_low_s_and_round_trips_over_random_keys) {
    std::mt19937_64 rng(0x5eed'f377'0001ULL);
    constexpr int kKeys = 300;
    int signed_count = 0;
    for (int i = 0; i < kKeys; ++i) {
        const PrivateKey key(random_bytes(rng));
        Hash32 digest;
        digest.bytes = random_bytes(rng);
        const auto addr = ctx().address(key);
        // A uniformly random 256-bit value is >= n with probability ~2^-128.
        ASSERT_TRUE(addr) << key.reveal_hex();

        const auto sig = ctx().sign(digest, key);
        ASSERT_TRUE(sig);
        EXPECT_EQ(ctx().sign(digest, key).value(), *sig) << "not deterministic";
        EXPECT_TRUE(is_low_s(*sig)) << sig->hex();
        EXPECT_TRUE((*sig)[64] == 27 || (*sig)[64] == 28) << sig->hex();

        EXPECT_EQ(ctx().recover_address(digest, *sig).value(), *addr);
        EXPECT_EQ(ctx().recover(digest, *sig).value(), ctx().public_key(key).value());
        EXPECT_TRUE(ctx().verify(digest, *sig, *addr));

        // Another digest, a flipped v, or another signer must not verify.
        Hash32 other = digest;
        other[31] ^= 0x01;
        EXPECT_FALSE(ctx().verify(other, *sig, *addr));
        Signature flipped = *sig;
        flipped[64] = flipped[64] == 27 ? 28 : 27;
        EXPECT_FALSE(ctx().verify(digest, flipped, *addr));
        Address stranger = *addr;
        stranger[0] ^= 0x80;
        EXPECT_FALSE(ctx().verify(digest, *sig, stranger));
        ++signed_count;
    }
    EXPECT_EQ(signed_count, kKeys);
}

TEST(secp256k1, high_s_twin_of_own_signature_is_rejected) {
    // n, big-endian (SEC 2); the twin s' = n - s recovers the same key in the EVM's ecrecover.
    constexpr std::array<std::uint8_t, 32> kOrder = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
        0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    std::mt19937_64 rng(42);
    for (int i = 0; i < 50; ++i) {
        const PrivateKey key(random_bytes(rng));
        Hash32 digest;
        digest.bytes = random_bytes(rng);
        Signature sig = ctx().sign(digest, key).value();
        int borrow = 0;
        for (int j = 31; j >= 0; --j) {
            const auto idx = static_cast<std::size_t>(j);
            const int d = kOrder[idx] - sig[32 + idx] - borrow;
            sig[32 + idx] = static_cast<std::uint8_t>(d & 0xff);
            borrow = d < 0 ? 1 : 0;
        }
        sig[64] = sig[64] == 27 ? 28 : 27;
        EXPECT_FALSE(is_low_s(sig));
        EXPECT_EQ(ctx().recover(digest, sig).error(), Error::signature_high_s);
    }
}

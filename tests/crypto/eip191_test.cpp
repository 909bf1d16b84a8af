// Proves personal_message_hash and the attestation digest match wallet, anvil and solc output.
#include "crypto/eip191.hpp"
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ferry::crypto;

namespace {

std::string str(const nlohmann::json& v, const char* key) { return v.at(key).get<std::string>(); }

Bytes message_of(const nlohmann::json& v) {
    if (v.contains("message_ascii")) {
        const auto s = str(v, "message_ascii");
        return {s.begin(), s.end()};
    }
    return from_hex(str(v, "message_hex")).value();
}

}  // namespace

TEST(eip191, personal_message_hash_matches_published_vectors) {
    const auto doc = ferry::test::load_vectors("eip191.json");
    ASSERT_GE(doc.at("personal_sign").size(), 4u);
    for (const auto& v : doc.at("personal_sign")) {
        EXPECT_EQ(personal_message_hash(message_of(v)).hex(), str(v, "hash")) << v.dump();
    }
}

TEST(eip191, personal_sign_signatures_recover_their_signers) {
    const auto& ctx = Secp256k1Context::instance();
    const auto doc = ferry::test::load_vectors("eip191.json");
    for (const auto& v : doc.at("personal_sign")) {
        const Hash32 h = personal_message_hash(message_of(v));
        const Signature sig = Signature::from_hex(str(v, "signature")).value();
        const Address signer = Address::from_hex(str(v, "signer")).value();
        EXPECT_EQ(ctx.recover_address(h, sig).value(), signer) << v.dump();
        if (v.contains("private_key")) {
            const auto key = PrivateKey::from_hex(str(v, "private_key")).value();
            EXPECT_EQ(ctx.sign(h, key).value(), sig) << v.dump();
        }
    }
}

TEST(eip191, length_prefix_is_decimal_byte_count) {
    // A 100-byte message puts "100" in the envelope: compare with hashing the envelope by hand,
    // whose layout is fixed by EIP-191 (version byte 0x45, "thereum Signed Message:\n", length).
    const Bytes msg(100, 0x61);
    std::string envelope =
        "\x19"
        "Ethereum Signed Message:\n100";
    envelope.append(100, 'a');
    EXPECT_EQ(personal_message_hash(msg), keccak256(as_bytes(envelope)));
    EXPECT_NE(personal_message_hash(msg), personal_message_hash(Bytes(99, 0x61)));
}

TEST(eip191, attestation_domain_and_digest_match_solidity) {
    const auto& ctx = Secp256k1Context::instance();
    const auto doc = ferry::test::load_vectors("eip191.json");
    ASSERT_GE(doc.at("attestation").size(), 3u);
    for (const auto& v : doc.at("attestation")) {
        const auto chain = ChainId{std::stoull(str(v, "src_chain_id"))};
        const Address outbox = Address::from_hex(str(v, "outbox")).value();
        const PacketId id = PacketId::from_hex(str(v, "id")).value();

        EXPECT_EQ(keccak256(from_hex(str(v, "packed")).value()).hex(), str(v, "domain"));
        EXPECT_EQ(attestation_domain(chain, outbox).hex(), str(v, "domain")) << v.dump();
        const Hash32 digest = attestation_digest(chain, outbox, id);
        EXPECT_EQ(digest.hex(), str(v, "digest")) << v.dump();
        const Hash32 message = Hash32::from_hex(str(v, "message")).value();
        EXPECT_EQ(personal_message_hash(message.view()), digest);

        const Signature sig = Signature::from_hex(str(v, "signature")).value();
        const Address signer = Address::from_hex(str(v, "signer")).value();
        const auto key = PrivateKey::from_hex(str(v, "private_key")).value();
        EXPECT_EQ(ctx.sign(digest, key).value(), sig) << v.dump();
        EXPECT_TRUE(ctx.verify(digest, sig, signer));
    }
}

TEST(eip191, attestation_binds_chain_outbox_and_id) {
    using namespace ferry::crypto::literals;
    const Address outbox = "0x5fbdb2315678afecb367f032d93f642f64180aa3"_address;
    const PacketId id = "0xabababababababababababababababababababababababababababababababab"_hash;
    const Hash32 base = attestation_digest(ChainId{31337}, outbox, id);
    EXPECT_EQ(base, "0x5a412cd4d75a0fb7b9fa18220617ff540ad7381501862f7a7a2f832614041b7e"_hash);
    EXPECT_NE(attestation_digest(ChainId{31338}, outbox, id), base);
    Address other_outbox = outbox;
    other_outbox[19] ^= 0x01;
    EXPECT_NE(attestation_digest(ChainId{31337}, other_outbox, id), base);
    PacketId other_id = id;
    other_id[0] ^= 0x01;
    EXPECT_NE(attestation_digest(ChainId{31337}, outbox, other_id), base);
}

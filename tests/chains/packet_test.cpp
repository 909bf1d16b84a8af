// Proves the packet codec matches the EVM's abi.encodePacked layout and ids byte for byte, and
// rejects short, wrong-version, zero-nonce, oversized and mislabelled packets precisely.
#include "chains/evm/packet.hpp"
#include "crypto/hex.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

using namespace ferry::chains::evm;
using ferry::crypto::Address;
using ferry::crypto::Bytes;
using ferry::crypto::ByteView;
using ferry::crypto::ChainId;
using ferry::crypto::from_hex;
using ferry::crypto::Hash32;
using ferry::crypto::Nonce;
using ferry::crypto::PacketId;
using ferry::crypto::to_hex;
using nlohmann::json;

namespace {

std::uint64_t u64_of(const json& v) { return std::stoull(v.get<std::string>()); }

Packet packet_of(const json& v) {
    Packet p;
    p.version = v["version"].get<std::uint8_t>();
    p.nonce = Nonce{u64_of(v["nonce"])};
    p.src_chain = ChainId{u64_of(v["src_chain"])};
    p.sender = Hash32::from_hex(v["sender"].get<std::string>()).value();
    p.dst_chain = ChainId{u64_of(v["dst_chain"])};
    p.recipient = Hash32::from_hex(v["recipient"].get<std::string>()).value();
    p.expiry = u64_of(v["expiry"]);
    if (v.contains("body")) {
        p.body = from_hex(v["body"].get<std::string>()).value();
    } else {
        const auto n = v["body_length"].get<std::size_t>();
        const auto mod = v["body_mod"].get<std::size_t>();
        for (std::size_t i = 0; i < n; ++i) p.body.push_back(static_cast<std::uint8_t>(i % mod));
    }
    return p;
}

Packet sample() {
    const auto doc = ferry::test::load_vectors("packet.json");
    return packet_of(doc["vectors"][1]);
}

}  // namespace

TEST(packet, encodes_and_hashes_like_the_evm) {
    const auto doc = ferry::test::load_vectors("packet.json");
    ASSERT_GE(doc["vectors"].size(), 4u);
    for (const auto& v : doc["vectors"]) {
        const Packet p = packet_of(v);
        const Bytes enc = encode(p);
        EXPECT_EQ(to_hex(enc), v["encoded"].get<std::string>()) << v["name"];
        EXPECT_EQ(packet_id(enc).hex(), v["id"].get<std::string>()) << v["name"];
    }
}

TEST(packet, decodes_evm_encoded_packets) {
    const auto doc = ferry::test::load_vectors("packet.json");
    for (const auto& v : doc["vectors"]) {
        const Bytes enc = from_hex(v["encoded"].get<std::string>()).value();
        const auto id = Hash32::from_hex(v["id"].get<std::string>()).value();
        auto p = decode_packet_checked(enc, id);
        ASSERT_TRUE(p) << v["name"] << ": " << p.error().message();
        EXPECT_EQ(*p, packet_of(v)) << v["name"];
    }
}

TEST(packet, largest_default_body_matches_the_evm_id) {
    const auto doc = ferry::test::load_vectors("packet.json");
    const auto& v = doc["large"];
    const Packet p = packet_of(v);
    ASSERT_EQ(p.body.size(), kDefaultMaxBodyBytes);
    const Bytes enc = encode(p);
    EXPECT_EQ(enc.size(), v["encoded_length"].get<std::size_t>());
    const auto id = Hash32::from_hex(v["id"].get<std::string>()).value();
    EXPECT_EQ(packet_id(enc), id);
    auto back = decode_packet_checked(enc, id);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, p);
}

TEST(packet, rejects_short_input) {
    const Bytes enc = encode(sample());
    for (std::size_t n = 0; n < kPacketHeaderSize; ++n)
        EXPECT_EQ(decode_packet(ByteView(enc).first(n)).error(), Error::packet_too_short) << n;
    // The header alone (empty body) is a valid packet.
    EXPECT_TRUE(decode_packet(ByteView(enc).first(kPacketHeaderSize)));
}

TEST(packet, rejects_other_versions) {
    for (const int version : {0, 2, 255}) {
        Packet p = sample();
        p.version = static_cast<std::uint8_t>(version);
        EXPECT_EQ(decode_packet(encode(p)).error(), Error::packet_bad_version) << version;
    }
}

TEST(packet, rejects_nonce_zero) {
    Packet p = sample();
    p.nonce = Nonce{0};
    EXPECT_EQ(decode_packet(encode(p)).error(), Error::packet_zero_nonce);
    // The version is checked first.
    p.version = 2;
    EXPECT_EQ(decode_packet(encode(p)).error(), Error::packet_bad_version);
}

TEST(packet, enforces_max_body_bytes) {
    Packet p = sample();
    p.body.assign(kDefaultMaxBodyBytes + 1, 0x42);
    EXPECT_EQ(decode_packet(encode(p)).error(), Error::packet_body_too_large);
    p.body.resize(kDefaultMaxBodyBytes);
    EXPECT_TRUE(decode_packet(encode(p)));
    p.body.assign(11, 0x42);
    EXPECT_EQ(decode_packet(encode(p), 10).error(), Error::packet_body_too_large);
    EXPECT_TRUE(decode_packet(encode(p), 11));
    p.body.clear();
    EXPECT_TRUE(decode_packet(encode(p), 0));
}

TEST(packet, checked_decode_rejects_a_wrong_id) {
    const auto doc = ferry::test::load_vectors("packet.json");
    const Bytes enc = from_hex(doc["vectors"][0]["encoded"].get<std::string>()).value();
    const auto other = Hash32::from_hex(doc["vectors"][1]["id"].get<std::string>()).value();
    EXPECT_EQ(decode_packet_checked(enc, other).error(), Error::packet_id_mismatch);
    EXPECT_EQ(decode_packet_checked(enc, Hash32{}).error(), Error::packet_id_mismatch);
    // A malformed packet reports what is wrong with it, not the id.
    EXPECT_EQ(decode_packet_checked(ByteView(enc).first(10), other).error(),
              Error::packet_too_short);
}

TEST(packet, any_byte_change_changes_the_id) {
    const Bytes enc = encode(sample());
    const PacketId id = packet_id(enc);
    for (std::size_t i = 0; i < enc.size(); ++i) {
        Bytes m = enc;
        m[i] ^= 0x01;
        auto r = decode_packet_checked(m, id);
        ASSERT_FALSE(r) << i;
        if (i == 0)
            EXPECT_EQ(r.error(), Error::packet_bad_version);
        else
            EXPECT_EQ(r.error(), Error::packet_id_mismatch) << i;
    }
}

TEST(packet, address_bytes32_helpers) {
    using namespace ferry::crypto::literals;
    const Address a = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;
    // The EVM's bytes32(uint256(uint160(a))), as recorded in the packet vectors.
    const Hash32 padded = "0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"_hash;
    EXPECT_EQ(address_to_bytes32(a), padded);
    EXPECT_EQ(bytes32_to_address(padded), a);
    EXPECT_EQ(bytes32_to_address(Hash32{}), Address{});
    for (std::size_t i = 0; i < 12; ++i) {
        Hash32 h = padded;
        h[i] = 0x01;
        EXPECT_FALSE(bytes32_to_address(h)) << i;
    }
    const auto doc = ferry::test::load_vectors("packet.json");
    const auto sender = Hash32::from_hex(doc["vectors"][0]["sender"].get<std::string>()).value();
    EXPECT_EQ(sender, padded);
}

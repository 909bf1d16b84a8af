#include "chains/evm/packet.hpp"

#include "crypto/keccak.hpp"

#include <algorithm>
#include <cstring>

namespace ferry::chains::evm {
namespace {

constexpr std::size_t kPad = crypto::Hash32::size() - crypto::Address::size();

void put_u64(crypto::Bytes& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

std::uint64_t get_u64(crypto::ByteView b, std::size_t at) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | b[at + i];
    return v;
}

crypto::Hash32 get_hash(crypto::ByteView b, std::size_t at) noexcept {
    crypto::Hash32 h;
    std::memcpy(h.data(), b.data() + at, crypto::Hash32::size());
    return h;
}

}  // namespace

crypto::Bytes encode(const Packet& packet) {
    crypto::Bytes out;
    out.reserve(kPacketHeaderSize + packet.body.size());
    out.push_back(packet.version);
    put_u64(out, crypto::to_u64(packet.nonce));
    put_u64(out, crypto::to_u64(packet.src_chain));
    out.insert(out.end(), packet.sender.bytes.begin(), packet.sender.bytes.end());
    put_u64(out, crypto::to_u64(packet.dst_chain));
    out.insert(out.end(), packet.recipient.bytes.begin(), packet.recipient.bytes.end());
    put_u64(out, packet.expiry);
    out.insert(out.end(), packet.body.begin(), packet.body.end());
    return out;
}

Result<Packet> decode_packet(crypto::ByteView encoded, std::size_t max_body_bytes) {
    if (encoded.size() < kPacketHeaderSize) return Error::packet_too_short;
    if (encoded[0] != kPacketVersion) return Error::packet_bad_version;
    Packet p;
    p.version = encoded[0];
    p.nonce = crypto::Nonce{get_u64(encoded, 1)};
    if (crypto::to_u64(p.nonce) == 0) return Error::packet_zero_nonce;
    if (encoded.size() - kPacketHeaderSize > max_body_bytes) return Error::packet_body_too_large;
    p.src_chain = crypto::ChainId{get_u64(encoded, 9)};
    p.sender = get_hash(encoded, 17);
    p.dst_chain = crypto::ChainId{get_u64(encoded, 49)};
    p.recipient = get_hash(encoded, 57);
    p.expiry = get_u64(encoded, 89);
    p.body.assign(encoded.begin() + kPacketHeaderSize, encoded.end());
    return p;
}

crypto::PacketId packet_id(crypto::ByteView encoded) noexcept { return crypto::keccak256(encoded); }

Result<Packet> decode_packet_checked(crypto::ByteView encoded, const crypto::PacketId& claimed,
                                     std::size_t max_body_bytes) {
    auto p = decode_packet(encoded, max_body_bytes);
    if (!p) return p;
    if (packet_id(encoded) != claimed) return Error::packet_id_mismatch;
    return p;
}

crypto::Hash32 address_to_bytes32(const crypto::Address& address) noexcept {
    crypto::Hash32 out;
    std::memcpy(out.data() + kPad, address.data(), crypto::Address::size());
    return out;
}

std::optional<crypto::Address> bytes32_to_address(const crypto::Hash32& value) noexcept {
    if (!std::all_of(value.bytes.begin(), value.bytes.begin() + kPad,
                     [](std::uint8_t b) { return b == 0; }))
        return std::nullopt;
    crypto::Address out;
    std::memcpy(out.data(), value.data() + kPad, crypto::Address::size());
    return out;
}

}  // namespace ferry::chains::evm

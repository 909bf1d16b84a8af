// Ferry packet v1 (docs/design.md §2): a packed, big-endian header of 97 bytes followed by the
// body, identified by keccak256 of its bytes. The contracts and this codec agree byte for byte.
#pragma once

#include "chains/evm/error.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace ferry::chains::evm {

inline constexpr std::uint8_t kPacketVersion = 1;
/// version(1) nonce(8) src(8) sender(32) dst(8) recipient(32) expiry(8).
inline constexpr std::size_t kPacketHeaderSize = 97;
/// The protocol's default `max_body_bytes`.
inline constexpr std::size_t kDefaultMaxBodyBytes = 32768;

struct Packet {
    std::uint8_t version = kPacketVersion;
    crypto::Nonce nonce{};
    crypto::ChainId src_chain{};
    crypto::Hash32 sender;  // an EVM address left-padded with zeros (address_to_bytes32)
    crypto::ChainId dst_chain{};
    crypto::Hash32 recipient;
    std::uint64_t expiry = 0;  // unix seconds; 0 = never
    crypto::Bytes body;

    friend bool operator==(const Packet&, const Packet&) = default;
};

/// The packed encoding: header ‖ body. Writes `version` as given (it does not validate).
crypto::Bytes encode(const Packet& packet);

/// Decodes and validates untrusted bytes, checking in this order:
/// packet_too_short (< 97 bytes), packet_bad_version (not 1), packet_zero_nonce,
/// packet_body_too_large (body longer than `max_body_bytes`).
Result<Packet> decode_packet(crypto::ByteView encoded,
                             std::size_t max_body_bytes = kDefaultMaxBodyBytes);

/// keccak256(encoded): the packet id the contracts use.
crypto::PacketId packet_id(crypto::ByteView encoded) noexcept;

/// decode_packet(), then packet_id_mismatch when keccak256(encoded) != `claimed`.
Result<Packet> decode_packet_checked(crypto::ByteView encoded, const crypto::PacketId& claimed,
                                     std::size_t max_body_bytes = kDefaultMaxBodyBytes);

/// The address left-padded with 12 zero bytes, as the contracts store a sender.
crypto::Hash32 address_to_bytes32(const crypto::Address& address) noexcept;

/// The address in the low 20 bytes, or nullopt when any of the top 12 bytes is non-zero
/// (the value is then not an EVM address).
std::optional<crypto::Address> bytes32_to_address(const crypto::Hash32& value) noexcept;

}  // namespace ferry::chains::evm

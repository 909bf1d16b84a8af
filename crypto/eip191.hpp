// EIP-191 personal-message hashing and Ferry's attestation digest (docs/design.md §2).
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

namespace ferry::crypto {

/// keccak256("\x19Ethereum Signed Message:\n" ‖ decimal(len) ‖ message), as personal_sign.
Hash32 personal_message_hash(ByteView message);

/// domain = keccak256(abi.encodePacked(uint64 srcChainId, address outbox, "FERRY"))
Hash32 attestation_domain(ChainId src_chain, const Address& outbox) noexcept;

/// digest = personal_message_hash(keccak256(abi.encodePacked(domain, id))): what a validator
/// signs for packet `id` sent through `outbox` on `src_chain`.
Hash32 attestation_digest(ChainId src_chain, const Address& outbox, const PacketId& id);

}  // namespace ferry::crypto

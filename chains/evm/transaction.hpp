// EIP-1559 (type 2) transactions: the signing hash, signing with a secp256k1 key, the raw
// encoding sent with eth_sendRawTransaction, the transaction hash, and a strict decoder of raw
// signed transactions that recovers the sender.
//
//   signing hash = keccak256(0x02 ‖ rlp([chain_id, nonce, max_priority_fee_per_gas,
//                  max_fee_per_gas, gas_limit, to, value, data, access_list]))
//   raw          = 0x02 ‖ rlp([...the nine fields..., y_parity, r, s])
//   tx hash      = keccak256(raw)
#pragma once

#include "chains/evm/abi.hpp"  // U256
#include "chains/evm/error.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ferry::chains::evm {

/// The EIP-2718 type byte of an EIP-1559 transaction.
inline constexpr std::uint8_t kEip1559TxType = 0x02;

/// One EIP-2930 access list entry: an address and the storage slots the transaction touches.
struct AccessListEntry {
    crypto::Address address;
    std::vector<crypto::Hash32> storage_keys;

    friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};

using AccessList = std::vector<AccessListEntry>;

/// An unsigned EIP-1559 transaction. `to` is empty for a contract creation.
struct Eip1559Tx {
    crypto::ChainId chain_id{};
    std::uint64_t nonce = 0;
    U256 max_priority_fee_per_gas;
    U256 max_fee_per_gas;
    std::uint64_t gas_limit = 0;
    std::optional<crypto::Address> to;
    U256 value;
    Bytes data;
    AccessList access_list;

    friend bool operator==(const Eip1559Tx&, const Eip1559Tx&) = default;
};

/// A signed EIP-1559 transaction with its wire form and identity.
struct SignedTx {
    Eip1559Tx tx;
    /// r ‖ s ‖ v with v = 27 + y_parity (crypto's convention); s is low (EIP-2).
    crypto::Signature signature;
    crypto::Address sender;
    /// 0x02 ‖ rlp([...]): the bytes for eth_sendRawTransaction.
    Bytes raw;
    /// keccak256(raw): the hash nodes report for the transaction.
    crypto::Hash32 hash;

    std::uint8_t y_parity() const noexcept { return static_cast<std::uint8_t>(signature[64] - 27); }
};

/// 0x02 ‖ rlp([the nine unsigned fields]): the preimage of the signing hash.
Bytes signing_payload(const Eip1559Tx& tx);

/// keccak256(signing_payload(tx)): the digest the sender signs.
crypto::Hash32 signing_hash(const Eip1559Tx& tx);

/// 0x02 ‖ rlp([...fields, y_parity, r, s]) for a signature in crypto's r ‖ s ‖ v form.
/// Requires v to be 27 or 28.
Bytes encode_signed(const Eip1559Tx& tx, const crypto::Signature& signature);

/// Signs `tx` with `key` (deterministic, RFC 6979, low s) and fills in raw, hash and sender.
/// Errors: crypto::Error::invalid_private_key. Thread-safe.
Result<SignedTx> sign(const Eip1559Tx& tx, const crypto::PrivateKey& key);

/// Decodes a raw signed EIP-1559 transaction (untrusted bytes) and recovers its sender.
/// Errors: rlp_truncated (empty input), tx_bad_type (first byte is not 0x02), the RLP errors
/// (non-canonical or truncated encoding, trailing bytes, oversized integers, an address or
/// storage key of the wrong size), tx_bad_field_count (not 12 fields, or an access list entry
/// that is not [address, [keys...]]), tx_bad_signature (y_parity not 0 or 1, r or s zero, not
/// below the curve order, or s high, or no key recovers).
Result<SignedTx> decode_signed(ByteView raw);

}  // namespace ferry::chains::evm

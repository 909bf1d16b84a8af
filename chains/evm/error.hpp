// Error codes of ferry::chains::evm decoders (RLP, ABI, packets, transactions).
// Decoders of untrusted bytes return Result<T> with one of these and never throw.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace ferry::chains::evm {

enum class Error {
    ok = 0,
    // RLP
    rlp_truncated,             // input ends before the item it announces
    rlp_non_canonical_size,    // length prefix with leading zeros, or long form for < 56 bytes
    rlp_non_canonical_byte,    // single byte < 0x80 wrapped as a string
    rlp_trailing_bytes,        // bytes left after the top-level item
    rlp_unexpected_list,       // a string was expected
    rlp_unexpected_string,     // a list was expected
    rlp_integer_overflow,      // integer wider than the target type
    rlp_integer_leading_zero,  // integer with a leading zero byte
    rlp_too_deep,              // nesting beyond the decoder's limit
    rlp_wrong_size,            // fixed-size value (address, hash) with another length
    // ABI
    abi_truncated,           // data shorter than the head or a dynamic item
    abi_bad_offset,          // offset out of range or not a multiple of 32
    abi_bad_padding,         // non-zero bytes where zero padding belongs
    abi_value_out_of_range,  // integer wider than the declared type, bool not 0/1
    abi_too_large,           // length implausibly large for the data
    abi_wrong_topic,         // log topic0 is not the expected event signature
    abi_wrong_topic_count,   // log has the wrong number of topics
    abi_wrong_selector,      // calldata does not start with the expected function selector
    // packet (docs/design.md §2)
    packet_too_short,       // fewer than the 97 header bytes
    packet_bad_version,     // version byte is not 1
    packet_body_too_large,  // body longer than the configured maximum
    packet_zero_nonce,      // nonces start at 1
    packet_id_mismatch,     // keccak256(packet) differs from the claimed id
    packet_event_mismatch,  // PacketSent topics (dst chain, nonce) disagree with its packet
    // transactions
    tx_bad_type,         // not an EIP-1559 (0x02) transaction
    tx_bad_signature,    // y_parity not 0/1, or r/s out of range
    tx_bad_field_count,  // the signed transaction list does not have its 12 fields
    // JSON-RPC answers (json.hpp)
    json_wrong_type,     // a field holds another JSON type than the wire format says
    json_missing_field,  // a required field is absent or null
    json_bad_quantity,   // a quantity is not "0x" + hex digits, or too large for its type
    json_bad_data,       // hex data, a hash or an address is malformed or has the wrong size
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(Error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

template <class T>
using Result = boost::system::result<T>;

}  // namespace ferry::chains::evm

template <>
struct boost::system::is_error_code_enum<ferry::chains::evm::Error> : std::true_type {};

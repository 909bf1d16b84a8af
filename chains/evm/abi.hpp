// Solidity contract ABI (the subset Ferry's contracts use): a head/tail encoder, a strict
// decoder over untrusted bytes, function selectors, event topics and revert reasons.
//
// Types covered: uint<M> (M <= 64 as std::uint64_t, uint256 as U256), bool, address, bytes<M>
// (bytes32 as Hash32), bytes, string, T[], T[k] and tuples of these, nested to any depth.
#pragma once

#include "chains/evm/error.hpp"
#include "chains/evm/u256.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::chains::evm {

using crypto::Address;
using crypto::Bytes;
using crypto::ByteView;
using crypto::Hash32;

/// Size of one ABI word.
inline constexpr std::size_t kAbiWordSize = 32;

/// First 4 bytes of keccak256 of a canonical function signature.
using Selector = crypto::FixedBytes<4>;

/// function_selector("deliver(bytes,bytes)"): the signature must be canonical (no spaces,
/// uint256 rather than uint); it is hashed as given.
Selector function_selector(std::string_view signature) noexcept;

/// topic0 of a non-anonymous event: keccak256 of its canonical signature.
Hash32 event_topic(std::string_view signature) noexcept;

/// Builds the ABI encoding of a tuple, one value after another. Static values go into the head;
/// dynamic ones (bytes, string, T[], and tuples or T[k] holding a dynamic value) leave a 32-byte
/// offset in the head and their encoding in the tail. Nested arrays and tuples are built with an
/// inner encoder and added with add_array / add_fixed_array / add_tuple.
///
/// Not thread-safe; cheap to copy.
class AbiEncoder {
public:
    /// uint8 .. uint64 (every uintN with N <= 64 has the same encoding).
    AbiEncoder& add_uint(std::uint64_t v);
    AbiEncoder& add_uint256(const U256& v);
    AbiEncoder& add_bool(bool v);
    AbiEncoder& add_address(const Address& v);
    AbiEncoder& add_bytes32(const Hash32& v);
    /// bytes<M> for M = value.size() in 1..32, right-padded with zeros. Requires 1 <= M <= 32.
    AbiEncoder& add_fixed_bytes(ByteView value);
    AbiEncoder& add_bytes(ByteView value);
    AbiEncoder& add_string(std::string_view value);
    AbiEncoder& add_address_array(std::span<const Address> values);
    AbiEncoder& add_bytes_array(std::span<const Bytes> values);
    AbiEncoder& add_uint256_array(std::span<const U256> values);

    /// T[]: `elements` holds the array's elements in order, all of one type T.
    AbiEncoder& add_array(const AbiEncoder& elements);
    /// T[k]: `elements` holds exactly k elements; dynamic when T is.
    AbiEncoder& add_fixed_array(const AbiEncoder& elements);
    /// (T1,...,Tn): dynamic when any member is.
    AbiEncoder& add_tuple(const AbiEncoder& members);

    /// Number of values added so far.
    std::size_t count() const noexcept { return items_.size(); }
    /// True when any value added so far is dynamic.
    bool is_dynamic() const noexcept;

    /// The tuple's encoding: head ‖ tail.
    Bytes encode() const;
    /// selector ‖ encode(): calldata for a function call.
    Bytes encode_call(const Selector& selector) const;

private:
    struct Item {
        Bytes encoding;  // in place (static) or the tail part (dynamic)
        bool dynamic = false;
    };

    AbiEncoder& add_static_word(const std::array<std::uint8_t, kAbiWordSize>& word);

    std::vector<Item> items_;
};

struct AbiArray;

/// Reads an ABI-encoded tuple value by value, in declaration order. Strict: every read checks
/// bounds first; offsets must be multiples of 32 and leave room for the item; lengths must fit
/// the data; padding must be zero; uintN must fit N bits; bool must be 0 or 1. Trailing bytes
/// after the last value are ignored, as Solidity ignores them.
///
/// Errors: abi_truncated (data ends first), abi_bad_offset, abi_too_large (a length the whole
/// input could never hold, e.g. 2^64-1), abi_bad_padding, abi_value_out_of_range.
/// A decoder is a cheap view: it borrows the bytes, which must outlive it.
class AbiDecoder {
public:
    AbiDecoder() noexcept = default;
    /// Decodes the tuple that starts at data[0] (for calldata: the bytes after the selector).
    explicit AbiDecoder(ByteView data) noexcept : data_(data) {}

    /// uintN for N in 8..64 (multiple of 8); abi_value_out_of_range when the value needs more.
    Result<std::uint64_t> read_uint(unsigned bits = 64);
    Result<U256> read_uint256();
    Result<bool> read_bool();
    Result<Address> read_address();
    Result<Hash32> read_bytes32();
    /// bytes<M> for M in 1..32; the 32 - M bytes after the value must be zero.
    Result<Bytes> read_fixed_bytes(std::size_t m);
    Result<Bytes> read_bytes();
    /// A string's bytes as-is (the ABI does not validate UTF-8 and neither does this).
    Result<std::string> read_string();
    Result<std::vector<Address>> read_address_array();
    Result<std::vector<Bytes>> read_bytes_array();
    Result<std::vector<U256>> read_uint256_array();

    /// A dynamic array T[]: its element count and a decoder positioned on its first element.
    Result<AbiArray> read_array();
    /// A dynamic tuple or a T[k] of dynamic T: a decoder positioned on its first member. Static
    /// tuples and T[k] of static T are in place: read their members from this decoder.
    Result<AbiDecoder> read_dynamic_tuple();

    /// Bytes of the head consumed so far (relative to the start of this tuple).
    std::size_t head_position() const noexcept { return pos_ - base_; }

private:
    AbiDecoder(ByteView data, std::size_t base) noexcept : data_(data), base_(base), pos_(base) {}

    Result<ByteView> read_word();
    /// Reads an offset word and returns the absolute position of the item it points at.
    Result<std::size_t> read_offset();
    /// Reads a length word at `at` and returns it checked against the input size
    /// (`unit` bytes per element).
    Result<std::size_t> length_at(std::size_t at, std::size_t unit) const;
    Result<Bytes> bytes_at(std::size_t at) const;

    ByteView data_;         // the whole input; offsets never leave it
    std::size_t base_ = 0;  // start of this tuple in data_
    std::size_t pos_ = 0;   // next head word in data_
};

/// A dynamic array T[] being decoded: `count` elements, read from `elements` in order.
struct AbiArray {
    std::size_t count = 0;
    AbiDecoder elements;
};

/// Checks calldata's selector and returns a decoder over its arguments.
/// Errors: abi_truncated (under 4 bytes), abi_wrong_selector.
Result<AbiDecoder> decode_call(ByteView calldata, const Selector& expected);

/// Why a call reverted, decoded from its revert data.
struct RevertReason {
    enum class Kind {
        empty,         // no data: revert() or require(cond) without a message, or out of gas
        error_string,  // Error(string): require/revert with a message
        panic,         // Panic(uint256): assert, overflow, division by zero, ...
        custom,        // a custom error: selector ‖ arguments, kept raw in `data`
    };
    Kind kind = Kind::empty;
    std::string message;  // Error(string) only
    U256 panic_code;      // Panic(uint256) only
    Bytes data;           // the revert data as received
};

/// Selector of Error(string), 0x08c379a0.
Selector error_string_selector() noexcept;
/// Selector of Panic(uint256), 0x4e487b71.
Selector panic_selector() noexcept;

/// Decodes revert data. Unknown selectors are custom errors, not failures. Errors: abi_truncated
/// for 1 to 3 bytes; the ABI errors of a malformed Error(string) or Panic(uint256) payload.
Result<RevertReason> decode_revert(ByteView data);

/// One line for logs and operators, e.g. `reverted: "not owner"`, `panic 0x11 (arithmetic
/// overflow)`, `custom error 0x12345678 (36 bytes)`.
std::string describe(const RevertReason& reason);

}  // namespace ferry::chains::evm

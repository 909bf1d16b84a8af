// Recursive Length Prefix (RLP), Ethereum's serialisation of byte strings and lists: an encoder
// that builds one buffer, and a strict zero-copy decoder over untrusted bytes.
//
// The decoder accepts only canonical encodings (the ones the encoder produces): a single byte
// below 0x80 is never wrapped as a string, the long form is used only from 56 bytes on, lengths
// have no leading zero byte, and integers have no leading zero byte. It never reads outside its
// input and returns an Error instead of throwing.
#pragma once

#include "chains/evm/abi.hpp"  // U256
#include "chains/evm/error.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry::chains::evm {

using crypto::Bytes;
using crypto::ByteView;

/// Lists nested deeper than this are rejected with rlp_too_deep (a transaction needs 3).
inline constexpr std::size_t kRlpMaxDepth = 32;

/// Builds RLP into one buffer: values are appended in order; begin_list() / end_list() bracket
/// a list's items (nesting allowed). Not thread-safe.
class RlpEncoder {
public:
    /// A byte string.
    RlpEncoder& add_bytes(ByteView bytes);
    /// An unsigned integer: big-endian without leading zero bytes; 0 is the empty string.
    RlpEncoder& add_uint(std::uint64_t value);
    RlpEncoder& add_uint(const U256& value);
    /// An unsigned integer of any width given as big-endian bytes; leading zeros are stripped.
    RlpEncoder& add_uint_be(ByteView big_endian);
    /// A fixed-size value (Address, Hash32, ...) as a byte string of exactly N bytes.
    template <std::size_t N>
    RlpEncoder& add_fixed(const crypto::FixedBytes<N>& value) {
        return add_bytes(value.view());
    }
    /// An item that is already RLP-encoded, copied as-is.
    RlpEncoder& add_encoded(ByteView encoded);

    RlpEncoder& begin_list();
    /// Closes the innermost open list. Throws std::logic_error when no list is open.
    RlpEncoder& end_list();

    /// The encoding so far. Throws std::logic_error while a list is still open.
    const Bytes& bytes() const;
    /// Moves the encoding out and resets the encoder. Throws like bytes().
    Bytes take();

private:
    Bytes out_;
    std::vector<std::size_t> open_lists_;  // offset of each open list's first payload byte
};

/// One-item conveniences.
Bytes rlp_encode_bytes(ByteView bytes);
Bytes rlp_encode_uint(std::uint64_t value);

/// One decoded item: a view into the input, which must outlive it.
struct RlpItem {
    bool is_list = false;
    /// A string's bytes, or a list's concatenated item encodings.
    ByteView payload;
    /// The whole item: header and payload.
    ByteView encoded;

    /// The string's bytes. Errors: rlp_unexpected_list.
    Result<ByteView> bytes() const;
    /// A canonical unsigned integer of at most 64 bits. Errors: rlp_unexpected_list,
    /// rlp_integer_leading_zero, rlp_integer_overflow.
    Result<std::uint64_t> to_u64() const;
    /// A canonical unsigned integer of at most 256 bits; errors as to_u64().
    Result<U256> to_u256() const;
    /// A string of exactly N bytes. Errors: rlp_unexpected_list, rlp_wrong_size.
    template <std::size_t N>
    Result<crypto::FixedBytes<N>> to_fixed() const;
};

/// Decodes the item at the front of `in` and returns it; `rest` receives the bytes after it.
/// Checks the header (canonical, within bounds) but not the items inside a list.
/// Errors: rlp_truncated (also for empty input), rlp_non_canonical_size, rlp_non_canonical_byte.
Result<RlpItem> rlp_decode_prefix(ByteView in, ByteView& rest);

/// Decodes `in` as exactly one item and checks every nested item too (an item that runs past
/// the end of its list is rlp_truncated), so walking a validated item's lists cannot meet
/// malformed RLP. Errors: those of rlp_decode_prefix, rlp_trailing_bytes (bytes after the item),
/// rlp_too_deep (lists nested more than kRlpMaxDepth deep).
Result<RlpItem> rlp_decode(ByteView in);

/// Walks a list's items in order. A cheap view into the list's payload.
class RlpListReader {
public:
    /// Errors: rlp_unexpected_string when `item` is not a list.
    static Result<RlpListReader> open(const RlpItem& item);

    bool empty() const noexcept { return rest_.empty(); }
    /// Number of items left (decodes their headers). Errors: as rlp_decode_prefix.
    Result<std::size_t> count() const;

    /// The next item. Errors: rlp_truncated when the list has no more items; as rlp_decode_prefix.
    Result<RlpItem> next();
    Result<ByteView> next_bytes();
    Result<std::uint64_t> next_u64();
    Result<U256> next_u256();
    template <std::size_t N>
    Result<crypto::FixedBytes<N>> next_fixed() {
        auto item = next();
        if (!item) return item.error();
        return item->to_fixed<N>();
    }
    /// The next item, which must be a list. Errors: rlp_unexpected_string; as next().
    Result<RlpListReader> next_list();

    /// Success when every item was read; rlp_trailing_bytes otherwise.
    Result<void> finish() const;

private:
    explicit RlpListReader(ByteView payload) noexcept : rest_(payload) {}
    ByteView rest_;
};

template <std::size_t N>
Result<crypto::FixedBytes<N>> RlpItem::to_fixed() const {
    if (is_list) return Error::rlp_unexpected_list;
    if (payload.size() != N) return Error::rlp_wrong_size;
    crypto::FixedBytes<N> out;
    for (std::size_t i = 0; i < N; ++i) out.bytes[i] = payload[i];
    return out;
}

}  // namespace ferry::chains::evm

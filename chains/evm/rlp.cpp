#include "chains/evm/rlp.hpp"

#include <array>
#include <cstddef>
#include <stdexcept>

namespace ferry::chains::evm {
namespace {

constexpr std::uint8_t kStringBase = 0x80;
constexpr std::uint8_t kListBase = 0xc0;
constexpr std::size_t kMaxShortLength = 55;

// Header of a string (base 0x80) or list (base 0xc0) whose payload has `length` bytes.
struct Header {
    std::array<std::uint8_t, 9> bytes{};
    std::size_t size = 0;
};

Header make_header(std::uint8_t base, std::size_t length) {
    Header h;
    if (length <= kMaxShortLength) {
        h.bytes[0] = static_cast<std::uint8_t>(base + length);
        h.size = 1;
        return h;
    }
    std::size_t length_bytes = 0;
    for (std::size_t v = length; v != 0; v >>= 8) ++length_bytes;
    h.bytes[0] = static_cast<std::uint8_t>(base + kMaxShortLength + length_bytes);
    for (std::size_t i = 0; i < length_bytes; ++i)
        h.bytes[length_bytes - i] = static_cast<std::uint8_t>(length >> (8 * i));
    h.size = 1 + length_bytes;
    return h;
}

ByteView strip_leading_zeros(ByteView be) noexcept {
    std::size_t i = 0;
    while (i < be.size() && be[i] == 0) ++i;
    return be.subspan(i);
}

// Checks the items inside a list payload, `depth` being the list's own nesting level.
Result<void> validate_list(ByteView payload, std::size_t depth) {
    if (depth > kRlpMaxDepth) return Error::rlp_too_deep;
    while (!payload.empty()) {
        auto item = rlp_decode_prefix(payload, payload);
        if (!item) return item.error();
        if (item->is_list) {
            if (auto r = validate_list(item->payload, depth + 1); !r) return r.error();
        }
    }
    return {};
}

// A canonical integer's significant bytes: no leading zero, at most `max_bytes`.
Result<ByteView> integer_bytes(const RlpItem& item, std::size_t max_bytes) {
    if (item.is_list) return Error::rlp_unexpected_list;
    if (!item.payload.empty() && item.payload[0] == 0) return Error::rlp_integer_leading_zero;
    if (item.payload.size() > max_bytes) return Error::rlp_integer_overflow;
    return item.payload;
}

}  // namespace

RlpEncoder& RlpEncoder::add_bytes(ByteView bytes) {
    if (bytes.size() == 1 && bytes[0] < kStringBase) {
        out_.push_back(bytes[0]);
        return *this;
    }
    const Header h = make_header(kStringBase, bytes.size());
    out_.insert(out_.end(), h.bytes.begin(), h.bytes.begin() + static_cast<std::ptrdiff_t>(h.size));
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return *this;
}

RlpEncoder& RlpEncoder::add_uint(std::uint64_t value) {
    std::array<std::uint8_t, 8> be{};
    for (std::size_t i = 0; i < 8; ++i) be[7 - i] = static_cast<std::uint8_t>(value >> (8 * i));
    return add_uint_be(be);
}

RlpEncoder& RlpEncoder::add_uint(const U256& value) { return add_uint_be(value.bytes); }

RlpEncoder& RlpEncoder::add_uint_be(ByteView big_endian) {
    return add_bytes(strip_leading_zeros(big_endian));
}

RlpEncoder& RlpEncoder::add_encoded(ByteView encoded) {
    out_.insert(out_.end(), encoded.begin(), encoded.end());
    return *this;
}

RlpEncoder& RlpEncoder::begin_list() {
    open_lists_.push_back(out_.size());
    return *this;
}

RlpEncoder& RlpEncoder::end_list() {
    if (open_lists_.empty()) throw std::logic_error("RlpEncoder::end_list without begin_list");
    const std::size_t start = open_lists_.back();
    open_lists_.pop_back();
    // The payload is already in place; the header goes in front of it. Offsets of enclosing
    // lists lie before `start`, so they stay valid.
    const Header h = make_header(kListBase, out_.size() - start);
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(start), h.bytes.begin(),
                h.bytes.begin() + static_cast<std::ptrdiff_t>(h.size));
    return *this;
}

const Bytes& RlpEncoder::bytes() const {
    if (!open_lists_.empty()) throw std::logic_error("RlpEncoder: a list is still open");
    return out_;
}

Bytes RlpEncoder::take() {
    if (!open_lists_.empty()) throw std::logic_error("RlpEncoder: a list is still open");
    Bytes out = std::move(out_);
    out_.clear();
    return out;
}

Bytes rlp_encode_bytes(ByteView bytes) { return RlpEncoder().add_bytes(bytes).take(); }

Bytes rlp_encode_uint(std::uint64_t value) { return RlpEncoder().add_uint(value).take(); }

Result<ByteView> RlpItem::bytes() const {
    if (is_list) return Error::rlp_unexpected_list;
    return payload;
}

Result<std::uint64_t> RlpItem::to_u64() const {
    auto be = integer_bytes(*this, 8);
    if (!be) return be.error();
    std::uint64_t v = 0;
    for (const std::uint8_t b : *be) v = (v << 8) | b;
    return v;
}

Result<U256> RlpItem::to_u256() const {
    auto be = integer_bytes(*this, 32);
    if (!be) return be.error();
    U256 v;
    const std::size_t offset = 32 - be->size();
    for (std::size_t i = 0; i < be->size(); ++i) v.bytes[offset + i] = (*be)[i];
    return v;
}

Result<RlpItem> rlp_decode_prefix(ByteView in, ByteView& rest) {
    if (in.empty()) return Error::rlp_truncated;
    const std::uint8_t first = in[0];
    if (first < kStringBase) {
        rest = in.subspan(1);
        return RlpItem{false, in.first(1), in.first(1)};
    }
    const bool is_list = first >= kListBase;
    const std::size_t tag = static_cast<std::size_t>(first - (is_list ? kListBase : kStringBase));

    std::size_t header = 1;
    std::uint64_t length = tag;
    if (tag > kMaxShortLength) {
        const std::size_t length_bytes = tag - kMaxShortLength;  // 1..8
        if (in.size() - 1 < length_bytes) return Error::rlp_truncated;
        if (in[1] == 0) return Error::rlp_non_canonical_size;
        length = 0;
        for (std::size_t i = 1; i <= length_bytes; ++i) length = (length << 8) | in[i];
        if (length <= kMaxShortLength) return Error::rlp_non_canonical_size;
        header += length_bytes;
    }
    // Compared before any addition, so a 64-bit length cannot wrap around.
    if (length > in.size() - header) return Error::rlp_truncated;
    const auto size = static_cast<std::size_t>(length);
    const ByteView payload = in.subspan(header, size);
    if (!is_list && size == 1 && payload[0] < kStringBase) return Error::rlp_non_canonical_byte;
    rest = in.subspan(header + size);
    return RlpItem{is_list, payload, in.first(header + size)};
}

Result<RlpItem> rlp_decode(ByteView in) {
    ByteView rest;
    auto item = rlp_decode_prefix(in, rest);
    if (!item) return item.error();
    if (!rest.empty()) return Error::rlp_trailing_bytes;
    if (item->is_list) {
        if (auto r = validate_list(item->payload, 1); !r) return r.error();
    }
    return item;
}

Result<RlpListReader> RlpListReader::open(const RlpItem& item) {
    if (!item.is_list) return Error::rlp_unexpected_string;
    return RlpListReader(item.payload);
}

Result<std::size_t> RlpListReader::count() const {
    std::size_t n = 0;
    for (ByteView rest = rest_; !rest.empty(); ++n) {
        if (auto item = rlp_decode_prefix(rest, rest); !item) return item.error();
    }
    return n;
}

Result<RlpItem> RlpListReader::next() { return rlp_decode_prefix(rest_, rest_); }

Result<ByteView> RlpListReader::next_bytes() {
    auto item = next();
    if (!item) return item.error();
    return item->bytes();
}

Result<std::uint64_t> RlpListReader::next_u64() {
    auto item = next();
    if (!item) return item.error();
    return item->to_u64();
}

Result<U256> RlpListReader::next_u256() {
    auto item = next();
    if (!item) return item.error();
    return item->to_u256();
}

Result<RlpListReader> RlpListReader::next_list() {
    auto item = next();
    if (!item) return item.error();
    return open(*item);
}

Result<void> RlpListReader::finish() const {
    if (!rest_.empty()) return Error::rlp_trailing_bytes;
    return {};
}

}  // namespace ferry::chains::evm

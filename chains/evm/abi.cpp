#include "chains/evm/abi.hpp"

#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace ferry::chains::evm {
namespace {

using Word = std::array<std::uint8_t, kAbiWordSize>;

Word word_of_u64(std::uint64_t v) noexcept { return U256::from_u64(v).bytes; }

void append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

/// Appends `b` right-padded with zeros to a multiple of 32 bytes.
void append_padded(Bytes& out, ByteView b) {
    append(out, b);
    const std::size_t rem = b.size() % kAbiWordSize;
    if (rem != 0) out.insert(out.end(), kAbiWordSize - rem, 0);
}

bool all_zero(ByteView b) noexcept {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

/// The low 8 bytes of a word as an integer (callers check the high bytes).
std::uint64_t low_u64(ByteView word) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = kAbiWordSize - 8; i < kAbiWordSize; ++i) v = (v << 8) | word[i];
    return v;
}

}  // namespace

// ---- selectors and topics ----

Selector function_selector(std::string_view signature) noexcept {
    const Hash32 h = crypto::keccak256(crypto::as_bytes(signature));
    Selector s;
    std::memcpy(s.data(), h.data(), Selector::size());
    return s;
}

Hash32 event_topic(std::string_view signature) noexcept {
    return crypto::keccak256(crypto::as_bytes(signature));
}

// ---- encoder ----

AbiEncoder& AbiEncoder::add_static_word(const Word& word) {
    items_.push_back({Bytes(word.begin(), word.end()), false});
    return *this;
}

AbiEncoder& AbiEncoder::add_uint(std::uint64_t v) { return add_static_word(word_of_u64(v)); }

AbiEncoder& AbiEncoder::add_uint256(const U256& v) { return add_static_word(v.bytes); }

AbiEncoder& AbiEncoder::add_bool(bool v) { return add_uint(v ? 1 : 0); }

AbiEncoder& AbiEncoder::add_address(const Address& v) {
    Word w{};
    std::memcpy(w.data() + (kAbiWordSize - Address::size()), v.data(), Address::size());
    return add_static_word(w);
}

AbiEncoder& AbiEncoder::add_bytes32(const Hash32& v) { return add_static_word(v.bytes); }

AbiEncoder& AbiEncoder::add_fixed_bytes(ByteView value) {
    Word w{};
    std::memcpy(w.data(), value.data(), std::min(value.size(), kAbiWordSize));
    return add_static_word(w);
}

AbiEncoder& AbiEncoder::add_bytes(ByteView value) {
    Item item{{}, true};
    item.encoding.reserve(kAbiWordSize + value.size() + kAbiWordSize);
    append(item.encoding, word_of_u64(value.size()));
    append_padded(item.encoding, value);
    items_.push_back(std::move(item));
    return *this;
}

AbiEncoder& AbiEncoder::add_string(std::string_view value) {
    return add_bytes(crypto::as_bytes(value));
}

AbiEncoder& AbiEncoder::add_address_array(std::span<const Address> values) {
    AbiEncoder elements;
    for (const auto& v : values) elements.add_address(v);
    return add_array(elements);
}

AbiEncoder& AbiEncoder::add_bytes_array(std::span<const Bytes> values) {
    AbiEncoder elements;
    for (const auto& v : values) elements.add_bytes(v);
    return add_array(elements);
}

AbiEncoder& AbiEncoder::add_uint256_array(std::span<const U256> values) {
    AbiEncoder elements;
    for (const auto& v : values) elements.add_uint256(v);
    return add_array(elements);
}

AbiEncoder& AbiEncoder::add_array(const AbiEncoder& elements) {
    Item item{{}, true};
    append(item.encoding, word_of_u64(elements.count()));
    append(item.encoding, elements.encode());
    items_.push_back(std::move(item));
    return *this;
}

AbiEncoder& AbiEncoder::add_fixed_array(const AbiEncoder& elements) {
    // T[k] is encoded exactly like a k-tuple of T.
    return add_tuple(elements);
}

AbiEncoder& AbiEncoder::add_tuple(const AbiEncoder& members) {
    items_.push_back({members.encode(), members.is_dynamic()});
    return *this;
}

bool AbiEncoder::is_dynamic() const noexcept {
    return std::any_of(items_.begin(), items_.end(), [](const Item& i) { return i.dynamic; });
}

Bytes AbiEncoder::encode() const {
    std::size_t head_size = 0;
    std::size_t tail_size = 0;
    for (const auto& item : items_) {
        head_size += item.dynamic ? kAbiWordSize : item.encoding.size();
        if (item.dynamic) tail_size += item.encoding.size();
    }
    Bytes out;
    out.reserve(head_size + tail_size);
    std::size_t offset = head_size;
    for (const auto& item : items_) {
        if (item.dynamic) {
            append(out, word_of_u64(offset));
            offset += item.encoding.size();
        } else {
            append(out, item.encoding);
        }
    }
    for (const auto& item : items_)
        if (item.dynamic) append(out, item.encoding);
    return out;
}

Bytes AbiEncoder::encode_call(const Selector& selector) const {
    Bytes out(selector.bytes.begin(), selector.bytes.end());
    append(out, encode());
    return out;
}

// ---- decoder ----

Result<ByteView> AbiDecoder::read_word() {
    if (data_.size() - pos_ < kAbiWordSize) return Error::abi_truncated;
    const ByteView w = data_.subspan(pos_, kAbiWordSize);
    pos_ += kAbiWordSize;
    return w;
}

Result<std::uint64_t> AbiDecoder::read_uint(unsigned bits) {
    std::size_t width = bits / 8;
    if (width < 1 || width > 8) width = 8;
    const auto w = read_word();
    if (!w) return w.error();
    if (!all_zero(w->first(kAbiWordSize - width))) return Error::abi_value_out_of_range;
    return low_u64(*w);
}

Result<U256> AbiDecoder::read_uint256() {
    const auto w = read_word();
    if (!w) return w.error();
    U256 out;
    std::copy(w->begin(), w->end(), out.bytes.begin());
    return out;
}

Result<bool> AbiDecoder::read_bool() {
    const auto w = read_word();
    // result<bool> would take an error_code as a bool: name the error alternative.
    if (!w) return {boost::system::in_place_error, w.error()};
    if (!all_zero(w->first(kAbiWordSize - 1)) || (*w)[kAbiWordSize - 1] > 1)
        return Error::abi_value_out_of_range;
    return (*w)[kAbiWordSize - 1] == 1;
}

Result<Address> AbiDecoder::read_address() {
    const auto w = read_word();
    if (!w) return w.error();
    constexpr std::size_t kPad = kAbiWordSize - Address::size();
    if (!all_zero(w->first(kPad))) return Error::abi_bad_padding;
    Address out;
    std::memcpy(out.data(), w->data() + kPad, Address::size());
    return out;
}

Result<Hash32> AbiDecoder::read_bytes32() {
    const auto w = read_word();
    if (!w) return w.error();
    Hash32 out;
    std::memcpy(out.data(), w->data(), Hash32::size());
    return out;
}

Result<Bytes> AbiDecoder::read_fixed_bytes(std::size_t m) {
    m = std::clamp<std::size_t>(m, 1, kAbiWordSize);
    const auto w = read_word();
    if (!w) return w.error();
    if (!all_zero(w->subspan(m))) return Error::abi_bad_padding;
    return Bytes(w->begin(), w->begin() + static_cast<std::ptrdiff_t>(m));
}

Result<std::size_t> AbiDecoder::read_offset() {
    const auto w = read_word();
    if (!w) return w.error();
    if (!all_zero(w->first(kAbiWordSize - 8))) return Error::abi_bad_offset;
    const std::uint64_t offset = low_u64(*w);
    const std::size_t room = data_.size() - base_;
    // Every dynamic item starts with at least one word (a length, or a tuple's first member).
    if (offset % kAbiWordSize != 0 || offset > room || room - offset < kAbiWordSize)
        return Error::abi_bad_offset;
    return base_ + static_cast<std::size_t>(offset);
}

Result<std::size_t> AbiDecoder::length_at(std::size_t at, std::size_t unit) const {
    // read_offset() guarantees a whole word at `at`.
    const ByteView w = data_.subspan(at, kAbiWordSize);
    if (!all_zero(w.first(kAbiWordSize - 8))) return Error::abi_too_large;
    const std::uint64_t length = low_u64(w);
    // A length the whole input could never hold is malformed, not merely cut short.
    if (length > data_.size() / unit) return Error::abi_too_large;
    return static_cast<std::size_t>(length);
}

Result<Bytes> AbiDecoder::bytes_at(std::size_t at) const {
    const auto length = length_at(at, 1);
    if (!length) return length.error();
    const std::size_t start = at + kAbiWordSize;
    const std::size_t padded = (*length + kAbiWordSize - 1) / kAbiWordSize * kAbiWordSize;
    if (data_.size() - start < padded) return Error::abi_truncated;
    if (!all_zero(data_.subspan(start + *length, padded - *length))) return Error::abi_bad_padding;
    const auto first = data_.begin() + static_cast<std::ptrdiff_t>(start);
    return Bytes(first, first + static_cast<std::ptrdiff_t>(*length));
}

Result<Bytes> AbiDecoder::read_bytes() {
    const auto at = read_offset();
    if (!at) return at.error();
    return bytes_at(*at);
}

Result<std::string> AbiDecoder::read_string() {
    const auto b = read_bytes();
    if (!b) return b.error();
    return std::string(b->begin(), b->end());
}

Result<AbiArray> AbiDecoder::read_array() {
    const auto at = read_offset();
    if (!at) return at.error();
    // Each element takes at least one head word.
    const auto count = length_at(*at, kAbiWordSize);
    if (!count) return count.error();
    return AbiArray{*count, AbiDecoder(data_, *at + kAbiWordSize)};
}

Result<AbiDecoder> AbiDecoder::read_dynamic_tuple() {
    const auto at = read_offset();
    if (!at) return at.error();
    return AbiDecoder(data_, *at);
}

namespace {

template <class T, class Read>
Result<std::vector<T>> read_elements(AbiArray array, Read read) {
    std::vector<T> out;
    out.reserve(array.count);
    for (std::size_t i = 0; i < array.count; ++i) {
        auto v = read(array.elements);
        if (!v) return v.error();
        out.push_back(std::move(*v));
    }
    return out;
}

}  // namespace

Result<std::vector<Address>> AbiDecoder::read_address_array() {
    const auto array = read_array();
    if (!array) return array.error();
    return read_elements<Address>(*array, [](AbiDecoder& d) { return d.read_address(); });
}

Result<std::vector<Bytes>> AbiDecoder::read_bytes_array() {
    const auto array = read_array();
    if (!array) return array.error();
    return read_elements<Bytes>(*array, [](AbiDecoder& d) { return d.read_bytes(); });
}

Result<std::vector<U256>> AbiDecoder::read_uint256_array() {
    const auto array = read_array();
    if (!array) return array.error();
    return read_elements<U256>(*array, [](AbiDecoder& d) { return d.read_uint256(); });
}

Result<AbiDecoder> decode_call(ByteView calldata, const Selector& expected) {
    if (calldata.size() < Selector::size()) return Error::abi_truncated;
    if (!std::equal(expected.bytes.begin(), expected.bytes.end(), calldata.begin()))
        return Error::abi_wrong_selector;
    return AbiDecoder(calldata.subspan(Selector::size()));
}

// ---- revert reasons ----

Selector error_string_selector() noexcept { return function_selector("Error(string)"); }

Selector panic_selector() noexcept { return function_selector("Panic(uint256)"); }

Result<RevertReason> decode_revert(ByteView data) {
    RevertReason out;
    out.data.assign(data.begin(), data.end());
    if (data.empty()) return out;
    if (data.size() < Selector::size()) return Error::abi_truncated;
    if (auto d = decode_call(data, error_string_selector())) {
        auto message = d->read_string();
        if (!message) return message.error();
        out.kind = RevertReason::Kind::error_string;
        out.message = std::move(*message);
        return out;
    }
    if (auto d = decode_call(data, panic_selector())) {
        auto code = d->read_uint256();
        if (!code) return code.error();
        out.kind = RevertReason::Kind::panic;
        out.panic_code = *code;
        return out;
    }
    out.kind = RevertReason::Kind::custom;
    return out;
}

namespace {

/// What the compiler means by each Panic code (Solidity docs, "Panic via assert").
const char* panic_meaning(const U256& code) {
    const auto v = code.to_u64();
    if (!v) return "unknown";
    switch (*v) {
        case 0x00:
            return "generic compiler panic";
        case 0x01:
            return "assert failed";
        case 0x11:
            return "arithmetic overflow or underflow";
        case 0x12:
            return "division or modulo by zero";
        case 0x21:
            return "invalid enum value";
        case 0x22:
            return "corrupt storage byte array";
        case 0x31:
            return "pop on an empty array";
        case 0x32:
            return "array index out of bounds";
        case 0x41:
            return "out of memory";
        case 0x51:
            return "call to an uninitialised function";
        default:
            return "unknown";
    }
}

/// Quotes chain-supplied text for a log line: control bytes and quotes escaped, length capped.
std::string quoted(std::string_view s) {
    constexpr std::size_t kMaxChars = 256;
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < kMaxChars; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            const std::uint8_t b = c;
            out += "\\x" + crypto::to_hex({&b, 1}, false);
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > kMaxChars) out += "...";
    return out + "\"";
}

}  // namespace

std::string describe(const RevertReason& reason) {
    switch (reason.kind) {
        case RevertReason::Kind::empty:
            return "reverted without data";
        case RevertReason::Kind::error_string:
            return "reverted: " + quoted(reason.message);
        case RevertReason::Kind::panic: {
            std::string code = reason.panic_code.hex();
            if (const auto v = reason.panic_code.to_u64()) {
                std::array<char, 24> buf{};
                std::snprintf(buf.data(), buf.size(), "0x%02llx",
                              static_cast<unsigned long long>(*v));
                code = buf.data();
            }
            return "panic " + code + " (" + panic_meaning(reason.panic_code) + ")";
        }
        case RevertReason::Kind::custom:
            return "custom error " +
                   crypto::to_hex(ByteView(reason.data).first(Selector::size()), true) + " (" +
                   std::to_string(reason.data.size()) + " bytes)";
    }
    return "reverted";
}

}  // namespace ferry::chains::evm

// Fuzzes ABI decoding (chains/evm/abi.hpp, ferry_abi.hpp): revert data, the PacketSent /
// PacketDelivered / PacketRejected logs, eth_call return values and tuples of every supported
// type. Properties: decoded values re-encode with AbiEncoder to something that decodes to the
// same values; where the input used the canonical offsets, the re-encoding equals the input's
// prefix byte for byte (padding, bools and narrow integers are strict, so static parts have one
// encoding); a PacketSent packet that decodes matches its event's id, destination and nonce.
//
// Input: byte 0 picks the mode (revert data, event log, return values, typed tuple).
#include "chains/evm/abi.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

namespace {

constexpr const char* kFuzzTarget = "abi_fuzz";

using namespace ferry;
using namespace ferry::chains::evm;

bool is_prefix(const Bytes& canon, ByteView input) {
    return input.size() >= canon.size() && std::equal(canon.begin(), canon.end(), input.begin());
}

/// True when `input` holds the same 32-byte word as `canon` at `at`.
bool same_word(const Bytes& canon, ByteView input, std::size_t at) {
    return canon.size() >= at + 32 && input.size() >= at + 32 &&
           std::equal(canon.begin() + static_cast<std::ptrdiff_t>(at),
                      canon.begin() + static_cast<std::ptrdiff_t>(at + 32),
                      input.begin() + static_cast<std::ptrdiff_t>(at));
}

Hash32 word_u64(std::uint64_t v) {
    Hash32 h;
    for (std::size_t i = 0; i < 8; ++i) h[31 - i] = static_cast<std::uint8_t>(v >> (8 * i));
    return h;
}

// ---- revert data ----

void fuzz_revert(ByteView d) {
    (void)ferry_error_name(d);
    const auto r = decode_revert(d);
    if (!r) {
        FUZZ_CHECK(!d.empty(), "decode_revert refused empty data", "");
        return;
    }
    FUZZ_CHECK(r->data == Bytes(d.begin(), d.end()), "RevertReason::data is not the input", "");
    FUZZ_CHECK(!describe(*r).empty(), "describe() gave nothing", "");
    switch (r->kind) {
        case RevertReason::Kind::empty:
            FUZZ_CHECK(d.empty(), "non-empty revert data decoded as empty", fuzz::short_hex(d));
            break;
        case RevertReason::Kind::error_string: {
            AbiEncoder enc;
            enc.add_string(r->message);
            const Bytes canon = enc.encode_call(error_string_selector());
            const auto again = decode_revert(canon);
            FUZZ_CHECK(again && again->kind == RevertReason::Kind::error_string &&
                           again->message == r->message,
                       "Error(string) does not round-trip", fuzz::short_hex(d));
            if (same_word(canon, d, 4))
                FUZZ_CHECK(is_prefix(canon, d), "Error(string) accepted a non-canonical encoding",
                           fuzz::short_hex(d) + " vs " + fuzz::short_hex(canon));
            break;
        }
        case RevertReason::Kind::panic: {
            AbiEncoder enc;
            enc.add_uint256(r->panic_code);
            const Bytes canon = enc.encode_call(panic_selector());
            FUZZ_CHECK(is_prefix(canon, d), "Panic(uint256) does not re-encode to its input",
                       fuzz::short_hex(d));
            break;
        }
        case RevertReason::Kind::custom: {
            FUZZ_CHECK(d.size() >= 4, "custom error without a selector", "");
            const Selector e = error_string_selector();
            const Selector p = panic_selector();
            FUZZ_CHECK(!std::equal(e.bytes.begin(), e.bytes.end(), d.begin()) &&
                           !std::equal(p.bytes.begin(), p.bytes.end(), d.begin()),
                       "Error/Panic data classified as a custom error", fuzz::short_hex(d));
            break;
        }
    }
}

// ---- event logs ----

void fuzz_log(ByteView in) {
    if (in.size() < 2) return;
    const std::uint8_t how = in[0];
    const unsigned kind = how % 3U;
    const bool raw_topic0 = (how & 0x80) != 0;
    const std::size_t topics = in[1] % 6U;
    in = in.subspan(2);

    Log log;
    for (std::size_t i = 0; i < topics; ++i) {
        if (i == 0 && !raw_topic0) {
            log.topics.push_back(kind == 0   ? packet_sent_topic()
                                 : kind == 1 ? packet_delivered_topic()
                                             : packet_rejected_topic());
            continue;
        }
        Hash32 t;
        const std::size_t n = std::min<std::size_t>(32, in.size());
        std::memcpy(t.data(), in.data(), n);
        in = in.subspan(n);
        log.topics.push_back(t);
    }
    log.data.assign(in.begin(), in.end());

    if (kind == 0) {
        const auto ev = decode_packet_sent(log);
        if (!ev) return;
        const std::vector<Hash32> canon_topics = {
            packet_sent_topic(), ev->id, word_u64(static_cast<std::uint64_t>(ev->dst_chain)),
            word_u64(static_cast<std::uint64_t>(ev->nonce))};
        FUZZ_CHECK(log.topics == canon_topics, "PacketSent topics do not re-encode", "");
        AbiEncoder enc;
        enc.add_bytes(ev->packet);
        const Bytes canon = enc.encode();
        if (same_word(canon, log.data, 0))
            FUZZ_CHECK(is_prefix(canon, log.data), "PacketSent data is not canonical yet accepted",
                       fuzz::short_hex(log.data));
        const auto packet = decode_sent_packet(*ev);
        if (packet) {
            FUZZ_CHECK(packet_id(ev->packet) == ev->id, "decoded packet has another id", "");
            FUZZ_CHECK(packet->dst_chain == ev->dst_chain && packet->nonce == ev->nonce,
                       "decoded packet disagrees with its event's topics", "");
            FUZZ_CHECK(encode(*packet) == ev->packet, "decoded packet does not re-encode", "");
        }
    } else if (kind == 1) {
        const auto ev = decode_packet_delivered(log);
        if (!ev) return;
        const std::vector<Hash32> canon_topics = {
            packet_delivered_topic(), ev->id, word_u64(static_cast<std::uint64_t>(ev->src_chain)),
            word_u64(static_cast<std::uint64_t>(ev->nonce))};
        FUZZ_CHECK(log.topics == canon_topics, "PacketDelivered topics do not re-encode", "");
        AbiEncoder enc;
        enc.add_bool(ev->success);
        FUZZ_CHECK(is_prefix(enc.encode(), log.data), "PacketDelivered data does not re-encode",
                   fuzz::short_hex(log.data));
    } else {
        const auto ev = decode_packet_rejected(log);
        if (!ev) return;
        FUZZ_CHECK(log.topics.size() == 2 && log.topics[0] == packet_rejected_topic() &&
                       log.topics[1] == ev->id,
                   "PacketRejected topics do not re-encode", "");
        AbiEncoder enc;
        enc.add_string(ev->reason);
        const Bytes canon = enc.encode();
        if (same_word(canon, log.data, 0))
            FUZZ_CHECK(is_prefix(canon, log.data),
                       "PacketRejected data is not canonical yet accepted",
                       fuzz::short_hex(log.data));
    }
}

// ---- eth_call return values ----

void fuzz_returns(ByteView d) {
    if (const auto id = decode_send_result(d)) {
        AbiEncoder enc;
        enc.add_bytes32(*id);
        FUZZ_CHECK(is_prefix(enc.encode(), d), "send result does not re-encode", "");
    }
    if (const auto b = decode_delivered_result(d)) {
        AbiEncoder enc;
        enc.add_bool(*b);
        FUZZ_CHECK(is_prefix(enc.encode(), d), "delivered result does not re-encode", "");
    }
    if (const auto n = decode_nonce_result(d)) {
        AbiEncoder enc;
        enc.add_uint(static_cast<std::uint64_t>(*n));
        FUZZ_CHECK(is_prefix(enc.encode(), d), "nonce result does not re-encode", "");
    }
    if (const auto set = decode_validator_set_result(d)) {
        AbiEncoder enc;
        enc.add_address(set->outbox);
        enc.add_address_array(set->validators);
        enc.add_uint(set->threshold);
        enc.add_bool(set->ordered);
        const Bytes canon = enc.encode();
        const auto again = decode_validator_set_result(canon);
        FUZZ_CHECK(again && *again == *set, "validator set does not round-trip", "");
        if (same_word(canon, d, 32))
            FUZZ_CHECK(is_prefix(canon, d), "validator set accepted a non-canonical encoding",
                       fuzz::short_hex(d));
    }
}

// ---- typed tuples ----

using Value = std::variant<std::uint64_t, U256, bool, Address, Hash32, Bytes, std::string,
                           std::vector<Address>, std::vector<U256>, std::vector<Bytes>>;

struct Type {
    unsigned code = 0;   // 0..10, see read_value
    unsigned param = 0;  // bits of uintN, M of bytesM
    bool dynamic() const { return code >= 6; }
};

template <class T>
std::optional<Value> wrap(Result<T> r) {
    if (!r) return std::nullopt;
    return Value(std::move(*r));
}

std::optional<Value> read_value(AbiDecoder& dec, const Type& t) {
    switch (t.code) {
        case 0:
            return wrap(dec.read_uint(t.param));
        case 1:
            return wrap(dec.read_uint256());
        case 2:
            return wrap(dec.read_bool());
        case 3:
            return wrap(dec.read_address());
        case 4:
            return wrap(dec.read_bytes32());
        case 5:
            return wrap(dec.read_fixed_bytes(t.param));
        case 6:
            return wrap(dec.read_bytes());
        case 7:
            return wrap(dec.read_string());
        case 8:
            return wrap(dec.read_address_array());
        case 9:
            return wrap(dec.read_uint256_array());
        default:
            return wrap(dec.read_bytes_array());
    }
}

void add_value(AbiEncoder& enc, const Type& t, const Value& v) {
    switch (t.code) {
        case 0:
            enc.add_uint(std::get<std::uint64_t>(v));
            break;
        case 1:
            enc.add_uint256(std::get<U256>(v));
            break;
        case 2:
            enc.add_bool(std::get<bool>(v));
            break;
        case 3:
            enc.add_address(std::get<Address>(v));
            break;
        case 4:
            enc.add_bytes32(std::get<Hash32>(v));
            break;
        case 5:
            enc.add_fixed_bytes(std::get<Bytes>(v));
            break;
        case 6:
            enc.add_bytes(std::get<Bytes>(v));
            break;
        case 7:
            enc.add_string(std::get<std::string>(v));
            break;
        case 8:
            enc.add_address_array(std::get<std::vector<Address>>(v));
            break;
        case 9:
            enc.add_uint256_array(std::get<std::vector<U256>>(v));
            break;
        default:
            enc.add_bytes_array(std::get<std::vector<Bytes>>(v));
            break;
    }
}

std::optional<std::vector<Value>> read_all(ByteView d, const std::vector<Type>& types) {
    AbiDecoder dec(d);
    std::vector<Value> values;
    for (const auto& t : types) {
        auto v = read_value(dec, t);
        if (!v) return std::nullopt;
        if (t.code == 5)
            FUZZ_CHECK(std::get<Bytes>(*v).size() == t.param, "read_fixed_bytes: wrong size", "");
        values.push_back(std::move(*v));
    }
    FUZZ_CHECK(dec.head_position() == 32 * types.size(), "head_position is not 32 per value", "");
    return values;
}

void fuzz_tuple(ByteView in) {
    if (in.empty()) return;
    const std::size_t n = in[0] % 7U;
    in = in.subspan(1);
    if (in.size() < n) return;
    std::vector<Type> types;
    bool has_bytes_array = false;
    for (std::size_t i = 0; i < n; ++i) {
        Type t;
        t.code = in[i] % 11U;
        const unsigned hi = in[i] / 11U;
        if (t.code == 0) t.param = 8 * (1 + hi % 8);
        if (t.code == 5) t.param = 1 + hi % 32;
        has_bytes_array = has_bytes_array || t.code == 10;
        types.push_back(t);
    }
    const ByteView d = in.subspan(n);

    const auto values = read_all(d, types);
    if (!values) return;
    AbiEncoder enc;
    for (std::size_t i = 0; i < n; ++i) add_value(enc, types[i], (*values)[i]);
    const Bytes canon = enc.encode();
    const auto again = read_all(canon, types);
    FUZZ_CHECK(again && *again == *values, "decode(encode(decode(x))) != decode(x)",
               fuzz::short_hex(d));
    // Same head (offsets included) ⇒ same bytes, unless bytes[] hides inner offsets.
    if (!has_bytes_array && d.size() >= 32 * n &&
        std::equal(canon.begin(), canon.begin() + static_cast<std::ptrdiff_t>(32 * n), d.begin()))
        FUZZ_CHECK(is_prefix(canon, d), "canonical offsets, yet the bytes differ",
                   fuzz::short_hex(d) + " vs " + fuzz::short_hex(canon));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const ByteView rest(data + 1, size - 1);
    switch (data[0] % 4U) {
        case 0:
            fuzz_revert(rest);
            break;
        case 1:
            fuzz_log(rest);
            break;
        case 2:
            fuzz_returns(rest);
            break;
        default:
            fuzz_tuple(rest);
            break;
    }
    return 0;
}

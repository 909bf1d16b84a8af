#include "relayer/api_params.hpp"

#include "crypto/hex.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace ferry::relayer::api_detail {
namespace {

void put_u64(std::uint8_t* out, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<std::uint8_t>(v & 0xff);
        v >>= 8;
    }
}

std::uint64_t get_u64(const std::uint8_t* in) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
    return v;
}

}  // namespace

/// A JSON value in an error message, shortened.
std::string shown(const json& v) {
    std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > kMaxEcho) text = text.substr(0, kMaxEcho) + "...";
    return text;
}

RpcMethodError invalid(std::string_view param, std::string message) {
    return RpcMethodError{kInvalidParams, "invalid params: " + std::move(message),
                          json{{"param", std::string(param)}}};
}

RpcMethodError internal(std::string what) {
    return RpcMethodError{kInternalError, "internal error: " + std::move(what)};
}

std::string joined(Keys keys) {
    std::string out;
    for (const auto k : keys) {
        if (!out.empty()) out += ", ";
        out += k;
    }
    return out;
}

/// The params as an object: null and [] give {}; an array of at most `positional.size()`
/// values names them in that order; an object may only hold `keys`.
boost::system::result<json, RpcMethodError> named_params(std::string_view method,
                                                         const json& params, Keys keys,
                                                         Keys positional) {
    const std::string takes = keys.size() == 0
                                  ? std::string(method) + " takes no params"
                                  : std::string(method) + " takes an object with " + joined(keys);
    if (params.is_null()) return json::object();
    if (params.is_array()) {
        if (params.size() > positional.size()) {
            if (keys.size() == 0) return invalid("params", takes + ", got " + shown(params));
            return invalid("params",
                           takes +
                               (positional.size() == 0 ? std::string()
                                                       : " (or [" + joined(positional) + "])") +
                               ", got " + shown(params));
        }
        json out = json::object();
        std::size_t i = 0;
        for (const auto name : positional) {
            if (i >= params.size()) break;
            out[std::string(name)] = params[i++];
        }
        return out;
    }
    if (!params.is_object()) return invalid("params", takes + ", got " + shown(params));
    for (const auto& [key, value] : params.items()) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            if (keys.size() == 0) return invalid("params", takes + ", got " + shown(params));
            return invalid(key, "unknown param '" + key.substr(0, kMaxEcho) + "' (" + takes + ")");
        }
    }
    return params;
}

boost::system::result<crypto::PacketId, RpcMethodError> parse_id(const json& v) {
    const std::string expected = "params.id must be a packet id: \"0x\" and 64 hex digits";
    if (!v.is_string()) return invalid("id", expected + ", got " + shown(v));
    auto id =
        crypto::PacketId::from_hex(v.get_ref<const std::string&>(), crypto::HexPrefix::required);
    if (!id) return invalid("id", expected + ", got " + shown(v));
    return *id;
}

std::string states_text() {
    std::string out;
    for (std::size_t i = 0; i < storage::kPacketStateCount; ++i) {
        if (!out.empty()) out += ", ";
        out += storage::to_string(static_cast<storage::PacketState>(i));
    }
    return out;
}

boost::system::result<storage::PacketState, RpcMethodError> parse_state(const json& v) {
    const std::string expected = "params.state must be one of " + states_text();
    if (!v.is_string()) return invalid("state", expected + ", got " + shown(v));
    auto s = storage::packet_state_from_string(v.get_ref<const std::string&>());
    if (!s) return invalid("state", expected + ", got " + shown(v));
    return *s;
}

std::string route_label(const Node& node, const storage::Route& r) {
    const auto* src = node.config.find_chain(r.src);
    const auto* dst = node.config.find_chain(r.dst);
    if (src != nullptr && dst != nullptr) return src->name + "->" + dst->name;
    return storage::route_name(r);
}

boost::system::result<storage::Route, RpcMethodError> parse_route(const Node& node, const json& v) {
    std::string known;
    for (const auto& r : node.config.routes) {
        if (!known.empty()) known += ", ";
        known += r.from + "->" + r.to;
    }
    const std::string expected = "params.route must be a configured route \"from->to\" (" +
                                 (known.empty() ? std::string("this node has none") : known) + ")";
    if (!v.is_string()) return invalid("route", expected + ", got " + shown(v));
    const auto& text = v.get_ref<const std::string&>();
    for (const auto& r : node.config.routes)
        if (text == r.from + "->" + r.to) return storage::Route{r.src, r.dst};
    return invalid("route", expected + ", got " + shown(v));
}

std::string encode_cursor(const storage::PageKey& key) {
    std::array<std::uint8_t, kCursorBytes> raw{};
    put_u64(raw.data(), crypto::to_u64(key.route.src));
    put_u64(raw.data() + 8, crypto::to_u64(key.route.dst));
    put_u64(raw.data() + 16, crypto::to_u64(key.nonce));
    put_u64(raw.data() + 24, key.seq);
    return std::string(kCursorTag) + crypto::to_hex(raw, false);
}

boost::system::result<storage::PageKey, RpcMethodError> parse_cursor(const json& v) {
    const std::string expected =
        "params.cursor must be a next_cursor string from an earlier ferry_packets answer";
    if (!v.is_string()) return invalid("cursor", expected + ", got " + shown(v));
    const std::string_view text = v.get_ref<const std::string&>();
    std::array<std::uint8_t, kCursorBytes> raw{};
    if (text.size() != kCursorTag.size() + 2 * kCursorBytes || text.substr(0, 2) != kCursorTag ||
        !crypto::from_hex_into(text.substr(2), raw, crypto::HexPrefix::forbidden))
        return invalid("cursor", expected + ", got " + shown(v));
    storage::PageKey key;
    key.route.src = crypto::ChainId{get_u64(raw.data())};
    key.route.dst = crypto::ChainId{get_u64(raw.data() + 8)};
    key.nonce = crypto::Nonce{get_u64(raw.data() + 16)};
    key.seq = get_u64(raw.data() + 24);
    return key;
}

/// Decimal digits of a 256-bit unsigned integer.
std::string u256_decimal(const chains::evm::U256& v) {
    std::array<std::uint8_t, 32> n = v.bytes;
    std::string digits;
    bool zero = false;
    while (!zero) {
        unsigned rem = 0;
        zero = true;
        for (auto& byte : n) {
            const unsigned cur = (rem << 8) | byte;
            byte = static_cast<std::uint8_t>(cur / 10);
            rem = cur % 10;
            if (byte != 0) zero = false;
        }
        digits.push_back(static_cast<char>('0' + rem));
    }
    std::reverse(digits.begin(), digits.end());
    return digits;
}

double u256_ether(const chains::evm::U256& v) {
    long double x = 0;
    for (const auto byte : v.bytes) x = x * 256 + byte;
    return static_cast<double>(x / 1e18L);
}

}  // namespace ferry::relayer::api_detail

// Fuzzes the decoding of JSON-RPC answers from a chain (chains/evm/json.hpp *_from_json, and the
// error classifier of chains/evm/rpc_error.hpp) on parsed JSON. Properties: a decoded value
// re-encodes with to_json into JSON that decodes to the same value (and re-encodes to the same
// JSON); quantities agree between the 64- and 256-bit parsers and print back canonically;
// a classified error's kind follows from its code and revert data is kept as sent.
//
// The input is JSON text, parsed like RpcClient does (nesting over 64 levels is refused first).
// The decoders run on the document, on its "result", and on each element of an array.
#include "chains/evm/json.hpp"
#include "chains/evm/rpc_error.hpp"
#include "crypto/hex.hpp"
#include "fuzz_check.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr const char* kFuzzTarget = "rpc_response_fuzz";
constexpr std::size_t kMaxDepth = 64;  // RpcClient's limit

using namespace ferry;
using namespace ferry::chains::evm;
using nlohmann::json;

std::string text_of(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// decode(j) ok ⇒ decode(to_json(value)) == value and to_json is stable.
template <class T, class Decode>
void round_trip(const json& j, Decode decode, const char* what) {
    const Result<T> first = decode(j);
    if (!first) return;
    const json encoded = to_json(*first);
    const Result<T> second = decode(encoded);
    FUZZ_CHECK(second.has_value(), what,
               "its own to_json does not decode (" + second.error().message() +
                   "): " + text_of(encoded).substr(0, 400));
    FUZZ_CHECK(*second == *first, what,
               "decode(to_json(v)) != v: " + text_of(encoded).substr(0, 400));
    FUZZ_CHECK(to_json(*second) == encoded, what, "to_json is not stable");
}

void check_quantity(std::string_view s) {
    const auto u64 = parse_quantity_u64(s);
    const auto u256 = parse_quantity_u256(s);
    if (u64) {
        FUZZ_CHECK(u256 && u256->to_u64() == *u64, "u64 and u256 quantity parsers disagree",
                   std::string(s.substr(0, 100)));
        const std::string printed = to_quantity(*u64);
        FUZZ_CHECK(parse_quantity_u64(printed) == u64, "to_quantity(u64) does not parse back",
                   printed);
    }
    if (u256) {
        const std::string printed = to_quantity(*u256);
        FUZZ_CHECK(parse_quantity_u256(printed) == u256, "to_quantity(u256) does not parse back",
                   printed);
        if (const auto small = u256->to_u64())
            FUZZ_CHECK(u64 && *u64 == *small, "u256 fits 64 bits but the u64 parser refused it",
                       std::string(s.substr(0, 100)));
        // A quantity written canonically prints back as itself.
        bool canonical =
            s.size() >= 3 && s[0] == '0' && s[1] == 'x' && (s.size() == 3 || s[2] != '0');
        for (std::size_t i = 2; canonical && i < s.size(); ++i)
            canonical = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (canonical) FUZZ_CHECK(printed == s, "canonical quantity prints differently", printed);
    }
    if (const auto bytes = data_from_json(json(s))) {
        FUZZ_CHECK(s.size() == 2 + 2 * bytes->size() && crypto::to_hex(*bytes).size() == s.size(),
                   "data_from_json: size does not match the hex", std::string(s.substr(0, 100)));
    }
    if (const auto a = address_from_json(json(s)))
        FUZZ_CHECK(address_from_json(json(a->hex())) == a, "address does not round-trip", "");
    if (const auto h = hash_from_json(json(s)))
        FUZZ_CHECK(hash_from_json(json(h->hex())) == h, "hash does not round-trip", "");
}

void check_error_object(const json& err) {
    if (!err.is_object()) return;
    const auto code = err.find("code");
    if (code == err.end() || !code->is_number_integer()) return;
    const auto wide = code->get<std::int64_t>();
    const int value = wide >= INT32_MIN && wide <= INT32_MAX ? static_cast<int>(wide) : 0;
    std::string_view message;
    if (const auto m = err.find("message"); m != err.end() && m->is_string())
        message = m->get_ref<const std::string&>();
    std::optional<std::string_view> data;
    if (const auto d = err.find("data"); d != err.end() && d->is_string())
        data = d->get_ref<const std::string&>();
    const RpcError e = classify_json_rpc_error(value, message, data, "fuzz");
    FUZZ_CHECK(e.kind == kind_of(e.code), "classified error's kind does not follow its code", "");
    FUZZ_CHECK(!to_string(e.code).empty(), "error code without a name", "");
    FUZZ_CHECK(e.json_rpc_code == value, "classifier lost the JSON-RPC code", "");
    FUZZ_CHECK(e.message == message, "classifier changed the message", "");
    if (e.code == RpcError::Code::execution_reverted && data) {
        if (const auto bytes = crypto::from_hex(*data, crypto::HexPrefix::optional))
            FUZZ_CHECK(e.revert_data == *bytes, "revert data differs from the node's data", "");
    }
    if (e.code != RpcError::Code::execution_reverted)
        FUZZ_CHECK(!e.revert_reason && e.revert_data.empty(),
                   "revert details on an error that is not a revert", "");
    (void)e.to_string();
}

void check_value(const json& j) {
    round_trip<Log>(j, log_from_json, "log_from_json");
    round_trip<BlockHeader>(j, block_header_from_json, "block_header_from_json");
    round_trip<Receipt>(j, receipt_from_json, "receipt_from_json");
    round_trip<FeeHistory>(j, fee_history_from_json, "fee_history_from_json");
    if (j.is_string()) check_quantity(j.get_ref<const std::string&>());
    (void)quantity_u64_from_json(j);
    (void)quantity_u256_from_json(j);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (json_nested_deeper_than(text, kMaxDepth)) return 0;
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) return 0;

    check_value(doc);
    if (doc.is_object()) {
        if (const auto r = doc.find("result"); r != doc.end()) {
            check_value(*r);
            if (r->is_array())
                for (const auto& e : *r) check_value(e);
        }
        if (const auto e = doc.find("error"); e != doc.end()) check_error_object(*e);
    }
    if (doc.is_array()) {
        for (const auto& e : doc) {
            check_value(e);
            if (e.is_object())
                if (const auto r = e.find("result"); r != e.end()) check_value(*r);
        }
    }
    return 0;
}

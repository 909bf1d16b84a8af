#include "chains/evm/json.hpp"

#include "crypto/hex.hpp"

#include <array>
#include <cstddef>
#include <utility>

namespace ferry::chains::evm {

using nlohmann::json;

bool json_nested_deeper_than(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

namespace {

/// The field `name` of an object, or nullptr when it is absent or null (nodes write null for
/// "not applicable", e.g. `to` of a contract creation).
const json* field(const json& obj, const char* name) {
    if (!obj.is_object()) return nullptr;
    const auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

template <class T, class Decode>
Result<T> required(const json& obj, const char* name, Decode decode) {
    const json* v = field(obj, name);
    if (v == nullptr) return Error::json_missing_field;
    return decode(*v);
}

template <class T, class Decode>
Result<std::optional<T>> optional(const json& obj, const char* name, Decode decode) {
    const json* v = field(obj, name);
    if (v == nullptr) return std::optional<T>{};
    auto r = decode(*v);
    if (!r) return r.error();
    return std::optional<T>{std::move(*r)};
}

Result<std::string_view> string_of(const json& j) {
    if (!j.is_string()) return Error::json_wrong_type;
    return std::string_view(j.get_ref<const std::string&>());
}

/// Hex digits of a quantity without the prefix and leading zeros.
Result<std::string_view> quantity_digits(std::string_view s) {
    if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return Error::json_bad_quantity;
    s.remove_prefix(2);
    for (const char c : s)
        if (crypto::hex_digit_value(c) < 0) return Error::json_bad_quantity;
    while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
    return s;
}

bool is_zero(const U256& v) {
    for (const auto b : v.bytes)
        if (b != 0) return false;
    return true;
}

}  // namespace

std::string to_quantity(std::uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    if (v == 0) return "0x0";
    std::array<char, 16> buf{};
    std::size_t n = 0;
    for (; v != 0; v >>= 4) buf[n++] = kDigits[v & 0xf];
    std::string out = "0x";
    while (n > 0) out += buf[--n];
    return out;
}

std::string to_quantity(const U256& v) {
    if (is_zero(v)) return "0x0";
    const std::string hex = crypto::to_hex(v.bytes, false);
    return "0x" + hex.substr(hex.find_first_not_of('0'));
}

Result<std::uint64_t> parse_quantity_u64(std::string_view s) {
    auto digits = quantity_digits(s);
    if (!digits) return digits.error();
    if (digits->size() > 16) return Error::json_bad_quantity;
    std::uint64_t v = 0;
    for (const char c : *digits)
        v = (v << 4) | static_cast<std::uint64_t>(crypto::hex_digit_value(c));
    return v;
}

Result<U256> parse_quantity_u256(std::string_view s) {
    auto digits = quantity_digits(s);
    if (!digits) return digits.error();
    if (digits->size() > 64) return Error::json_bad_quantity;
    U256 out;
    // Right-align the digits: the last digit is the low nibble of bytes[31].
    std::size_t nibble = 0;
    for (auto it = digits->rbegin(); it != digits->rend(); ++it, ++nibble) {
        const auto d = static_cast<std::uint8_t>(crypto::hex_digit_value(*it));
        auto& byte = out.bytes[31 - nibble / 2];
        byte = static_cast<std::uint8_t>(byte | (nibble % 2 == 0 ? d : d << 4));
    }
    return out;
}

Result<std::uint64_t> quantity_u64_from_json(const json& j) {
    auto s = string_of(j);
    if (!s) return s.error();
    return parse_quantity_u64(*s);
}

Result<U256> quantity_u256_from_json(const json& j) {
    auto s = string_of(j);
    if (!s) return s.error();
    return parse_quantity_u256(*s);
}

Result<crypto::Bytes> data_from_json(const json& j) {
    auto s = string_of(j);
    if (!s) return s.error();
    auto bytes = crypto::from_hex(*s, crypto::HexPrefix::required);
    if (!bytes) return Error::json_bad_data;
    return std::move(*bytes);
}

Result<crypto::Address> address_from_json(const json& j) {
    auto s = string_of(j);
    if (!s) return s.error();
    auto a = crypto::Address::from_hex(*s);
    if (!a) return Error::json_bad_data;
    return *a;
}

Result<crypto::Hash32> hash_from_json(const json& j) {
    auto s = string_of(j);
    if (!s) return s.error();
    auto h = crypto::Hash32::from_hex(*s);
    if (!h) return Error::json_bad_data;
    return *h;
}

json to_json(const BlockId& id) {
    if (const auto* n = std::get_if<std::uint64_t>(&id)) return to_quantity(*n);
    switch (std::get<BlockTag>(id)) {
        case BlockTag::earliest:
            return "earliest";
        case BlockTag::latest:
            return "latest";
        case BlockTag::safe:
            return "safe";
        case BlockTag::finalized:
            return "finalized";
        case BlockTag::pending:
            return "pending";
    }
    return "latest";
}

// Each decoder below reads fields in order and stops at the first error.
#define FERRY_JSON_TRY(var, expr) \
    auto var = (expr);            \
    if (!var) return var.error()

Result<Log> log_from_json(const json& j) {
    if (!j.is_object()) return Error::json_wrong_type;
    Log log;
    FERRY_JSON_TRY(address, required<crypto::Address>(j, "address", address_from_json));
    log.address = *address;
    const json* topics = field(j, "topics");
    if (topics == nullptr) return Error::json_missing_field;
    if (!topics->is_array()) return Error::json_wrong_type;
    log.topics.reserve(topics->size());
    for (const auto& t : *topics) {
        FERRY_JSON_TRY(topic, hash_from_json(t));
        log.topics.push_back(*topic);
    }
    FERRY_JSON_TRY(data, required<crypto::Bytes>(j, "data", data_from_json));
    log.data = std::move(*data);
    FERRY_JSON_TRY(number, required<std::uint64_t>(j, "blockNumber", quantity_u64_from_json));
    log.block_number = *number;
    FERRY_JSON_TRY(block_hash, required<crypto::Hash32>(j, "blockHash", hash_from_json));
    log.block_hash = *block_hash;
    FERRY_JSON_TRY(tx_hash, required<crypto::Hash32>(j, "transactionHash", hash_from_json));
    log.tx_hash = *tx_hash;
    FERRY_JSON_TRY(index, required<std::uint64_t>(j, "logIndex", quantity_u64_from_json));
    log.log_index = *index;
    if (const json* removed = field(j, "removed")) {
        if (!removed->is_boolean()) return Error::json_wrong_type;
        log.removed = removed->get<bool>();
    }
    return log;
}

json to_json(const Log& log) {
    json topics = json::array();
    for (const auto& t : log.topics) topics.push_back(t.hex());
    return {
        {"address", log.address.hex()},           {"topics", std::move(topics)},
        {"data", crypto::to_hex(log.data)},       {"blockNumber", to_quantity(log.block_number)},
        {"blockHash", log.block_hash.hex()},      {"transactionHash", log.tx_hash.hex()},
        {"logIndex", to_quantity(log.log_index)}, {"removed", log.removed}};
}

Result<BlockHeader> block_header_from_json(const json& j) {
    if (!j.is_object()) return Error::json_wrong_type;
    BlockHeader h;
    FERRY_JSON_TRY(number, required<std::uint64_t>(j, "number", quantity_u64_from_json));
    h.number = *number;
    FERRY_JSON_TRY(hash, required<crypto::Hash32>(j, "hash", hash_from_json));
    h.hash = *hash;
    FERRY_JSON_TRY(parent, required<crypto::Hash32>(j, "parentHash", hash_from_json));
    h.parent_hash = *parent;
    FERRY_JSON_TRY(timestamp, required<std::uint64_t>(j, "timestamp", quantity_u64_from_json));
    h.timestamp = *timestamp;
    FERRY_JSON_TRY(gas_limit, required<std::uint64_t>(j, "gasLimit", quantity_u64_from_json));
    h.gas_limit = *gas_limit;
    FERRY_JSON_TRY(gas_used, required<std::uint64_t>(j, "gasUsed", quantity_u64_from_json));
    h.gas_used = *gas_used;
    FERRY_JSON_TRY(base_fee, optional<U256>(j, "baseFeePerGas", quantity_u256_from_json));
    h.base_fee_per_gas = *base_fee;
    return h;
}

json to_json(const BlockHeader& h) {
    json out = {{"number", to_quantity(h.number)},      {"hash", h.hash.hex()},
                {"parentHash", h.parent_hash.hex()},    {"timestamp", to_quantity(h.timestamp)},
                {"gasLimit", to_quantity(h.gas_limit)}, {"gasUsed", to_quantity(h.gas_used)}};
    if (h.base_fee_per_gas) out["baseFeePerGas"] = to_quantity(*h.base_fee_per_gas);
    return out;
}

Result<Receipt> receipt_from_json(const json& j) {
    if (!j.is_object()) return Error::json_wrong_type;
    Receipt r;
    FERRY_JSON_TRY(tx_hash, required<crypto::Hash32>(j, "transactionHash", hash_from_json));
    r.tx_hash = *tx_hash;
    FERRY_JSON_TRY(block_hash, required<crypto::Hash32>(j, "blockHash", hash_from_json));
    r.block_hash = *block_hash;
    FERRY_JSON_TRY(number, required<std::uint64_t>(j, "blockNumber", quantity_u64_from_json));
    r.block_number = *number;
    FERRY_JSON_TRY(index, required<std::uint64_t>(j, "transactionIndex", quantity_u64_from_json));
    r.tx_index = *index;
    FERRY_JSON_TRY(status, required<std::uint64_t>(j, "status", quantity_u64_from_json));
    if (*status > 1) return Error::json_bad_quantity;
    r.success = *status == 1;
    FERRY_JSON_TRY(gas_used, required<std::uint64_t>(j, "gasUsed", quantity_u64_from_json));
    r.gas_used = *gas_used;
    FERRY_JSON_TRY(cumulative,
                   required<std::uint64_t>(j, "cumulativeGasUsed", quantity_u64_from_json));
    r.cumulative_gas_used = *cumulative;
    FERRY_JSON_TRY(price, optional<U256>(j, "effectiveGasPrice", quantity_u256_from_json));
    r.effective_gas_price = *price;
    FERRY_JSON_TRY(from, required<crypto::Address>(j, "from", address_from_json));
    r.from = *from;
    FERRY_JSON_TRY(to, optional<crypto::Address>(j, "to", address_from_json));
    r.to = *to;
    FERRY_JSON_TRY(created, optional<crypto::Address>(j, "contractAddress", address_from_json));
    r.contract_address = *created;
    const json* logs = field(j, "logs");
    if (logs == nullptr) return Error::json_missing_field;
    if (!logs->is_array()) return Error::json_wrong_type;
    r.logs.reserve(logs->size());
    for (const auto& l : *logs) {
        FERRY_JSON_TRY(log, log_from_json(l));
        r.logs.push_back(std::move(*log));
    }
    return r;
}

json to_json(const Receipt& r) {
    json logs = json::array();
    for (const auto& l : r.logs) logs.push_back(to_json(l));
    json out = {
        {"transactionHash", r.tx_hash.hex()},
        {"blockHash", r.block_hash.hex()},
        {"blockNumber", to_quantity(r.block_number)},
        {"transactionIndex", to_quantity(r.tx_index)},
        {"status", r.success ? "0x1" : "0x0"},
        {"gasUsed", to_quantity(r.gas_used)},
        {"cumulativeGasUsed", to_quantity(r.cumulative_gas_used)},
        {"from", r.from.hex()},
        {"to", r.to ? json(r.to->hex()) : json(nullptr)},
        {"contractAddress", r.contract_address ? json(r.contract_address->hex()) : json(nullptr)},
        {"logs", std::move(logs)}};
    if (r.effective_gas_price) out["effectiveGasPrice"] = to_quantity(*r.effective_gas_price);
    return out;
}

Result<FeeHistory> fee_history_from_json(const json& j) {
    if (!j.is_object()) return Error::json_wrong_type;
    FeeHistory f;
    FERRY_JSON_TRY(oldest, required<std::uint64_t>(j, "oldestBlock", quantity_u64_from_json));
    f.oldest_block = *oldest;
    const json* base = field(j, "baseFeePerGas");
    const json* ratio = field(j, "gasUsedRatio");
    if (base == nullptr || ratio == nullptr) return Error::json_missing_field;
    if (!base->is_array() || !ratio->is_array()) return Error::json_wrong_type;
    for (const auto& b : *base) {
        FERRY_JSON_TRY(fee, quantity_u256_from_json(b));
        f.base_fee_per_gas.push_back(*fee);
    }
    for (const auto& r : *ratio) {
        if (!r.is_number()) return Error::json_wrong_type;
        f.gas_used_ratio.push_back(r.get<double>());
    }
    if (f.base_fee_per_gas.size() != f.gas_used_ratio.size() + 1) return Error::json_bad_data;
    if (const json* reward = field(j, "reward")) {
        if (!reward->is_array()) return Error::json_wrong_type;
        if (reward->size() != f.gas_used_ratio.size()) return Error::json_bad_data;
        for (const auto& block : *reward) {
            if (!block.is_array()) return Error::json_wrong_type;
            std::vector<U256> fees;
            for (const auto& v : block) {
                FERRY_JSON_TRY(fee, quantity_u256_from_json(v));
                fees.push_back(*fee);
            }
            f.reward.push_back(std::move(fees));
        }
    }
    return f;
}

#undef FERRY_JSON_TRY

json to_json(const FeeHistory& f) {
    json base = json::array();
    for (const auto& b : f.base_fee_per_gas) base.push_back(to_quantity(b));
    json out = {{"oldestBlock", to_quantity(f.oldest_block)},
                {"baseFeePerGas", std::move(base)},
                {"gasUsedRatio", f.gas_used_ratio}};
    if (!f.reward.empty()) {
        json reward = json::array();
        for (const auto& block : f.reward) {
            json fees = json::array();
            for (const auto& v : block) fees.push_back(to_quantity(v));
            reward.push_back(std::move(fees));
        }
        out["reward"] = std::move(reward);
    }
    return out;
}

json to_json(const CallRequest& c) {
    json out = json::object();
    if (c.from) out["from"] = c.from->hex();
    if (c.to) out["to"] = c.to->hex();
    out["data"] = crypto::to_hex(c.data);
    if (c.value) out["value"] = to_quantity(*c.value);
    if (c.gas) out["gas"] = to_quantity(*c.gas);
    return out;
}

json to_json(const LogFilter& f) {
    json out = {{"fromBlock", to_quantity(f.from_block)}, {"toBlock", to_quantity(f.to_block)}};
    if (f.addresses.size() == 1) {
        out["address"] = f.addresses.front().hex();
    } else if (!f.addresses.empty()) {
        json addresses = json::array();
        for (const auto& a : f.addresses) addresses.push_back(a.hex());
        out["address"] = std::move(addresses);
    }
    if (!f.topics.empty()) {
        json topics = json::array();
        for (const auto& position : f.topics) {
            if (position.empty()) {
                topics.push_back(nullptr);
            } else if (position.size() == 1) {
                topics.push_back(position.front().hex());
            } else {
                json any = json::array();
                for (const auto& t : position) any.push_back(t.hex());
                topics.push_back(std::move(any));
            }
        }
        out["topics"] = std::move(topics);
    }
    return out;
}

}  // namespace ferry::chains::evm

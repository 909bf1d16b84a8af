#include "relayer/api_methods.hpp"

#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"
#include "relayer/node_state.hpp"
#include "relayer/version.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::relayer {

using api::MethodResult;
using api::RequestContext;
using api::RpcMethodError;

using chains::Task;
using nlohmann::json;

namespace {

namespace evm = chains::evm;

constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kUnauthorized = -32001;
constexpr int kNotFound = -32004;

constexpr std::size_t kDefaultPageLimit = 100;
constexpr std::size_t kMaxPageLimit = 1000;
/// Live deliveries read to find those of one packet (the submitter keeps far fewer in flight).
constexpr std::size_t kMaxLiveDeliveries = 1024;
/// Bad values are echoed in errors up to this many characters.
constexpr std::size_t kMaxEcho = 80;
/// Cursor: "c1" + hex of (src, dst, nonce, seq), 8 big-endian bytes each.
constexpr std::string_view kCursorTag = "c1";
constexpr std::size_t kCursorBytes = 32;

using Keys = std::initializer_list<std::string_view>;

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
                                                         Keys positional = {}) {
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
std::string u256_decimal(const evm::U256& v) {
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

double u256_ether(const evm::U256& v) {
    long double x = 0;
    for (const auto byte : v.bytes) x = x * 256 + byte;
    return static_cast<double>(x / 1e18L);
}

json optional_u64(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }

json chain_json(const Node& node, const ChainRuntime& c, storage::UnixMillis now) {
    json j = {{"name", c.config->name}, {"chain_id", crypto::to_u64(c.config->chain_id)}};
    j["head"] = optional_u64(c.head);
    j["scanned_block"] = optional_u64(c.scanned_block);
    j["head_age_s"] =
        c.head_changed_at > 0
            ? json(static_cast<double>(std::max<storage::UnixMillis>(0, now - c.head_changed_at)) /
                   1000.0)
            : json(nullptr);
    j["reachable"] = c.reachable;
    j["last_error"] = c.last_error;
    json endpoints = json::array();
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    if (c.transport) {
        for (const auto& e : c.transport->endpoints()) {
            endpoints.push_back({{"name", e.name},
                                 {"demoted", e.demoted},
                                 {"head", optional_u64(e.head)},
                                 {"requests", e.requests},
                                 {"failures", e.failures},
                                 {"consecutive_failures", e.consecutive_failures},
                                 {"last_error", e.last_error}});
        }
        for (const auto& [method, m] : c.transport->metrics().methods) {
            requests += m.requests;
            errors += m.errors;
        }
    }
    j["endpoints"] = std::move(endpoints);
    j["rpc"] = {{"requests", requests}, {"errors", errors}};
    if (node.relayer_address) {
        json wallet = {{"address", node.relayer_address->hex()}};
        wallet["balance_wei"] =
            c.wallet_balance ? json(u256_decimal(*c.wallet_balance)) : json(nullptr);
        wallet["balance_eth"] =
            c.wallet_balance ? json(u256_ether(*c.wallet_balance)) : json(nullptr);
        j["wallet"] = std::move(wallet);
    } else {
        j["wallet"] = nullptr;
    }
    return j;
}

json chains_json(const Node& node) {
    json chains = json::array();
    const auto now = now_ms();
    for (const auto& [id, c] : node.chains) chains.push_back(chain_json(node, c, now));
    return chains;
}

/// Routes; nullopt when the queue cannot be read.
std::optional<json> routes_json(Node& node) {
    json routes = json::array();
    if (!node.queue) return routes;
    std::map<storage::Route, json> counts;
    std::map<storage::Route, std::uint64_t> pending;
    auto all = node.queue->counts();
    if (!all) return std::nullopt;
    for (const auto& c : *all) {
        counts[c.route][std::string(storage::to_string(c.state))] = c.count;
        if (storage::is_pending(c.state)) pending[c.route] += c.count;
    }
    std::map<storage::Route, storage::UnixMillis> oldest;
    auto ages = node.queue->oldest_pending();
    if (!ages) return std::nullopt;
    for (const auto& a : *ages) oldest[a.route] = a.oldest_created_at;
    const auto now = now_ms();
    for (const auto& r : node.config.routes) {
        const storage::Route route{r.src, r.dst};
        json j = {{"route", r.from + "->" + r.to},
                  {"from", r.from},
                  {"to", r.to},
                  {"src", crypto::to_u64(r.src)},
                  {"dst", crypto::to_u64(r.dst)},
                  {"ordered", r.ordered},
                  {"batch_size", r.batch_size}};
        j["counts"] = counts.count(route) ? counts[route] : json::object();
        j["pending"] = pending.count(route) ? pending[route] : 0;
        j["oldest_pending_s"] =
            oldest.count(route) ? json(std::max<storage::UnixMillis>(0, now - oldest[route]) / 1000)
                                : json(nullptr);
        const auto w = node.waiting.find(route);
        j["waiting"] = w == node.waiting.end() ? std::string() : w->second;
        routes.push_back(std::move(j));
    }
    return routes;
}

json counters_json(const Node& node) {
    const auto& k = node.counters;
    json refused = json::object();
    for (const auto& [reason, n] : k.attestations_refused) refused[reason] = n;
    return {{"packets_observed", k.packets_observed},
            {"packets_invalid", k.packets_invalid},
            {"reorgs", k.reorgs},
            {"gap_rescans", k.gap_rescans},
            {"attestations_accepted", k.attestations_accepted},
            {"attestations_refused", refused},
            {"attestations_signed", k.attestations_signed},
            {"txs_sent", k.txs_sent},
            {"txs_replaced", k.txs_replaced},
            {"txs_failed", k.txs_failed},
            {"txs_rebroadcast", k.txs_rebroadcast},
            {"deliveries_dropped", k.deliveries_dropped},
            {"deliveries_reverted", k.deliveries_reverted},
            {"packets_delivered", k.packets_delivered},
            {"packets_delivered_elsewhere", k.packets_delivered_elsewhere},
            {"replays_rejected", k.replays_rejected},
            {"equivocations_rejected", k.equivocations_rejected},
            {"gas_used", k.gas_used},
            {"latency_avg_ms", k.latency_count == 0 ? 0 : k.latency_sum_ms / k.latency_count}};
}

json api_stats_json(const Node& node) {
    if (!node.api) return nullptr;
    const auto& s = node.api->stats();
    return {{"http_requests", s.http_requests}, {"rpc_calls", s.rpc_calls},
            {"rpc_errors", s.rpc_errors},       {"rejected_connections", s.rejected_connections},
            {"bad_requests", s.bad_requests},   {"rate_limited", s.rate_limited}};
}

json packet_summary(const Node& node, const storage::PacketRecord& p) {
    return {{"id", p.id.hex()},
            {"route", route_label(node, p.route)},
            {"nonce", crypto::to_u64(p.nonce)},
            {"state", std::string(storage::to_string(p.state))},
            {"attempts", p.attempts},
            {"updated_at", p.updated_at},
            {"last_error", p.last_error}};
}

/// The admin bearer token, as its digest; read once when the methods are registered.
struct AdminToken {
    std::optional<crypto::Hash32> digest;

    /// Constant time in the token's content: both sides are hashed to 32 bytes first.
    bool matches(const std::string& given) const noexcept {
        if (!digest) return false;
        const auto other = crypto::keccak256(crypto::as_bytes(given));
        volatile std::uint8_t diff = 0;
        for (std::size_t i = 0; i < other.size(); ++i)
            diff = static_cast<std::uint8_t>(diff | (other[i] ^ (*digest)[i]));
        return diff == 0;
    }
};

std::optional<RpcMethodError> check_admin(const AdminToken& token, const RequestContext& ctx) {
    if (!token.digest) return RpcMethodError{kUnauthorized, "admin token not configured"};
    if (!ctx.bearer_token || !token.matches(*ctx.bearer_token))
        return RpcMethodError{kUnauthorized, "unauthorized"};
    return std::nullopt;
}

/// What the destination chain says about a delivery transaction: its receipt (reduced) and the
/// account nonce it used. Errors become `error` fields rather than failing the call.
Task<json> chain_receipt(ChainRuntime& dst, const crypto::Hash32& tx, const crypto::PacketId& id) {
    json out = {{"tx_hash", tx.hex()}, {"source", "chain"}};
    if (!dst.chain) {
        out["error"] = "no RPC client for the destination chain";
        co_return out;
    }
    auto receipt = co_await dst.chain->receipt(tx);
    if (!receipt) {
        out["error"] = "eth_getTransactionReceipt: " + describe(receipt.error());
        co_return out;
    }
    if (!*receipt) {
        out["error"] = "no receipt on chain (not mined, or reorged out)";
        co_return out;
    }
    const auto& r = **receipt;
    out["block"] = r.block_number;
    out["block_hash"] = r.block_hash.hex();
    out["status"] = r.success;
    out["gas_used"] = r.gas_used;
    out["effective_gas_price"] =
        r.effective_gas_price ? json(u256_decimal(*r.effective_gas_price)) : json(nullptr);
    json delivered = nullptr;
    json rejected = nullptr;
    const auto inbox = dst.config->inbox;
    for (const auto& log : r.logs) {
        if (!inbox || log.address != *inbox || log.topics.empty()) continue;
        if (log.topics[0] == evm::packet_delivered_topic()) {
            if (auto e = evm::decode_packet_delivered(log); e && e->id == id)
                delivered = {{"success", e->success}, {"log_index", log.log_index}};
        } else if (log.topics[0] == evm::packet_rejected_topic()) {
            if (auto e = evm::decode_packet_rejected(log); e && e->id == id)
                rejected = {{"reason", e->reason}, {"log_index", log.log_index}};
        }
    }
    out["packet_delivered"] = std::move(delivered);
    out["packet_rejected"] = std::move(rejected);
    if (auto nonce = co_await dst.chain->transaction_nonce(tx)) out["account_nonce"] = *nonce;
    co_return out;
}

/// The hash in "tx 0x<64 hex> ..." (how the queue words a failed delivery), if any.
std::optional<crypto::Hash32> tx_in_error(std::string_view error) {
    constexpr std::string_view kPrefix = "tx ";
    if (error.size() < kPrefix.size() + 66 || error.substr(0, kPrefix.size()) != kPrefix)
        return std::nullopt;
    auto hash = crypto::Hash32::from_hex(error.substr(kPrefix.size(), 66));
    if (!hash) return std::nullopt;
    return *hash;
}

Task<MethodResult> packet_method(Node& node, const json& params) {
    auto named = named_params("ferry_packet", params, {"id"}, {"id"});
    if (!named) co_return named.error();
    const auto it = named->find("id");
    if (it == named->end()) co_return invalid("id", "params.id is required (a packet id)");
    auto id = parse_id(*it);
    if (!id) co_return id.error();
    if (!node.queue) co_return RpcMethodError{kNotFound, "this node has no relayer queue"};
    auto found = node.queue->packet(*id);
    if (!found) co_return internal("reading packet from the queue failed");
    if (!*found)
        co_return RpcMethodError{kNotFound, "packet " + id->hex() + " not found",
                                 json{{"id", id->hex()}}};
    const storage::PacketRecord p = **found;
    json j = packet_summary(node, p);
    j["src"] = crypto::to_u64(p.route.src);
    j["dst"] = crypto::to_u64(p.route.dst);
    j["sender"] = p.sender.hex();
    j["recipient"] = p.recipient.hex();
    j["expiry"] = p.expiry;
    j["source_block"] = p.source_block;
    j["created_at"] = p.created_at;
    j["next_attempt_at"] = p.next_attempt_at ? json(*p.next_attempt_at) : json(nullptr);
    j["pruned"] = p.pruned;
    j["body_bytes"] = p.pruned || p.encoded.size() < evm::kPacketHeaderSize
                          ? json(nullptr)
                          : json(p.encoded.size() - evm::kPacketHeaderSize);
    j["delivered_success"] = p.delivered_success ? json(*p.delivered_success) : json(nullptr);

    json attestations = json::array();
    auto sigs = node.queue->attestations(p.id);
    if (!sigs) co_return internal("reading attestations from the queue failed");
    for (const auto& a : *sigs)
        attestations.push_back(
            {{"validator", a.validator.hex()}, {"signature", a.signature.hex()}});
    j["attestations"] = std::move(attestations);

    json deliveries = json::array();
    auto live = node.queue->pending_deliveries(p.route.dst, kMaxLiveDeliveries);
    if (!live) co_return internal("reading deliveries from the queue failed");
    bool listed_tx = false;
    for (const auto& d : *live) {
        if (std::find(d.packets.begin(), d.packets.end(), p.id) == d.packets.end()) continue;
        json replaced = json::array();
        for (const auto& h : d.replaced) replaced.push_back(h.hex());
        deliveries.push_back({{"tx_hash", d.tx_hash.hex()},
                              {"state", "live"},
                              {"account", d.account.hex()},
                              {"account_nonce", d.account_nonce},
                              {"block", nullptr},
                              {"max_fee_per_gas", d.max_fee_per_gas},
                              {"max_priority_fee_per_gas", d.max_priority_fee_per_gas},
                              {"gas_limit", d.gas_limit},
                              {"packets", d.packets.size()},
                              {"created_at", d.created_at},
                              {"replaced", std::move(replaced)}});
        if (p.delivery_tx && d.tx_hash == *p.delivery_tx) listed_tx = true;
    }
    // The transaction to show the receipt of: the packet's delivery, or for a failed or dead
    // packet the mined transaction its last error names (the queue keeps no delivery history
    // per packet; the receipt tells why the Inbox refused it).
    std::optional<crypto::Hash32> tx = p.delivery_tx;
    if (!tx && (p.state == storage::PacketState::failed || p.state == storage::PacketState::dead))
        tx = tx_in_error(p.last_error);
    json receipt = nullptr;
    if (tx && !listed_tx) {
        const auto chain = node.chains.find(p.route.dst);
        if (chain != node.chains.end()) {
            receipt = co_await chain_receipt(chain->second, *tx, p.id);
        } else {
            receipt = {{"tx_hash", tx->hex()},
                       {"source", "queue"},
                       {"error", "the destination chain is not configured"}};
        }
        json d = {{"tx_hash", tx->hex()},
                  {"state", receipt.contains("block") ? "mined" : "unknown"},
                  {"account_nonce", receipt.value("account_nonce", json(nullptr))},
                  {"block", receipt.value("block", json(nullptr))}};
        deliveries.push_back(std::move(d));
    }
    j["deliveries"] = std::move(deliveries);
    j["receipt"] = std::move(receipt);
    co_return j;
}

MethodResult packets_method(Node& node, const json& params) {
    auto named = named_params("ferry_packets", params, {"state", "route", "limit", "cursor"});
    if (!named) return named.error();
    storage::PacketFilter filter;
    filter.limit = kDefaultPageLimit;
    if (const auto it = named->find("state"); it != named->end() && !it->is_null()) {
        auto s = parse_state(*it);
        if (!s) return s.error();
        filter.state = *s;
    }
    if (const auto it = named->find("route"); it != named->end() && !it->is_null()) {
        auto r = parse_route(node, *it);
        if (!r) return r.error();
        filter.route = *r;
    }
    if (const auto it = named->find("limit"); it != named->end() && !it->is_null()) {
        const std::string expected =
            "params.limit must be an integer from 1 to " + std::to_string(kMaxPageLimit);
        if (!it->is_number_integer()) return invalid("limit", expected + ", got " + shown(*it));
        const auto n = it->get<std::int64_t>();
        if (n < 1 || n > static_cast<std::int64_t>(kMaxPageLimit))
            return invalid("limit", expected + ", got " + shown(*it));
        filter.limit = static_cast<std::size_t>(n);
    }
    if (const auto it = named->find("cursor"); it != named->end() && !it->is_null()) {
        auto c = parse_cursor(*it);
        if (!c) return c.error();
        filter.after = *c;
    }
    if (!node.queue) return json{{"packets", json::array()}, {"next_cursor", nullptr}};
    auto page = node.queue->list_packets(filter);
    if (!page) return internal("listing packets from the queue failed");
    json packets = json::array();
    for (const auto& p : page->packets) packets.push_back(packet_summary(node, p));
    return json{{"packets", std::move(packets)},
                {"next_cursor", page->next ? json(encode_cursor(*page->next)) : json(nullptr)}};
}

MethodResult retry_method(Node& node, const AdminToken& token, const json& params,
                          const RequestContext& ctx) {
    if (auto denied = check_admin(token, ctx)) return *denied;
    auto named = named_params("ferry_retry", params, {"id", "route", "dead"}, {"id"});
    if (!named) return named.error();
    const auto id_it = named->find("id");
    const auto route_it = named->find("route");
    const auto dead_it = named->find("dead");
    const bool by_id = id_it != named->end();
    const bool by_route = route_it != named->end() || dead_it != named->end();
    if (by_id == by_route)
        return invalid("params",
                       "ferry_retry takes {id} or {route, dead: true}, got " + shown(params));
    if (!node.queue) return RpcMethodError{kNotFound, "this node has no relayer queue"};
    const auto now = now_ms();
    const auto wake = [&node](crypto::ChainId dst) {
        if (auto s = node.submitter_of.find(dst); s != node.submitter_of.end()) s->second->notify();
    };
    if (by_id) {
        auto id = parse_id(*id_it);
        if (!id) return id.error();
        auto found = node.queue->packet(*id);
        if (!found) return internal("reading packet from the queue failed");
        if (!*found)
            return RpcMethodError{kNotFound, "packet " + id->hex() + " not found",
                                  json{{"id", id->hex()}}};
        const auto state = (*found)->state;
        if (state != storage::PacketState::dead && state != storage::PacketState::failed)
            return invalid("id", "packet " + id->hex() + " is " +
                                     std::string(storage::to_string(state)) +
                                     "; only dead or failed packets can be retried");
        if (!node.queue->retry_packet(*id, now)) return internal("retrying the packet failed");
        spdlog::info("api: ferry_retry from {}: packet {} ({} nonce {}) {} -> attested", ctx.remote,
                     id->hex(), route_label(node, (*found)->route), crypto::to_u64((*found)->nonce),
                     storage::to_string(state));
        wake((*found)->route.dst);
        return json{{"retried", 1}};
    }
    if (route_it == named->end())
        return invalid("route", "params.route is required with dead: true");
    if (dead_it == named->end() || !dead_it->is_boolean() || !dead_it->get<bool>())
        return invalid("dead",
                       "params.dead must be true (only dead packets of a route are "
                       "retried), got " +
                           (dead_it == named->end() ? std::string("nothing") : shown(*dead_it)));
    auto route = parse_route(node, *route_it);
    if (!route) return route.error();
    auto n = node.queue->retry_dead(*route, now);
    if (!n) return internal("retrying the route's dead packets failed");
    spdlog::info("api: ferry_retry from {}: {} dead packets of {} -> attested", ctx.remote, *n,
                 route_label(node, *route));
    if (*n > 0) wake(route->dst);
    return json{{"retried", *n}};
}

}  // namespace

json status_json(Node& node) {
    json roles = json::array();
    if (node.config.relayer) roles.push_back("relayer");
    if (node.config.validator) roles.push_back("validator");
    auto routes = routes_json(node);
    return {{"version", std::string(version())},
            {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now() - node.started)
                             .count()},
            {"roles", roles},
            {"relayer_address",
             node.relayer_address ? json(node.relayer_address->hex()) : json(nullptr)},
            {"validator_address",
             node.validator_address ? json(node.validator_address->hex()) : json(nullptr)},
            {"chains", chains_json(node)},
            {"routes", routes ? std::move(*routes) : json::array()},
            {"queue_error", routes ? json(nullptr) : json("reading the queue failed")},
            {"counters", counters_json(node)},
            {"api", api_stats_json(node)}};
}

void register_api_methods(Node& node) {
    auto token = std::make_shared<AdminToken>();
    if (const auto& name = node.config.api.admin_token_env; !name.empty()) {
        // Read once; only its digest is kept, and neither is ever logged.
        if (const char* value = std::getenv(name.c_str()); value != nullptr && *value != '\0')
            token->digest = crypto::keccak256(crypto::as_bytes(std::string_view(value)));
    }
    if (!token->digest)
        spdlog::info(
            "api: no admin token (environment variable '{}' unset or empty): "
            "ferry_retry is disabled",
            node.config.api.admin_token_env);

    auto api = node.api.get();
    api->add_method("ferry_status",
                    [&node](const json& params, const RequestContext&) -> Task<MethodResult> {
                        auto named = named_params("ferry_status", params, {});
                        if (!named) co_return named.error();
                        co_return status_json(node);
                    });
    api->add_method("ferry_chains",
                    [&node](const json& params, const RequestContext&) -> Task<MethodResult> {
                        auto named = named_params("ferry_chains", params, {});
                        if (!named) co_return named.error();
                        co_return chains_json(node);
                    });
    api->add_method("ferry_routes",
                    [&node](const json& params, const RequestContext&) -> Task<MethodResult> {
                        auto named = named_params("ferry_routes", params, {});
                        if (!named) co_return named.error();
                        auto routes = routes_json(node);
                        if (!routes) co_return internal("reading the queue failed");
                        co_return std::move(*routes);
                    });
    api->add_method("ferry_packet",
                    [&node](const json& params, const RequestContext&) -> Task<MethodResult> {
                        co_return co_await packet_method(node, params);
                    });
    api->add_method("ferry_packets",
                    [&node](const json& params, const RequestContext&) -> Task<MethodResult> {
                        co_return packets_method(node, params);
                    });
    api->add_method(
        "ferry_retry",
        [&node, token](const json& params, const RequestContext& ctx) -> Task<MethodResult> {
            co_return retry_method(node, *token, params, ctx);
        });
}

}  // namespace ferry::relayer

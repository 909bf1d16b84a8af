#include "relayer/api_packets.hpp"

#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "relayer/api_params.hpp"

#include <algorithm>
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
using namespace api_detail;

json packet_summary(const Node& node, const storage::PacketRecord& p) {
    return {{"id", p.id.hex()},
            {"route", route_label(node, p.route)},
            {"nonce", crypto::to_u64(p.nonce)},
            {"state", std::string(storage::to_string(p.state))},
            {"attempts", p.attempts},
            {"updated_at", p.updated_at},
            {"last_error", p.last_error}};
}

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

/// Appends the live deliveries holding `p` to `out`; whether one is the packet's delivery tx.
std::optional<bool> live_deliveries_of(Node& node, const storage::PacketRecord& p, json& out) {
    auto live = node.queue->pending_deliveries(p.route.dst, kMaxLiveDeliveries);
    if (!live) return std::nullopt;
    bool listed_tx = false;
    for (const auto& d : *live) {
        if (std::find(d.packets.begin(), d.packets.end(), p.id) == d.packets.end()) continue;
        json replaced = json::array();
        for (const auto& h : d.replaced) replaced.push_back(h.hex());
        out.push_back({{"tx_hash", d.tx_hash.hex()},
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
    return listed_tx;
}

/// The mined delivery of `p` read from the chain, when no live delivery showed it: appended to
/// `deliveries`, its receipt put in `j["receipt"]`.
Task<void> add_mined_delivery(Node& node, const storage::PacketRecord& p, bool listed_tx,
                              json& deliveries, json& j) {
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
    j["receipt"] = std::move(receipt);
}

}  // namespace

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
    auto listed_tx = live_deliveries_of(node, p, deliveries);
    if (!listed_tx) co_return internal("reading deliveries from the queue failed");
    co_await add_mined_delivery(node, p, *listed_tx, deliveries, j);
    j["deliveries"] = std::move(deliveries);
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

}  // namespace ferry::relayer

#include "relayer/api_methods.hpp"

#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"
#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"
#include "relayer/api_packets.hpp"
#include "relayer/api_params.hpp"
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

using namespace api_detail;

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
                                 {"wrong_chain", e.wrong_chain},
                                 {"head", optional_u64(e.head)},
                                 {"requests", e.requests},
                                 {"failures", e.failures},
                                 {"consecutive_failures", e.consecutive_failures},
                                 {"last_error", e.last_error}});
        }
        if (c.quorum) {
            json members = json::array();
            for (const auto& member : c.quorum->members())
                members.push_back({{"name", member.name},
                                   {"disagreements", member.disagreements},
                                   {"last_disagreement", member.last_disagreement}});
            j["quorum"] = {{"k", c.quorum->quorum()}, {"members", std::move(members)}};
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
            {"txs_reverted", k.txs_reverted},
            {"nonce_conflicts", k.nonce_conflicts},
            {"deliveries_dropped", k.deliveries_dropped},
            {"deliveries_reverted", k.deliveries_reverted},
            {"packets_delivered", k.packets_delivered},
            {"packets_delivered_elsewhere", k.packets_delivered_elsewhere},
            {"replays_rejected", k.replays_rejected},
            {"equivocations_rejected", k.equivocations_rejected},
            {"packets_pruned", k.packets_pruned},
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

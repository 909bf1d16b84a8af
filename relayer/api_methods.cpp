#include "relayer/api_methods.hpp"

#include "relayer/node_state.hpp"
#include "relayer/version.hpp"

namespace ferry::relayer {

using chains::Task;
using nlohmann::json;

json status_json(Node& node) {
    json chains = json::array();
    for (const auto& [id, c] : node.chains) {
        json j = {{"name", c.config->name}, {"chain_id", crypto::to_u64(id)}};
        j["head"] = c.head ? json(*c.head) : json(nullptr);
        j["scanned_block"] = c.scanned_block ? json(*c.scanned_block) : json(nullptr);
        j["last_error"] = c.last_error;
        chains.push_back(std::move(j));
    }
    json routes = json::array();
    if (node.queue) {
        std::map<storage::Route, json> counts;
        if (auto all = node.queue->counts())
            for (const auto& c : *all)
                counts[c.route][std::string(storage::to_string(c.state))] = c.count;
        std::map<storage::Route, storage::UnixMillis> oldest;
        if (auto ages = node.queue->oldest_pending())
            for (const auto& a : *ages) oldest[a.route] = a.oldest_created_at;
        const auto now = now_ms();
        for (const auto& r : node.config.routes) {
            const storage::Route route{r.src, r.dst};
            json j = {{"route", r.from + "->" + r.to},
                      {"src", crypto::to_u64(r.src)},
                      {"dst", crypto::to_u64(r.dst)}};
            j["counts"] = counts.count(route) ? counts[route] : json::object();
            j["oldest_pending_s"] =
                oldest.count(route) ? json((now - oldest[route]) / 1000) : json(nullptr);
            const auto w = node.waiting.find(route);
            j["waiting"] = w == node.waiting.end() ? std::string() : w->second;
            routes.push_back(std::move(j));
        }
    }
    json roles = json::array();
    if (node.config.relayer) roles.push_back("relayer");
    if (node.config.validator) roles.push_back("validator");
    const auto& k = node.counters;
    json refused = json::object();
    for (const auto& [reason, n] : k.attestations_refused) refused[reason] = n;
    json counters = {
        {"packets_observed", k.packets_observed},
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
        {"gas_used", k.gas_used},
        {"latency_avg_ms", k.latency_count == 0 ? 0 : k.latency_sum_ms / k.latency_count}};
    return {{"version", std::string(version())},
            {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now() - node.started)
                             .count()},
            {"roles", roles},
            {"chains", chains},
            {"routes", routes},
            {"counters", counters}};
}

void register_api_methods(Node& node) {
    node.api->add_method("ferry_status",
                         [&node](const json&, const RequestContext&) -> Task<MethodResult> {
                             co_return status_json(node);
                         });
}

}  // namespace ferry::relayer

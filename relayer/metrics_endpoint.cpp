#include "relayer/metrics_endpoint.hpp"

#include "api/metrics.hpp"
#include "relayer/node_state.hpp"
#include "relayer/version.hpp"
#include "storage/sqlite.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace ferry::relayer {

using api::ApiServerStats;
using api::HttpReply;
using api::MetricLabels;
using api::MetricType;
using api::PrometheusWriter;
using api::RequestContext;

using chains::Task;
using storage::PacketState;

namespace {

using M = MetricType;

double to_double(const chains::evm::U256& v) noexcept {
    double out = 0;
    for (auto b : v.bytes) out = out * 256.0 + static_cast<double>(b);
    return out;
}

double seconds(storage::UnixMillis ms) noexcept { return static_cast<double>(ms) / 1000.0; }

/// "alpha" for a configured chain, its number otherwise (a route left in the queue by an older
/// config).
std::string chain_name(const Config& config, crypto::ChainId id) {
    if (const auto* c = config.find_chain(id)) return c->name;
    return std::to_string(crypto::to_u64(id));
}

std::string route_label(const Config& config, const storage::Route& r) {
    return chain_name(config, r.src) + "->" + chain_name(config, r.dst);
}

/// The chains the node watches for /health and the chain gauges: the monitors' chains.
std::vector<const ChainMonitor*> monitored(const Node& node) {
    std::vector<const ChainMonitor*> out;
    for (const auto& m : node.monitors) out.push_back(m.get());
    return out;
}

void write_build(PrometheusWriter& w, const Node& node, storage::UnixMillis now) {
    w.declare("ferry_build_info", M::gauge, "Build of this ferry binary; always 1.");
    w.sample("ferry_build_info", {{"version", std::string(version())}}, std::uint64_t{1});
    const auto up = std::chrono::duration<double>(std::chrono::steady_clock::now() - node.started);
    w.declare("ferry_uptime_seconds", M::gauge, "Seconds since the node started.");
    w.sample("ferry_uptime_seconds", {}, up.count());
    w.declare("ferry_start_time_seconds", M::gauge,
              "When the node started, in seconds since the Unix epoch.");
    w.sample("ferry_start_time_seconds", {}, std::floor(seconds(now) - up.count()));
    w.declare("ferry_sqlite_memory_bytes", M::gauge,
              "Heap bytes SQLite holds in this process (page caches, statements, schemas).");
    w.sample("ferry_sqlite_memory_bytes", {},
             static_cast<std::uint64_t>(std::max<std::int64_t>(0, storage::sqlite_memory_used())));
    w.declare("ferry_sqlite_memory_highwater_bytes", M::gauge,
              "The most heap bytes SQLite has held in this process since it started.");
    w.sample(
        "ferry_sqlite_memory_highwater_bytes", {},
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, storage::sqlite_memory_highwater())));
}

void write_queue(PrometheusWriter& w, const Node& node, storage::UnixMillis now) {
    if (!node.queue) return;
    const Config& config = node.config;
    auto counts = node.queue->counts();
    auto oldest = node.queue->oldest_pending();
    if (!counts || !oldest) {
        spdlog::warn("metrics: reading the queue: {}", node.queue->last_error());
        return;
    }
    // Every state of every configured route, 0 when empty, plus routes only the queue knows.
    std::map<storage::Route, std::array<std::uint64_t, storage::kPacketStateCount>> by_route;
    for (const auto& r : config.routes) by_route[{r.src, r.dst}] = {};
    for (const auto& c : *counts) by_route[c.route][static_cast<std::size_t>(c.state)] = c.count;
    std::map<storage::Route, storage::UnixMillis> oldest_of;
    for (const auto& o : *oldest) oldest_of[o.route] = o.oldest_created_at;

    w.declare("ferry_packets", M::gauge, "Packets in the relayer's queue by route and state.");
    w.declare("ferry_queue_depth", M::gauge,
              "Packets still on their way (observed, attested, submitted or failed) by route.");
    w.declare("ferry_oldest_pending_age_seconds", M::gauge,
              "Age of the route's oldest packet still on its way; 0 when there is none.");
    w.declare("ferry_route_waiting", M::gauge,
              "1 when the route's packets wait on something outside the node (validators, "
              "funds, the chain; ferry_status says what), else 0.");
    for (const auto& [route, states] : by_route) {
        const std::string name = route_label(config, route);
        std::uint64_t depth = 0;
        for (std::size_t i = 0; i < storage::kPacketStateCount; ++i) {
            const auto state = static_cast<PacketState>(i);
            w.sample("ferry_packets", {{"route", name}, {"state", std::string(to_string(state))}},
                     states[i]);
            if (storage::is_pending(state)) depth += states[i];
        }
        w.sample("ferry_queue_depth", {{"route", name}}, depth);
        double age = 0;
        if (auto it = oldest_of.find(route); it != oldest_of.end())
            age = seconds(std::max<storage::UnixMillis>(0, now - it->second));
        w.sample("ferry_oldest_pending_age_seconds", {{"route", name}}, age);
        auto waiting = node.waiting.find(route);
        const bool is_waiting = waiting != node.waiting.end() && !waiting->second.empty();
        w.sample("ferry_route_waiting", {{"route", name}}, std::uint64_t{is_waiting ? 1u : 0u});
    }
}

void write_counters(PrometheusWriter& w, const Node& node) {
    const NodeCounters& c = node.counters;
    auto counter = [&w](const char* name, const char* help, std::uint64_t v) {
        w.declare(name, M::counter, help);
        w.sample(name, {}, v);
    };
    counter("ferry_packets_observed_total",
            "Packets the watchers stored as observed (PacketSent logs at the required "
            "confirmations).",
            c.packets_observed);
    counter("ferry_packets_invalid_total",
            "PacketSent logs refused by the watchers (malformed, oversized, wrong source chain).",
            c.packets_invalid);
    counter("ferry_packets_delivered_total",
            "Packets whose PacketDelivered receipt the relayer recorded.", c.packets_delivered);
    counter("ferry_packets_delivered_elsewhere_total",
            "Packets found already delivered on the destination (by another relayer or an "
            "earlier transaction).",
            c.packets_delivered_elsewhere);
    counter("ferry_replays_rejected_total",
            "PacketSent logs seen again for a packet id already in the queue; ignored.",
            c.replays_rejected);
    counter("ferry_equivocations_rejected_total",
            "Packets rejected because another packet holds the same route and nonce.",
            c.equivocations_rejected);
    counter("ferry_reorgs_total", "Reorgs the watchers found below their cursor.", c.reorgs);
    counter("ferry_gap_rescans_total", "Rescans started by a nonce gap on a route.", c.gap_rescans);

    if (node.queue) {
        counter("ferry_attestations_accepted_total",
                "Validator signatures fetched and accepted by the attestors.",
                c.attestations_accepted);
        w.declare("ferry_attestations_refused_total", M::counter,
                  "Validator answers or signatures the attestors refused, by reason.");
        auto refused = c.attestations_refused;
        for (const char* reason : {"malformed", "invalid_signature", "wrong_signer", "unreachable"})
            refused.try_emplace(reason, 0);
        for (const auto& [reason, n] : refused)
            w.sample("ferry_attestations_refused_total", {{"reason", reason}}, n);
    }
    if (node.validator)
        counter("ferry_attestations_signed_total", "Packets this node signed as a validator.",
                c.attestations_signed);

    if (!node.queue) return;
    counter("ferry_transactions_sent_total", "Delivery transactions sent.", c.txs_sent);
    counter("ferry_transactions_replaced_total",
            "Delivery transactions replaced by a higher fee (same account nonce).", c.txs_replaced);
    counter("ferry_transactions_failed_total",
            "Delivery transactions refused by the node or mined reverted.", c.txs_failed);
    w.declare("ferry_transactions_reverted_total", M::counter,
              "Delivery transactions mined reverted, by the reason replayed from the chain.");
    for (const auto& [reason, n] : c.txs_reverted)
        w.sample("ferry_transactions_reverted_total", {{"reason", reason}}, n);
    counter("ferry_nonce_conflicts_total",
            "New delivery transactions whose account nonce the chain had already used.",
            c.nonce_conflicts);
    counter("ferry_transactions_rebroadcast_total",
            "Delivery transactions sent again because the node no longer knew them.",
            c.txs_rebroadcast);
    counter("ferry_deliveries_dropped_total",
            "Delivery transactions that left the mempool; their packets were requeued.",
            c.deliveries_dropped);
    counter("ferry_deliveries_reverted_total",
            "Mined deliveries reorged out before the destination confirmations.",
            c.deliveries_reverted);
    counter("ferry_gas_used_total", "Gas used by mined delivery transactions.", c.gas_used);
    counter("ferry_packets_pruned_total",
            "Delivered packets whose bytes and signatures the pruner removed after the retention.",
            c.packets_pruned);

    std::array<double, kLatencyBucketBoundsMs.size()> bounds{};
    for (std::size_t i = 0; i < bounds.size(); ++i)
        bounds[i] = static_cast<double>(kLatencyBucketBoundsMs[i]) / 1000.0;
    w.declare("ferry_delivery_latency_seconds", M::histogram,
              "Time from a packet entering the queue (its source block seen at the required "
              "confirmations) to its destination receipt being recorded.");
    w.histogram("ferry_delivery_latency_seconds", {}, bounds, c.latency_buckets,
                static_cast<double>(c.latency_sum_ms) / 1000.0);
}

void write_chains(PrometheusWriter& w, const Node& node, storage::UnixMillis now) {
    w.declare("ferry_chain_reachable", M::gauge,
              "1 when the chain's last head poll (eth_blockNumber) was answered, else 0.");
    w.declare("ferry_chain_head", M::gauge, "Newest block number seen on the chain.");
    w.declare("ferry_chain_head_age_seconds", M::gauge,
              "Seconds since the chain's head last changed.");
    w.declare("ferry_chain_scanned_block", M::gauge,
              "Block up to which the watcher has scanned the chain's Outbox.");
    w.declare("ferry_wallet_balance_wei", M::gauge,
              "Balance of the relayer account on the chain, in wei (as a float).");
    w.declare("ferry_wallet_balance_eth", M::gauge,
              "Balance of the relayer account on the chain, in ether (wei / 1e18).");
    for (const auto* m : monitored(node)) {
        const ChainRuntime& c = m->chain();
        const MetricLabels chain{{"chain", c.config->name}};
        w.sample("ferry_chain_reachable", chain, std::uint64_t{c.reachable ? 1u : 0u});
        if (c.head) w.sample("ferry_chain_head", chain, *c.head);
        if (c.head_changed_at > 0)
            w.sample("ferry_chain_head_age_seconds", chain,
                     seconds(std::max<storage::UnixMillis>(0, now - c.head_changed_at)));
        if (c.scanned_block) w.sample("ferry_chain_scanned_block", chain, *c.scanned_block);
        if (c.wallet_balance && node.relayer_address) {
            const MetricLabels labels{{"chain", c.config->name},
                                      {"address", node.relayer_address->hex()}};
            const double wei = to_double(*c.wallet_balance);
            w.sample("ferry_wallet_balance_wei", labels, wei);
            w.sample("ferry_wallet_balance_eth", labels, wei / 1e18);
        }
    }
}

/// The families write_rpc() samples.
void declare_rpc(PrometheusWriter& w) {
    w.declare("ferry_rpc_requests_total", M::counter,
              "JSON-RPC requests to the chain's endpoints by method (one per HTTP attempt; a "
              "batch counts as \"batch\").");
    w.declare("ferry_rpc_errors_total", M::counter,
              "JSON-RPC requests that failed (transport, HTTP, JSON-RPC error or bad answer).");
    w.declare("ferry_rpc_request_seconds_total", M::counter,
              "Time spent in JSON-RPC requests by chain and method; divide by "
              "ferry_rpc_requests_total for the mean latency.");
    w.declare("ferry_rpc_malformed_responses_total", M::counter,
              "Answers that were not valid JSON-RPC or had the wrong shape.");
    w.declare("ferry_rpc_fallbacks_total", M::counter,
              "Requests that moved on to the next endpoint.");
    w.declare("ferry_rpc_log_range_splits_total", M::counter,
              "eth_getLogs ranges halved because the node refused them.");
    w.declare("ferry_rpc_endpoint_demoted", M::gauge,
              "1 when the endpoint is demoted (failing or lagging), else 0.");
    w.declare("ferry_rpc_quorum_disagreements_total", M::counter,
              "Heads, block hashes or logs an endpoint reported (or left out) against the "
              "quorum of the chain's endpoints (chains with quorum > 1).");
    w.declare("ferry_rpc_endpoint_wrong_chain", M::gauge,
              "1 when the endpoint's last connection was refused because it serves another "
              "chain id than the config's, else 0.");
}

void write_rpc(PrometheusWriter& w, const Node& node) {
    // The relayer's and the validator role's clients of one chain add up under its name.
    struct Sum {
        std::uint64_t requests = 0;
        std::uint64_t errors = 0;
        std::chrono::nanoseconds latency{0};
    };
    std::map<std::pair<std::string, std::string>, Sum> methods;
    struct ChainSum {
        std::uint64_t malformed = 0;
        std::uint64_t fallbacks = 0;
        std::uint64_t splits = 0;
    };
    std::map<std::string, ChainSum> per_chain;
    std::set<std::tuple<std::string, std::string>> demoted_seen;
    declare_rpc(w);
    auto add = [&](const std::map<crypto::ChainId, ChainRuntime>& runtimes) {
        for (const auto& [id, rt] : runtimes) {
            if (!rt.transport) continue;
            const std::string& name = rt.config->name;
            const auto& m = rt.transport->metrics();
            for (const auto& [method, mc] : m.methods) {
                auto& s = methods[{name, method}];
                s.requests += mc.requests;
                s.errors += mc.errors;
                s.latency += mc.latency_sum;
            }
            auto& cs = per_chain[name];
            cs.malformed += m.malformed_responses;
            cs.fallbacks += m.fallbacks;
            cs.splits += m.log_range_splits;
            if (rt.quorum)
                for (const auto& member : rt.quorum->members())
                    w.sample("ferry_rpc_quorum_disagreements_total",
                             {{"chain", name}, {"endpoint", member.name}}, member.disagreements);
            for (const auto& e : rt.transport->endpoints()) {
                if (!demoted_seen.emplace(name, e.name).second) continue;
                w.sample("ferry_rpc_endpoint_demoted", {{"chain", name}, {"endpoint", e.name}},
                         std::uint64_t{e.demoted ? 1u : 0u});
                w.sample("ferry_rpc_endpoint_wrong_chain", {{"chain", name}, {"endpoint", e.name}},
                         std::uint64_t{e.wrong_chain ? 1u : 0u});
            }
        }
    };
    add(node.chains);
    add(node.validator_chain);
    for (const auto& [key, s] : methods) {
        const MetricLabels labels{{"chain", key.first}, {"method", key.second}};
        w.sample("ferry_rpc_requests_total", labels, s.requests);
        w.sample("ferry_rpc_errors_total", labels, s.errors);
        w.sample("ferry_rpc_request_seconds_total", labels,
                 std::chrono::duration<double>(s.latency).count());
    }
    for (const auto& [name, s] : per_chain) {
        const MetricLabels labels{{"chain", name}};
        w.sample("ferry_rpc_malformed_responses_total", labels, s.malformed);
        w.sample("ferry_rpc_fallbacks_total", labels, s.fallbacks);
        w.sample("ferry_rpc_log_range_splits_total", labels, s.splits);
    }
}

void write_api(PrometheusWriter& w, const Node& node) {
    if (!node.api) return;
    const ApiServerStats& s = node.api->stats();
    auto counter = [&w](const char* name, const char* help, std::uint64_t v) {
        w.declare(name, M::counter, help);
        w.sample(name, {}, v);
    };
    counter("ferry_api_http_requests_total", "HTTP requests the API server read in full.",
            s.http_requests);
    counter("ferry_api_rpc_calls_total",
            "JSON-RPC calls the API server handled (batch entries "
            "count one each).",
            s.rpc_calls);
    w.declare("ferry_api_rpc_errors_total", M::counter,
              "JSON-RPC error answers of the API server by error code.");
    for (const auto& [code, n] : s.errors_by_code)
        w.sample("ferry_api_rpc_errors_total", {{"code", std::to_string(code)}}, n);
    counter("ferry_api_rejected_connections_total",
            "Connections closed at accept because the connection limit was reached.",
            s.rejected_connections);
    counter("ferry_api_bad_requests_total", "HTTP requests answered 400, 405, 413 or 431.",
            s.bad_requests);
}

}  // namespace

std::string render_metrics(const Node& node) {
    const auto now = now_ms();
    PrometheusWriter w;
    write_build(w, node, now);
    write_queue(w, node, now);
    write_counters(w, node);
    write_chains(w, node, now);
    write_rpc(w, node);
    write_api(w, node);
    return w.text();
}

std::chrono::milliseconds head_stall_bound(std::uint64_t poll_interval_ms) noexcept {
    constexpr std::uint64_t kFloorMs = 60'000;
    constexpr std::uint64_t kCapMs = std::numeric_limits<std::uint32_t>::max();  // ~50 days
    const std::uint64_t poll = std::min(poll_interval_ms, kCapMs);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(kFloorMs, 20 * poll)));
}

std::string chain_health_problem(std::string_view name, bool polled, bool reachable,
                                 std::string_view error, std::optional<std::uint64_t> head,
                                 storage::UnixMillis head_changed_at, storage::UnixMillis now,
                                 std::chrono::milliseconds bound) {
    const std::string chain = "chain " + std::string(name) + ": ";
    if (!polled) return chain + "unreachable: no head poll has finished yet";
    if (!reachable) return chain + "unreachable: " + std::string(error);
    const storage::UnixMillis still = now - head_changed_at;
    if (still <= bound.count()) return {};
    return chain + "head " + (head ? std::to_string(*head) : std::string("?")) +
           " has not moved for " + std::to_string(still / 1000) + " s";
}

void register_metrics_endpoints(Node& node) {
    node.api->add_get("/metrics", [&node](const RequestContext&) -> Task<HttpReply> {
        co_return HttpReply{200, std::string(kMetricsContentType), render_metrics(node)};
    });
    node.api->add_get("/health", [&node](const RequestContext&) -> Task<HttpReply> {
        const auto now = now_ms();
        std::string problems;
        for (const auto* m : monitored(node)) {
            const ChainRuntime& c = m->chain();
            auto p = chain_health_problem(c.config->name, m->polled(), c.reachable, m->last_error(),
                                          c.head, c.head_changed_at, now,
                                          head_stall_bound(c.config->poll_interval_ms));
            if (!p.empty()) problems += p + '\n';
            if (c.transport)
                for (const auto& e : c.transport->endpoints())
                    if (e.wrong_chain)
                        problems += "chain " + c.config->name + ": endpoint " + e.name +
                                    " refused: " + e.last_error + '\n';
        }
        if (node.monitors.empty()) problems = "no chain is monitored\n";
        if (problems.empty()) co_return HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
        co_return HttpReply{503, "text/plain; charset=utf-8", std::move(problems)};
    });
}

}  // namespace ferry::relayer

#include "relayer/node.hpp"

#include "relayer/api_server.hpp"
#include "relayer/attestor.hpp"
#include "relayer/cli_common.hpp"
#include "relayer/config.hpp"
#include "relayer/runtime.hpp"
#include "relayer/submitter.hpp"
#include "relayer/validator.hpp"
#include "relayer/version.hpp"
#include "relayer/watcher.hpp"
#include "storage/sqlite_queue.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;
using nlohmann::json;

CLI::App* add_start_command(CLI::App& app, StartOptions& options) {
    auto* cmd =
        app.add_subcommand("start", "Run the node (relayer and/or validator) from a config");
    cmd->add_option("-c,--config", options.config, "Config file (JSON, comments allowed)")
        ->required();
    cmd->add_option("--log-level", options.log_level, "trace, debug, info, warn or error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    cmd->footer(
        "Keys come from the environment variable or keystore file the config names; they are "
        "never printed. The API listens on api.listen (port 0 picks a free port; the chosen "
        "address is printed as 'ferry: listening on HOST:PORT'). SIGINT or SIGTERM stops the "
        "node cleanly.");
    return cmd;
}

namespace {

KeyOptions key_options(const KeySource& source) {
    KeyOptions k;
    k.env_var = source.env;
    k.keystore = source.keystore.string();
    k.password_file = source.password_file.string();
    return k;
}

/// Everything the node runs; destroyed after the io_context has stopped running.
struct Node {
    explicit Node(const Config& c) : config(c), pool(2) {}

    const Config& config;
    boost::asio::io_context io;
    boost::asio::thread_pool pool;
    std::map<crypto::ChainId, ChainRuntime> chains;
    NodeCounters counters;
    RouteWaiting waiting;
    std::unique_ptr<storage::SqliteQueue> queue;              // relayer role
    std::unique_ptr<storage::SqliteQueue> validator_queue;    // validator role
    std::map<crypto::ChainId, ChainRuntime> validator_chain;  // its own RPC client
    std::vector<std::unique_ptr<Watcher>> watchers;
    std::vector<std::unique_ptr<Attestor>> attestors;
    std::vector<std::unique_ptr<Submitter>> submitters;
    std::unique_ptr<ValidatorRole> validator;
    std::unique_ptr<ApiServer> api;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::map<crypto::ChainId, Submitter*> submitter_of;
    bool stopping = false;
    bool forced = false;
    std::size_t running = 0;           // spawned stage coroutines still running
    std::function<void()> on_drained;  // called once every stage has returned after stop()
    int exit_code = kExitOk;
    std::function<void()> on_stop;

    void stop() {
        if (stopping) return;
        stopping = true;
        spdlog::info("stopping");
        if (on_stop) on_stop();
        for (auto& w : watchers) w->stop();
        for (auto& a : attestors) a->stop();
        for (auto& s : submitters) s->stop();
        if (validator) validator->stop();
        if (api) api->stop();
    }
};

std::unique_ptr<evm::RpcClient> make_client(boost::asio::any_io_executor ex, const ChainConfig& c,
                                            std::string& error) {
    evm::RpcClientConfig rc;
    rc.endpoints = c.rpc;
    rc.http.request_timeout = std::chrono::milliseconds(c.rpc_timeout_ms);
    rc.http.connect_timeout =
        std::min(std::chrono::milliseconds(c.rpc_timeout_ms), std::chrono::milliseconds(5000));
    rc.max_logs_block_range = c.max_log_range;
    auto client = evm::RpcClient::create(std::move(ex), std::move(rc));
    if (!client) {
        error = "chain " + c.name + ": " + client.error().message;
        return nullptr;
    }
    return std::make_unique<evm::RpcClient>(std::move(*client));
}

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

template <class F>
void spawn(Node& node, std::string what, F&& coroutine) {
    ++node.running;
    boost::asio::co_spawn(node.io, std::forward<F>(coroutine),
                          [&node, what = std::move(what)](std::exception_ptr e) {
                              if (--node.running == 0 && node.stopping && node.on_drained)
                                  node.on_drained();
                              if (!e) return;
                              try {
                                  std::rethrow_exception(e);
                              } catch (const std::exception& ex) {
                                  spdlog::error("{} stopped: {}", what, ex.what());
                              } catch (...) {
                                  spdlog::error("{} stopped", what);
                              }
                          });
}

/// Refuses to run against an endpoint of another chain (a config mistake that would sign or
/// send on the wrong network). An unreachable chain is not fatal: the stages retry.
Task<void> check_chain_ids(Node& node) {
    for (auto& [id, c] : node.chains) {
        auto got = co_await c.rpc->chain_id();
        if (!got) {
            spdlog::warn("chain {}: not reachable yet: {}", c.config->name, describe(got.error()));
            continue;
        }
        if (*got != crypto::to_u64(id)) {
            spdlog::critical(
                "chain {}: the RPC endpoint serves chain id {}, the config says {}; "
                "refusing to run",
                c.config->name, *got, crypto::to_u64(id));
            node.exit_code = kExitFailure;
            node.stop();
            co_return;
        }
    }
}

int fail(std::string_view message) {
    print_error("start", message);
    return kExitFailure;
}

}  // namespace

int run_start(const StartOptions& options) {
    auto loaded = load_config(options.config);
    if (!loaded) {
        std::cerr << loaded.error().to_string(options.config) << std::flush;
        return kExitFailure;
    }
    const Config& config = *loaded;

    auto logger = spdlog::stderr_logger_mt("ferry");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    logger->set_level(spdlog::level::from_str(options.log_level));
    spdlog::set_default_logger(logger);

    Node node(config);
    auto ex = node.io.get_executor();

    // Keys first: a node that cannot sign should say so before touching anything else.
    std::optional<Signer> relayer_key;
    if (config.relayer) {
        auto k = load_signer(key_options(config.relayer->key));
        if (!k) return fail("relayer.key: " + k.error().message);
        relayer_key = std::move(*k);
    }
    std::optional<Signer> validator_key;
    if (config.validator) {
        auto k = load_signer(key_options(config.validator->key));
        if (!k) return fail("validator.key: " + k.error().message);
        validator_key = std::move(*k);
    }

    storage::SqliteQueueOptions qo;
    qo.backoff = config.retry;
    if (config.relayer) {
        std::string detail;
        auto q = storage::SqliteQueue::open(config.database.string(), qo, &detail);
        if (!q) return fail("database " + config.database.string() + ": " + detail);
        node.queue = std::move(*q);
    }
    if (config.validator) {
        const auto path =
            config.relayer ? config.database.string() + ".validator" : config.database.string();
        std::string detail;
        auto q = storage::SqliteQueue::open(path, qo, &detail);
        if (!q) return fail("database " + path + ": " + detail);
        node.validator_queue = std::move(*q);
    }

    for (const auto& c : config.chains) {
        std::string error;
        auto client = make_client(ex, c, error);
        if (!client) return fail(error);
        auto& rt = node.chains[c.chain_id];
        rt.config = &c;
        rt.rpc = std::move(client);
    }

    ApiServerOptions api_options;
    api_options.host = config.api.host;
    api_options.port = config.api.port;
    api_options.allow_non_loopback = config.api.allow_non_loopback;
    auto api = ApiServer::create(ex, api_options);
    if (!api) return fail("api.listen: " + api.error());
    node.api = std::move(*api);
    node.api->add_method("ferry_status",
                         [&node](const json&, const RequestContext&) -> Task<MethodResult> {
                             co_return status_json(node);
                         });
    node.api->add_get("/health", [](const RequestContext&) -> Task<HttpReply> {
        co_return HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
    });

    // ---- validator role ----
    if (config.validator) {
        const ChainConfig& chain = *config.find_chain(config.validator->chain_id);
        std::string error;
        auto client = make_client(ex, chain, error);
        if (!client) return fail(error);
        auto& rt = node.validator_chain[chain.chain_id];
        rt.config = &chain;
        rt.rpc = std::move(client);
        node.validator = std::make_unique<ValidatorRole>(rt, *node.validator_queue, node.counters,
                                                         validator_key->key, validator_key->address,
                                                         *chain.outbox, ex);
        WatcherOptions wo;
        wo.outbox = *chain.outbox;
        wo.max_body_bytes = config.limits.max_body_bytes;
        auto* v = node.validator.get();
        node.watchers.push_back(std::make_unique<Watcher>(
            rt, *node.validator_queue, node.counters, wo, [v] { v->notify(); }, ex));
        node.api->add_method("ferry_getAttestations",
                             [v](const json& params, const RequestContext&) -> Task<MethodResult> {
                                 co_return v->get_attestations(params);
                             });
        spdlog::info("validator {} for chain {} (Outbox {})", validator_key->address.hex(),
                     chain.name, chain.outbox->hex());
    }

    // ---- relayer role ----
    if (config.relayer) {
        std::map<crypto::ChainId, std::vector<const RouteConfig*>> by_src, by_dst;
        for (const auto& r : config.routes) {
            by_src[r.src].push_back(&r);
            by_dst[r.dst].push_back(&r);
        }
        std::map<storage::Route, Attestor*> attestor_of;
        // Submitters are created after attestors but attestors notify them: resolve lazily.
        auto notify_submitter = [&node](crypto::ChainId dst) {
            return [&node, dst] {
                if (auto it = node.submitter_of.find(dst); it != node.submitter_of.end())
                    it->second->notify();
            };
        };
        for (const auto& r : config.routes) {
            const auto* set = config.find_validator_set(r.src);
            node.attestors.push_back(std::make_unique<Attestor>(
                r, *set, node.chains.at(r.dst), *node.queue, node.counters, node.waiting,
                config.limits, node.pool, notify_submitter(r.dst), ex));
            attestor_of[{r.src, r.dst}] = node.attestors.back().get();
        }
        for (const auto& [dst, routes] : by_dst) {
            std::vector<SubmitterRoute> sr;
            for (const auto* r : routes) sr.push_back({r, attestor_of.at({r->src, r->dst})});
            node.submitters.push_back(std::make_unique<Submitter>(
                node.chains.at(dst), *node.queue, node.counters, node.waiting, std::move(sr),
                relayer_key->key, relayer_key->address, ex));
            node.submitter_of[dst] = node.submitters.back().get();
        }
        for (const auto& [src, routes] : by_src) {
            WatcherOptions wo;
            wo.outbox = *config.find_chain(src)->outbox;
            wo.max_body_bytes = config.limits.max_body_bytes;
            wo.destinations.emplace();
            std::vector<Attestor*> targets;
            for (const auto* r : routes) {
                wo.destinations->insert(r->dst);
                targets.push_back(attestor_of.at({r->src, r->dst}));
            }
            node.watchers.push_back(std::make_unique<Watcher>(
                node.chains.at(src), *node.queue, node.counters, wo,
                [targets] {
                    for (auto* a : targets) a->notify();
                },
                ex));
        }
        spdlog::info("relayer {} on {} routes", relayer_key->address.hex(), config.routes.size());
    }

    node.api->start();
    std::cout << "ferry: listening on " << node.api->listen_address() << std::endl;
    spdlog::info("ferry {} started; API on {}", version(), node.api->listen_address());

    boost::asio::signal_set signals(node.io, SIGINT, SIGTERM);
    boost::asio::steady_timer drain(node.io);
    node.on_stop = [&] {
        signals.cancel();
        // Let every stage finish its step; force the end if an RPC hangs.
        drain.expires_after(std::chrono::seconds(5));
        drain.async_wait([&](const boost::system::error_code& e) {
            if (e) return;
            node.forced = true;
            node.io.stop();
        });
        if (node.running == 0) drain.cancel();
    };
    node.on_drained = [&] { drain.cancel(); };
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (!ec) node.stop();
    });

    spawn(node, "chain id check", check_chain_ids(node));
    for (auto& w : node.watchers) spawn(node, "watcher", w->run());
    for (auto& a : node.attestors) spawn(node, "attestor", a->run());
    for (auto& s : node.submitters) spawn(node, "submitter", s->run());
    if (node.validator) spawn(node, "validator", node.validator->run());

    node.io.run();
    if (node.forced) {
        // A stage is stuck in I/O. Every queue write is an atomic transaction, so ending here
        // loses nothing; unwinding suspended coroutines would be the riskier path.
        spdlog::warn("stopped while waiting for I/O");
        spdlog::shutdown();
        std::fflush(nullptr);
        std::_Exit(node.exit_code);
    }
    drain.cancel();
    node.pool.join();
    spdlog::info("stopped");
    spdlog::shutdown();
    return node.exit_code;
}

}  // namespace ferry::relayer

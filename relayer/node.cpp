#include "relayer/node.hpp"

#include "relayer/api_methods.hpp"
#include "api/api_server.hpp"
#include "relayer/attestor.hpp"
#include "relayer/chain_monitor.hpp"
#include "crypto/app_error.hpp"
#include "relayer/signer.hpp"
#include "relayer/config.hpp"
#include "relayer/logging.hpp"
#include "relayer/metrics_endpoint.hpp"
#include "relayer/node_state.hpp"
#include "relayer/runtime.hpp"
#include "relayer/submitter.hpp"
#include "relayer/validator.hpp"
#include "relayer/version.hpp"
#include "relayer/watcher.hpp"
#include "storage/sqlite_queue.hpp"

#include "chains/evm/evm_chain.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
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

using api::ApiServer;
using api::ApiServerOptions;
using api::MethodResult;
using api::RequestContext;

namespace evm = chains::evm;
using chains::Task;
using nlohmann::json;

void Node::stop() {
    if (stopping) return;
    stopping = true;
    spdlog::info("stopping");
    if (on_stop) on_stop();
    for (auto& w : watchers) w->stop();
    for (auto& a : attestors) a->stop();
    for (auto& s : submitters) s->stop();
    if (validator) validator->stop();
    for (auto& m : monitors) m->stop();
    if (api) api->stop();
}

namespace {

KeyOptions key_options(const KeySource& source) {
    KeyOptions k;
    k.env_var = source.env;
    k.keystore = source.keystore.string();
    k.password_file = source.password_file.string();
    return k;
}

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

/// Refuses to run against an endpoint of another chain (a config mistake that would sign or
/// send on the wrong network). An unreachable chain is not fatal: the stages retry.
Task<void> check_chain_ids(Node& node) {
    for (auto& [id, c] : node.chains) {
        auto got = co_await c.chain->chain_id();
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

    setup_logging(options.log_level,
                  parse_log_format(options.log_format).value_or(LogFormat::text));

    Node node(config);
    auto ex = node.io.get_executor();

    // Keys first: a node that cannot sign should say so before touching anything else.
    std::optional<Signer> relayer_key;
    if (config.relayer) {
        auto k = load_signer(key_options(config.relayer->key));
        if (!k) return fail("relayer.key: " + k.error().message);
        relayer_key = std::move(*k);
        node.relayer_address = relayer_key->address;
    }
    std::optional<Signer> validator_key;
    if (config.validator) {
        auto k = load_signer(key_options(config.validator->key));
        if (!k) return fail("validator.key: " + k.error().message);
        validator_key = std::move(*k);
        node.validator_address = validator_key->address;
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
        rt.chain = std::make_unique<evm::EvmChain>(*client);
        rt.transport = std::move(client);
    }

    ApiServerOptions api_options;
    api_options.host = config.api.host;
    api_options.port = config.api.port;
    api_options.allow_non_loopback = config.api.allow_non_loopback;
    api_options.rate_limit = {config.api.rate_limit_per_s, config.api.rate_limit_burst};
    auto api = ApiServer::create(ex, api_options);
    if (!api) return fail("api.listen: " + api.error());
    node.api = std::move(*api);
    register_api_methods(node);
    register_metrics_endpoints(node);

    // ---- validator role ----
    if (config.validator) {
        const ChainConfig& chain = *config.find_chain(config.validator->chain_id);
        std::string error;
        auto client = make_client(ex, chain, error);
        if (!client) return fail(error);
        auto& rt = node.validator_chain[chain.chain_id];
        rt.config = &chain;
        rt.chain = std::make_unique<evm::EvmChain>(*client);
        rt.transport = std::move(client);
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
    add_chain_monitors(node);
    for (auto& m : node.monitors) spawn(node, "chain monitor", m->run());
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

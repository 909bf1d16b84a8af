#include "relayer/node.hpp"

#include "api/api_server.hpp"
#include "crypto/app_error.hpp"
#include "relayer/api_methods.hpp"
#include "relayer/attestor.hpp"
#include "relayer/chain_monitor.hpp"
#include "relayer/config.hpp"
#include "relayer/logging.hpp"
#include "relayer/metrics_endpoint.hpp"
#include "relayer/node_state.hpp"
#include "relayer/runtime.hpp"
#include "relayer/signer.hpp"
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
    for (auto& p : pruners) p->stop();
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
    rc.expected_chain_id = crypto::to_u64(c.chain_id);
    auto client = evm::RpcClient::create(std::move(ex), std::move(rc));
    if (!client) {
        error = "chain " + c.name + ": " + client.error().message;
        return nullptr;
    }
    return std::make_unique<evm::RpcClient>(std::move(*client));
}

/// Refuses to run when every endpoint of a chain serves another chain (a config mistake that
/// would sign or send on the wrong network); one such endpoint among good ones is only refused
/// itself (each connection is checked, see RpcClientConfig::expected_chain_id). An unreachable
/// chain is not fatal: the stages retry.
Task<void> check_chain_ids(Node& node) {
    for (auto& [id, c] : node.chains) {
        auto got = co_await c.chain->chain_id();
        if (!got && got.error().code == evm::RpcError::Code::wrong_chain) {
            spdlog::critical("chain {}: no RPC endpoint serves chain id {} ({}); refusing to run",
                             c.config->name, crypto::to_u64(id), describe(got.error()));
            node.exit_code = kExitFailure;
            node.stop();
            co_return;
        }
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

namespace {

/// The signing keys of the roles the config has. Keys first: a node that cannot sign should say
/// so before touching anything else.
struct RoleKeys {
    std::optional<Signer> relayer;
    std::optional<Signer> validator;
};

AppResult<RoleKeys> load_keys(const Config& config, Node& node) {
    RoleKeys keys;
    if (config.relayer) {
        auto k = load_signer(key_options(config.relayer->key));
        if (!k) return AppError{"relayer.key: " + k.error().message};
        keys.relayer = std::move(*k);
        node.relayer_address = keys.relayer->address;
    }
    if (config.validator) {
        auto k = load_signer(key_options(config.validator->key));
        if (!k) return AppError{"validator.key: " + k.error().message};
        keys.validator = std::move(*k);
        node.validator_address = keys.validator->address;
    }
    return keys;
}

/// One SQLite queue per role; the validator's sits beside the relayer's when a node has both.
AppResult<void> open_queues(const Config& config, Node& node) {
    storage::SqliteQueueOptions qo;
    qo.backoff = config.retry;
    qo.retention_ms = static_cast<storage::UnixMillis>(config.limits.retention_hours) * 3'600'000;
    if (config.relayer) {
        std::string detail;
        auto q = storage::SqliteQueue::open(config.database.string(), qo, &detail);
        if (!q) return AppError{"database " + config.database.string() + ": " + detail};
        node.queue = std::move(*q);
    }
    if (config.validator) {
        const auto path =
            config.relayer ? config.database.string() + ".validator" : config.database.string();
        std::string detail;
        auto q = storage::SqliteQueue::open(path, qo, &detail);
        if (!q) return AppError{"database " + path + ": " + detail};
        node.validator_queue = std::move(*q);
    }
    return {};
}

/// A chain runtime over a new JSON-RPC client for `c`.
AppResult<void> open_chain(boost::asio::any_io_executor ex, const ChainConfig& c,
                           ChainRuntime& rt) {
    std::string error;
    auto client = make_client(ex, c, error);
    if (!client) return AppError{error};
    rt.config = &c;
    rt.chain = std::make_unique<evm::EvmChain>(*client);
    if (c.quorum > 1) {
        // Heads, block hashes and logs by quorum, each endpoint on its own client; the rest
        // through the fallback client over all of them.
        std::vector<chains::QuorumMember> members;
        for (const auto& url : c.rpc) {
            ChainConfig one = c;
            one.rpc = {url};
            auto member = make_client(ex, one, error);
            if (!member) return AppError{error};
            chains::QuorumMember m;
            m.name = member->endpoints().front().name;
            m.chain = std::make_unique<evm::EvmChain>(*member);
            rt.member_transports.push_back(std::move(member));
            members.push_back(std::move(m));
        }
        auto quorum = std::make_unique<chains::QuorumChain>(std::move(rt.chain), std::move(members),
                                                            c.quorum);
        rt.quorum = quorum.get();
        rt.chain = std::move(quorum);
    }
    rt.transport = std::move(client);
    return {};
}

AppResult<void> open_api(const Config& config, Node& node) {
    ApiServerOptions api_options;
    api_options.host = config.api.host;
    api_options.port = config.api.port;
    api_options.allow_non_loopback = config.api.allow_non_loopback;
    api_options.rate_limit = {config.api.rate_limit_per_s, config.api.rate_limit_burst};
    auto api = ApiServer::create(node.io.get_executor(), api_options);
    if (!api) return AppError{"api.listen: " + api.error()};
    node.api = std::move(*api);
    register_api_methods(node);
    register_metrics_endpoints(node);
    return {};
}

/// The validator role: its own chain client and watcher, the signer, ferry_getAttestations.
AppResult<void> build_validator_role(const Config& config, Node& node, const Signer& key) {
    auto ex = node.io.get_executor();
    const ChainConfig& chain = *config.find_chain(config.validator->chain_id);
    auto& rt = node.validator_chain[chain.chain_id];
    if (auto opened = open_chain(ex, chain, rt); !opened) return opened.error();
    node.validator = std::make_unique<ValidatorRole>(rt, *node.validator_queue, node.counters,
                                                     key.key, key.address, *chain.outbox, ex);
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
    spdlog::info("validator {} for chain {} (Outbox {})", key.address.hex(), chain.name,
                 chain.outbox->hex());
    return {};
}

/// One attestor per route; they wake the destination's submitter, created after them.
std::map<storage::Route, Attestor*> build_attestors(const Config& config, Node& node) {
    std::map<storage::Route, Attestor*> attestor_of;
    for (const auto& r : config.routes) {
        const auto* set = config.find_validator_set(r.src);
        auto notify_submitter = [&node, dst = r.dst] {
            if (auto it = node.submitter_of.find(dst); it != node.submitter_of.end())
                it->second->notify();
        };
        node.attestors.push_back(std::make_unique<Attestor>(
            r, *set, node.chains.at(r.dst), *node.queue, node.counters, node.waiting, config.limits,
            node.pool, notify_submitter, node.io.get_executor()));
        attestor_of[{r.src, r.dst}] = node.attestors.back().get();
    }
    return attestor_of;
}

/// The relayer role: attestors per route, a submitter per destination chain, a watcher per
/// source chain waking the attestors of its routes.
void build_relayer_role(const Config& config, Node& node, const Signer& key) {
    auto ex = node.io.get_executor();
    std::map<crypto::ChainId, std::vector<const RouteConfig*>> by_src, by_dst;
    for (const auto& r : config.routes) {
        by_src[r.src].push_back(&r);
        by_dst[r.dst].push_back(&r);
    }
    const auto attestor_of = build_attestors(config, node);
    for (const auto& [dst, routes] : by_dst) {
        std::vector<SubmitterRoute> sr;
        for (const auto* r : routes) sr.push_back({r, attestor_of.at({r->src, r->dst})});
        node.submitters.push_back(
            std::make_unique<Submitter>(node.chains.at(dst), *node.queue, node.counters,
                                        node.waiting, std::move(sr), key.key, key.address, ex));
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
    spdlog::info("relayer {} on {} routes", key.address.hex(), config.routes.size());
}

/// Everything the config asks for, ready to run.
AppResult<void> build_node(const Config& config, Node& node) {
    auto keys = load_keys(config, node);
    if (!keys) return keys.error();
    if (auto opened = open_queues(config, node); !opened) return opened.error();
    for (const auto& c : config.chains)
        if (auto opened = open_chain(node.io.get_executor(), c, node.chains[c.chain_id]); !opened)
            return opened.error();
    if (auto opened = open_api(config, node); !opened) return opened.error();
    if (config.validator)
        if (auto built = build_validator_role(config, node, *keys->validator); !built)
            return built.error();
    if (config.relayer) build_relayer_role(config, node, *keys->relayer);
    return {};
}

/// Runs the node until SIGINT/SIGTERM (or a fatal check) and its stages have drained; the exit
/// code.
int run_until_stopped(Node& node) {
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
    if (node.queue)
        node.pruners.push_back(std::make_unique<Pruner>(*node.queue, node.counters, "relayer",
                                                        node.io.get_executor()));
    if (node.validator_queue)
        node.pruners.push_back(std::make_unique<Pruner>(*node.validator_queue, node.counters,
                                                        "validator", node.io.get_executor()));
    for (auto& p : node.pruners) spawn(node, "pruner", p->run());

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
    if (auto built = build_node(config, node); !built) return fail(built.error().message);

    node.api->start();
    std::cout << "ferry: listening on " << node.api->listen_address() << std::endl;
    spdlog::info("ferry {} started; API on {}", version(), node.api->listen_address());
    return run_until_stopped(node);
}

}  // namespace ferry::relayer

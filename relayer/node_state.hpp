// The running node's state (docs/design.md §6), shared by `ferry start` (relayer/node.cpp), which
// builds and runs it, and by what reports on it: the API methods (relayer/api_methods.cpp) and
// the metrics and health endpoints (relayer/metrics_endpoint.cpp). Everything here lives on the
// node's one io_context thread, except the thread pool's signature recovery.
#pragma once

#include "api/api_server.hpp"
#include "relayer/attestor.hpp"
#include "relayer/chain_monitor.hpp"
#include "relayer/config.hpp"
#include "relayer/pruner.hpp"
#include "relayer/runtime.hpp"
#include "relayer/submitter.hpp"
#include "relayer/validator.hpp"
#include "relayer/watcher.hpp"
#include "storage/queue.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ferry::relayer {

/// Everything the node runs; destroyed after the io_context has stopped running.
struct Node {
    explicit Node(const Config& c) : config(c), pool(2) {}

    const Config& config;
    boost::asio::io_context io;
    boost::asio::thread_pool pool;
    std::map<crypto::ChainId, ChainRuntime> chains;
    NodeCounters counters;
    RouteWaiting waiting;
    std::unique_ptr<storage::Queue> queue;                    // relayer role
    std::unique_ptr<storage::Queue> validator_queue;          // validator role
    std::map<crypto::ChainId, ChainRuntime> validator_chain;  // its own RPC client
    std::vector<std::unique_ptr<Watcher>> watchers;
    std::vector<std::unique_ptr<Attestor>> attestors;
    std::vector<std::unique_ptr<Submitter>> submitters;
    std::unique_ptr<ValidatorRole> validator;
    std::vector<std::unique_ptr<ChainMonitor>> monitors;  // chain heads and wallet (/health)
    std::vector<std::unique_ptr<Pruner>> pruners;         // one per queue
    std::unique_ptr<api::ApiServer> api;
    std::optional<crypto::Address> relayer_address;    // the relayer key's account
    std::optional<crypto::Address> validator_address;  // the validator key's account
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::map<crypto::ChainId, Submitter*> submitter_of;
    bool stopping = false;
    bool forced = false;
    std::size_t running = 0;           // spawned stage coroutines still running
    std::function<void()> on_drained;  // called once every stage has returned after stop()
    int exit_code = 0;
    std::function<void()> on_stop;

    /// Asks every stage to finish its step and return; the API server closes.
    void stop();
};

/// Runs a stage coroutine on the node's io_context, counted in `node.running`; an exception
/// that escapes it is logged with `what`.
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

}  // namespace ferry::relayer

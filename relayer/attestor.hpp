// The attestor (DESIGN.md §1): for one route, asks the source's validators for signatures over
// the route's observed packets (concurrently, stopping once every packet has its threshold),
// recovers each signature off the I/O thread, keeps only signatures of members of the validator
// set the destination Inbox holds, and moves packets with a threshold of them to `attested`.
#pragma once

#include "relayer/runtime.hpp"

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::relayer {

class Attestor {
public:
    Attestor(const RouteConfig& route, const ValidatorSetConfig& validators, ChainRuntime& dst,
             storage::Queue& queue, NodeCounters& counters, RouteWaiting& waiting,
             const LimitsConfig& limits, boost::asio::thread_pool& pool,
             std::function<void()> on_attested, boost::asio::any_io_executor executor);
    ~Attestor();

    chains::Task<void> run();
    void notify() noexcept { wake_.notify(); }
    void stop() noexcept { wake_.close(); }

    storage::Route route() const noexcept { return {route_->src, route_->dst}; }
    /// The validator set in force (read from the destination Inbox), once known.
    const std::optional<chains::evm::ValidatorSet>& validator_set() const noexcept { return set_; }

    struct Endpoint;
    struct Fetch;

private:
    /// Reads the Inbox's set for this source; false (and a loud error) when unusable.
    chains::Task<bool> load_validator_set();
    /// One round over up to a batch of observed packets; returns how many became attested.
    chains::Task<std::size_t> step();
    void set_waiting(std::string why);

    const RouteConfig* route_;
    const ValidatorSetConfig* config_;
    ChainRuntime* dst_;
    storage::Queue* queue_;
    NodeCounters* counters_;
    RouteWaiting* waiting_;
    LimitsConfig limits_;
    boost::asio::thread_pool* pool_;
    std::function<void()> on_attested_;
    boost::asio::any_io_executor executor_;
    Wakeup wake_;
    std::vector<std::shared_ptr<Endpoint>> endpoints_;
    std::optional<chains::evm::ValidatorSet> set_;
    std::chrono::steady_clock::time_point set_loaded_at_{};
    bool short_of_threshold_ = false;
};

}  // namespace ferry::relayer

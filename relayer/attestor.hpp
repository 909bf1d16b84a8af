// The attestor (docs/design.md §1): for one route, asks the source's validators for signatures over
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
    struct Round;

private:
    /// Reads the Inbox's set for this source; false (and a loud error) when unusable.
    chains::Task<bool> load_validator_set();
    /// One round over up to a batch of observed packets; returns how many became attested.
    chains::Task<std::size_t> step();
    /// The round's window of observed packets and the set's terms; false when there is none.
    bool read_observed(Round& round);
    /// Sends ferry_getAttestations to every idle member, concurrently.
    std::shared_ptr<Fetch> ask_validators(Round& round);
    /// Takes answers until every packet has its threshold, all answered, or time is up.
    chains::Task<void> collect(Round& round, Fetch& fetch);
    /// Checks the answers received so far (signature recovery on the pool).
    chains::Task<void> check_answers(Round& round, Fetch& fetch);
    /// Stores the valid signatures and marks packets with a threshold attested; the ids
    /// marked, or nullopt when the queue refused.
    std::optional<std::vector<crypto::PacketId>> commit(const Round& round);
    /// Says why packets wait when fewer than all of the window became attested.
    void report_shortfall(const Round& round, std::size_t ready);
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

// The queue's pruner (docs/design.md §3, "Retention"): delivered packets older than the
// retention lose their bytes, signatures and delivery rows, keeping what recognises a replay.
// It runs every `every` in bounded batches, yielding between them so the pipeline goes on.
// Lives on the node's io_context thread.
#pragma once

#include "chains/task.hpp"
#include "relayer/runtime.hpp"
#include "storage/queue.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace ferry::relayer {

class Pruner {
public:
    /// `name` tells the queue apart in logs ("relayer", "validator").
    Pruner(storage::Queue& queue, NodeCounters& counters, std::string name,
           boost::asio::any_io_executor executor,
           std::chrono::milliseconds every = std::chrono::minutes(1), std::size_t batch = 500);
    Pruner(const Pruner&) = delete;
    Pruner& operator=(const Pruner&) = delete;

    chains::Task<void> run();
    void stop() noexcept { wake_.close(); }

    /// One pass: batches until one comes back short. How many packets it pruned.
    chains::Task<std::size_t> prune_once();

private:
    storage::Queue* queue_;
    NodeCounters* counters_;
    std::string name_;
    std::chrono::milliseconds every_;
    std::size_t batch_;
    Wakeup wake_;
};

}  // namespace ferry::relayer

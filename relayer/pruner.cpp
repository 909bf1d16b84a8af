#include "relayer/pruner.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace ferry::relayer {

Pruner::Pruner(storage::Queue& queue, NodeCounters& counters, std::string name,
               boost::asio::any_io_executor executor, std::chrono::milliseconds every,
               std::size_t batch)
    : queue_(&queue),
      counters_(&counters),
      name_(std::move(name)),
      every_(every),
      batch_(batch),
      wake_(std::move(executor)) {}

chains::Task<void> Pruner::run() {
    while (!wake_.closed()) {
        co_await wake_.wait(every_);
        if (wake_.closed()) break;
        try {
            co_await prune_once();
        } catch (const std::exception& e) {
            spdlog::error("pruner {}: internal error: {}", name_, e.what());
        }
    }
}

chains::Task<std::size_t> Pruner::prune_once() {
    std::size_t total = 0;
    while (!wake_.closed()) {
        auto pruned = queue_->prune_delivered(now_ms(), batch_);
        if (!pruned) {
            spdlog::error("pruner {}: {}", name_, queue_->last_error());
            break;
        }
        total += *pruned;
        counters_->packets_pruned += *pruned;
        if (*pruned < batch_) break;
        // Let the stages run between batches.
        co_await boost::asio::post(co_await boost::asio::this_coro::executor,
                                   boost::asio::use_awaitable);
    }
    if (total > 0)
        spdlog::info("pruner {}: pruned the bytes and signatures of {} delivered packets count={}",
                     name_, total, total);
    co_return total;
}

}  // namespace ferry::relayer

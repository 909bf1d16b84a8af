#include "relayer/runtime.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ferry::relayer {

storage::UnixMillis now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Wakeup::Wakeup(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

chains::Task<void> Wakeup::wait(std::chrono::milliseconds timeout) {
    if (closed_) co_return;
    if (pending_) {
        pending_ = false;
        co_return;
    }
    timer_.expires_after(timeout);
    boost::system::error_code ec;
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    pending_ = false;
}

void Wakeup::notify() noexcept {
    pending_ = true;
    timer_.cancel();
}

void Wakeup::close() noexcept {
    closed_ = true;
    timer_.cancel();
}

void NodeCounters::record_latency(std::uint64_t ms) noexcept {
    ++latency_count;
    latency_sum_ms += ms;
    std::size_t i = 0;
    while (i < kLatencyBucketBoundsMs.size() && ms > kLatencyBucketBoundsMs[i]) ++i;
    ++latency_buckets[i];
}

std::string describe(const chains::evm::RpcError& error) { return error.to_string(); }

}  // namespace ferry::relayer

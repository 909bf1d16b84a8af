#include "api/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace ferry::api {

RateLimiter::RateLimiter(ApiRateLimit limit, std::size_t max_clients)
    : limit_(limit), max_clients_(std::max<std::size_t>(1, max_clients)) {}

std::uint64_t RateLimiter::take(const std::string& client) {
    const double rate = limit_.per_second;
    if (rate <= 0) return 0;
    const double burst = std::max<double>(1.0, limit_.burst);
    const auto now = std::chrono::steady_clock::now();
    const auto level = [&](const Bucket& b) {
        const double elapsed = std::chrono::duration<double>(now - b.at).count();
        return std::min(burst, b.tokens + elapsed * rate);
    };
    auto it = buckets_.find(client);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_clients_) {
            // Forget clients whose buckets have refilled: they start full again anyway.
            for (auto b = buckets_.begin(); b != buckets_.end();) {
                if (!b->first.empty() && level(b->second) >= burst) {
                    b = buckets_.erase(b);
                } else {
                    ++b;
                }
            }
        }
        const bool room = buckets_.size() < max_clients_;
        it = buckets_.find(room ? client : std::string());
        if (it == buckets_.end())
            it = buckets_.emplace(room ? client : std::string(), Bucket{burst, now}).first;
    }
    Bucket& bucket = it->second;
    bucket.tokens = level(bucket);
    bucket.at = now;
    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return 0;
    }
    const double wait = (1.0 - bucket.tokens) / rate;
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(wait)));
}

}  // namespace ferry::api

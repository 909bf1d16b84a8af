// The per-client token buckets behind ApiRateLimit, in bounded memory: each HTTP request takes
// one token of its client's bucket.
#pragma once

#include "api/api_server.hpp"  // ApiRateLimit

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace ferry::api {

/// Not thread-safe: used from the server's executor only.
class RateLimiter {
public:
    /// At most `max_clients` (at least 1) buckets are kept; beyond it, full buckets are
    /// forgotten, and clients that still find no place share the bucket "".
    RateLimiter(ApiRateLimit limit, std::size_t max_clients);

    /// Takes a token of `client`'s bucket: 0 when the request may go on, else the whole seconds
    /// (≥ 1) until the bucket holds a token again. Always 0 when per_second is 0.
    std::uint64_t take(const std::string& client);

private:
    struct Bucket {
        double tokens = 0;
        std::chrono::steady_clock::time_point at;
    };

    ApiRateLimit limit_;
    std::size_t max_clients_;
    std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace ferry::api

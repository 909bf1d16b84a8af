// Text renderings of the node API's answers for `ferry status`, `ferry packets` and
// `ferry packet`: pure functions (JSON in, text out), so they can be golden-tested. They never
// throw on odd input: a missing or mistyped field shows as "-".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ferry::cli {

struct StatusViewOptions {
    /// A relayer wallet below this many ETH is listed under "attention".
    double low_balance_eth = 0.1;
    /// A reachable chain whose head has not moved for this long is listed as stalled.
    double stalled_after_s = 300;
};

/// "45s", "2m 5s", "1h 2m", "3d 4h": the two largest units. Negative or NaN gives "-".
std::string humanize_seconds(double seconds);

/// Unix milliseconds as "2024-05-01 12:00:00Z"; 0 or negative gives "-".
std::string format_unix_ms(std::int64_t ms);

/// `ferry status`: a header (version, uptime, roles), the chains table, the routes table and
/// an "attention" section listing what is stuck and why. `status` is ferry_status's result.
std::string render_status(const nlohmann::json& status, const StatusViewOptions& options = {});

/// `ferry packets`: a table of ferry_packets' "packets" and a footer with the count (and a
/// hint when `next_cursor` says there are more). `result` is {packets, next_cursor}.
std::string render_packets(const nlohmann::json& result);

/// `ferry packet <id>`: a readable block of ferry_packet's result.
std::string render_packet(const nlohmann::json& packet);

}  // namespace ferry::cli

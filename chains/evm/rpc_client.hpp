// Ethereum JSON-RPC client for one chain: typed methods, batches, several endpoints with
// fallback and demotion, classified errors and per-method counters.
#pragma once

#include "chains/evm/http_transport.hpp"
#include "chains/evm/log.hpp"
#include "chains/evm/rpc_error.hpp"
#include "chains/evm/rpc_types.hpp"
#include "chains/evm/u256.hpp"
#include "chains/task.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::chains::evm {

struct RpcClientConfig {
    /// Endpoint URLs in order of preference (http:// or https://).
    std::vector<std::string> endpoints;
    HttpOptions http;
    /// Consecutive transient failures after which an endpoint is demoted.
    std::uint32_t max_consecutive_failures = 3;
    /// An endpoint whose head is more than this many blocks behind the best seen is demoted.
    std::uint64_t max_head_lag = 10;
    /// How long a demoted endpoint is tried only after the healthy ones.
    std::chrono::milliseconds demotion_cooldown{30'000};
    /// First block span of one eth_getLogs request (0: the whole range); halved while the
    /// node answers that the range or the result is too large.
    std::uint64_t max_logs_block_range = 2'000;
    /// When set, every new connection to an endpoint first asks eth_chainId and is refused
    /// (wrong_chain, the endpoint demoted) unless the answer is this id: no answer from an
    /// endpoint of another chain is ever used.
    std::optional<std::uint64_t> expected_chain_id;
};

/// Counters of one JSON-RPC method (one per HTTP attempt; a batch counts under "batch").
struct MethodCounters {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::chrono::nanoseconds latency_sum{0};
};

struct RpcMetrics {
    std::map<std::string, MethodCounters, std::less<>> methods;
    std::uint64_t malformed_responses =
        0;                        // answers that were not valid JSON-RPC or of the wrong shape
    std::uint64_t fallbacks = 0;  // times a request moved on to the next endpoint
    std::uint64_t log_range_splits = 0;  // eth_getLogs ranges halved on the node's request
};

struct EndpointStatus {
    std::string name;  // redacted URL
    bool demoted = false;
    std::uint32_t consecutive_failures = 0;
    std::optional<std::uint64_t> head;  // last eth_blockNumber answer
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
    std::string last_error;
    /// Its last connection was refused because it serves another chain id (cleared by the
    /// next answer it gives).
    bool wrong_chain = false;
};

/// One call of a batch.
struct RpcCall {
    std::string method;
    nlohmann::json params = nlohmann::json::array();
};

/// The client. Requests go to the healthy endpoints in configured order, then to demoted ones
/// whose cool-down has passed, then to the rest. A transient error moves on to the next
/// endpoint; a permanent error is returned at once. Nothing throws for bad input or bad answers.
///
/// Not thread-safe: use it from the thread that runs its executor. It must outlive every
/// operation it started.
class RpcClient {
public:
    /// invalid_argument when there is no endpoint, a URL is bad or the CA file is unreadable.
    static RpcResult<RpcClient> create(boost::asio::any_io_executor executor,
                                       RpcClientConfig config);

    RpcClient(RpcClient&&) noexcept;
    RpcClient& operator=(RpcClient&&) noexcept;
    ~RpcClient();

    Task<RpcResult<std::uint64_t>> chain_id();
    /// Also records the endpoint's head for the lag rule.
    Task<RpcResult<std::uint64_t>> block_number();
    /// nullopt when the node has no such block.
    Task<RpcResult<std::optional<BlockHeader>>> get_block_by_number(BlockId block);
    /// All logs of the range in chain order; ranges the node refuses are split and retried.
    /// The node's logs must lie inside the asked range (malformed_response otherwise).
    Task<RpcResult<std::vector<Log>>> get_logs(LogFilter filter);
    Task<RpcResult<crypto::Bytes>> call(CallRequest request, BlockId block = BlockTag::latest);
    Task<RpcResult<std::uint64_t>> estimate_gas(CallRequest request);
    Task<RpcResult<FeeHistory>> fee_history(std::uint64_t block_count, BlockId newest,
                                            std::vector<double> reward_percentiles);
    Task<RpcResult<U256>> max_priority_fee_per_gas();
    Task<RpcResult<std::uint64_t>> get_transaction_count(crypto::Address account,
                                                         BlockId block = BlockTag::latest);
    /// The returned hash must be keccak256(raw) (malformed_response otherwise).
    Task<RpcResult<crypto::Hash32>> send_raw_transaction(crypto::Bytes raw);
    /// nullopt while the transaction is not mined.
    Task<RpcResult<std::optional<Receipt>>> get_transaction_receipt(crypto::Hash32 tx_hash);
    Task<RpcResult<U256>> get_balance(crypto::Address account, BlockId block = BlockTag::latest);

    /// Any method; the raw "result".
    Task<RpcResult<nlohmann::json>> request(std::string method, nlohmann::json params);

    /// One JSON-RPC batch: the results in the order of `calls`, whatever order the node
    /// answered in. The outer error is for the batch as a whole (after fallback); an inner
    /// one is that call's own error.
    Task<RpcResult<std::vector<RpcResult<nlohmann::json>>>> batch(std::vector<RpcCall> calls);

    /// Asks every endpoint for its head (one after another) and applies the lag rule.
    Task<void> refresh_heads();

    const RpcMetrics& metrics() const noexcept;
    std::vector<EndpointStatus> endpoints() const;

private:
    struct Impl;
    explicit RpcClient(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::chains::evm

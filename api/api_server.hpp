// The node's HTTP/1.1 server: JSON-RPC 2.0 over POST (single calls and batches) and plain GET
// endpoints, with body/header limits, connection caps, timeouts and a per-client rate limit, on
// one io_context thread.
// Methods and GET paths are registered by their owners (status, attestations, metrics, health).
#pragma once

#include "chains/task.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::api {

/// A per-client token bucket: each HTTP request takes one token; the bucket holds `burst`
/// tokens and refills at `per_second`. Clients are told apart by remote IP address (loopback
/// included). A request that finds the bucket empty is answered 429 with Retry-After.
struct ApiRateLimit {
    /// Tokens added per second; 0 = no limit.
    std::uint32_t per_second = 20'000;
    /// Bucket size (at least 1 is used).
    std::uint32_t burst = 40'000;
};

struct ApiServerOptions {
    /// IP address to bind ("localhost" means 127.0.0.1).
    std::string host = "127.0.0.1";
    /// 0 = pick a free port (see ApiServer::port()).
    std::uint16_t port = 0;
    /// Required true to bind anything but 127.0.0.0/8 or ::1.
    bool allow_non_loopback = false;
    /// Larger request bodies are answered 413; reading stops at the limit.
    std::size_t max_body_bytes = 1 << 20;
    /// Larger request heads (request line + fields) are answered 431.
    std::size_t max_header_bytes = 16 * 1024;
    /// Connections beyond this are closed as soon as they are accepted.
    std::size_t max_connections = 256;
    /// Largest JSON-RPC batch; a larger one is answered with one -32600 error.
    std::size_t max_batch = 100;
    /// How long a keep-alive connection may wait for its next request.
    std::chrono::milliseconds idle_timeout{30'000};
    /// How long reading one request may take (from its first byte; for a new connection from
    /// the accept), and also the deadline for writing one response.
    std::chrono::milliseconds read_timeout{10'000};
    /// Per-client rate limit (ApiRateLimit).
    ApiRateLimit rate_limit;
    /// Most clients whose buckets are kept; beyond it, full buckets are forgotten, and clients
    /// that still find no place share one bucket (so memory stays bounded under many addresses).
    std::size_t rate_limit_max_clients = 4096;
};

/// An error a method returns; becomes the JSON-RPC error object. `data` is omitted when null.
/// Standard codes: -32602 invalid params, -32603 internal error; servers may use -32000..-32099.
struct RpcMethodError {
    int code = -32603;
    std::string message;
    nlohmann::json data;

    // Not an aggregate on purpose: C++20 would let an aggregate be built from one json (its
    // first member, an int, converts from json), and then `co_return some_json;` could not
    // pick the value side of MethodResult.
    RpcMethodError() = default;
    RpcMethodError(int error_code, std::string error_message, nlohmann::json error_data = nullptr)
        : code(error_code), message(std::move(error_message)), data(std::move(error_data)) {}
};

[[noreturn]] void throw_exception_from_error(const RpcMethodError& e,
                                             const boost::source_location& loc);

using MethodResult = boost::system::result<nlohmann::json, RpcMethodError>;

/// Who is asking: the peer ("127.0.0.1:54321") and the token of "Authorization: Bearer <token>".
struct RequestContext {
    std::string remote;
    std::optional<std::string> bearer_token;
};

/// A JSON-RPC method. `params` is the request's object or array, or null when it had none.
/// Answer with `co_return some_json;` or `co_return RpcMethodError{-32602, "why"};`.
/// It runs on the server's executor; an exception it throws becomes -32603 "internal error"
/// (the exception text is not sent: it might hold secrets). The server keeps the callable
/// alive while a call runs, so a coroutine lambda may use its captures.
using MethodHandler =
    std::function<chains::Task<MethodResult>(const nlohmann::json& params, const RequestContext&)>;

struct HttpReply {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

/// A GET endpoint; an exception it throws (or a status outside 200..599) becomes 500.
using GetHandler = std::function<chains::Task<HttpReply>(const RequestContext&)>;

struct ApiServerStats {
    std::uint64_t http_requests = 0;         // complete HTTP requests read
    std::uint64_t rpc_calls = 0;             // JSON-RPC request objects (each batch entry)
    std::uint64_t rpc_errors = 0;            // JSON-RPC error objects (incl. for notifications)
    std::uint64_t rejected_connections = 0;  // closed at accept: max_connections reached
    std::uint64_t bad_requests = 0;          // answered 400, 405, 413 or 431
    std::uint64_t rate_limited = 0;          // answered 429 (per-client rate limit)
    std::map<int, std::uint64_t> errors_by_code;  // JSON-RPC error code → count
};

/// Optional sink for the server's own log lines (never holds request bodies or secrets).
using ApiLogSink = std::function<void(std::string_view line)>;

/// The server. Owns its acceptor and sessions. Not thread-safe: call every member from the
/// thread that runs the executor (or before it runs). The executor's io_context must outlive
/// the server.
class ApiServer {
public:
    /// Binds and listens. The error names host:port and why (address in use, not a loopback
    /// address without allow_non_loopback, bad address).
    static boost::system::result<std::unique_ptr<ApiServer>, std::string> create(
        boost::asio::any_io_executor ex, ApiServerOptions options);

    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    /// Registers (or replaces) a JSON-RPC method.
    void add_method(std::string name, MethodHandler handler);
    /// Registers (or replaces) a GET endpoint for an exact path (the query string is ignored).
    void add_get(std::string path, GetHandler handler);
    /// Where the server reports handler failures and accept errors (spdlog warn by default).
    void set_log_sink(ApiLogSink sink);

    /// Spawns the accept loop. Once only; not after stop().
    void start();
    /// Closes the acceptor and every connection; handlers already running finish but their
    /// answers are dropped. Safe to call twice. Afterwards the io_context can run out of work.
    void stop();

    std::uint16_t port() const noexcept;
    /// "127.0.0.1:<port>" ("[::1]:<port>" for IPv6).
    std::string listen_address() const;
    const ApiServerStats& stats() const noexcept;

private:
    struct State;
    explicit ApiServer(std::shared_ptr<State> state) noexcept;
    std::shared_ptr<State> state_;  // shared with running sessions, which may outlive stop()
};

}  // namespace ferry::api

// The operator commands that talk to a running node over its JSON-RPC API (spec: ferry_status,
// ferry_packets, ferry_packet, ferry_retry): `ferry status`, `ferry packets`, `ferry packet`
// and `ferry retry`. Each is a JSON-RPC 2.0 call over HTTP/1.1 through the chains HTTP
// transport (chains/evm/http_transport.hpp), blocking, with deadlines and a body limit. The
// admin token for ferry_retry comes from an environment variable and is sent as
// "Authorization: Bearer"; it is never printed.
#pragma once

#include "cli/cli_common.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace CLI {
class App;
}

namespace ferry::cli {

inline constexpr std::string_view kDefaultApiUrl = "http://127.0.0.1:8645";
inline constexpr std::string_view kDefaultAdminTokenEnv = "FERRY_ADMIN_TOKEN";

/// Where the node API is: an http:// URL, split.
struct ApiEndpoint {
    std::string url;     ///< as shown in messages: "http://127.0.0.1:8645"
    std::string host;    ///< for the resolver: "127.0.0.1", "::1", "localhost"
    std::string port;    ///< "8645"
    std::string target;  ///< request target: "/" unless the URL has a path
};

/// Parses "http://HOST:PORT[/path]" (also "HOST:PORT"; IPv6 in brackets). Errors name `what`.
AppResult<ApiEndpoint> parse_api_url(std::string_view url, std::string_view what = "--api");

/// Blocking JSON-RPC 2.0 client of the node API. Each call opens one connection.
class ApiClient {
public:
    explicit ApiClient(ApiEndpoint endpoint,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : endpoint_(std::move(endpoint)), timeout_(timeout) {}

    /// Sends {"jsonrpc":"2.0","id":1,"method":...,"params":...} and returns "result". Errors:
    /// the API cannot be reached (with a hint to `ferry start` and --api), times out, answers
    /// HTTP errors (429 with its Retry-After), no JSON, or a JSON-RPC error (its code is kept in
    /// `last_rpc_code()`). `bearer` is sent as "Authorization: Bearer" and never shown.
    AppResult<nlohmann::json> call(std::string_view method, const nlohmann::json& params,
                                   const std::optional<std::string>& bearer = std::nullopt);

    /// The JSON-RPC error code of the last call that failed with one (else 0).
    int last_rpc_code() const noexcept { return last_rpc_code_; }
    const ApiEndpoint& endpoint() const noexcept { return endpoint_; }

private:
    ApiEndpoint endpoint_;
    std::chrono::milliseconds timeout_;
    int last_rpc_code_ = 0;
};

/// Options every API command shares: --api URL or -c CONFIG, --json, --timeout.
struct ApiOptions {
    std::string api_url;  ///< empty: the config's api.host/port, else kDefaultApiUrl
    std::string config;   ///< the node's config file: api.host, api.port, api.admin_token_env
    bool json = false;
    unsigned timeout_seconds = 10;
};

struct StatusOptions {
    ApiOptions api;
    double low_balance_eth = 0.1;
};

struct PacketsOptions {
    ApiOptions api;
    std::string state;
    std::string route;  ///< "alpha->beta" or "alpha-beta"
    unsigned limit = 100;
    std::string cursor;
    bool all = false;
};

struct PacketOptions {
    ApiOptions api;
    std::string id;
};

struct RetryOptions {
    ApiOptions api;
    std::string id;
    std::string route;
    bool dead = false;
    std::string admin_token_env;  ///< overrides the config's api.admin_token_env
};

CLI::App* add_status_command(CLI::App& app, StatusOptions& options);
CLI::App* add_packets_command(CLI::App& app, PacketsOptions& options);
CLI::App* add_packet_command(CLI::App& app, PacketOptions& options);
CLI::App* add_retry_command(CLI::App& app, RetryOptions& options);

/// "alpha->beta" for "alpha->beta" or "alpha-beta"; an error for anything ambiguous or empty.
AppResult<std::string> normalize_route(std::string_view text);

/// The commands. Results go to `out`; errors to `err` as one line
/// ("ferry <command>: error: ..."). Exit codes: 0 ok, 1 runtime error, 2 usage error.
int run_status(const StatusOptions& options, std::ostream& out, std::ostream& err);
int run_packets(const PacketsOptions& options, std::ostream& out, std::ostream& err);
int run_packet(const PacketOptions& options, std::ostream& out, std::ostream& err);
int run_retry(const RetryOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ferry::cli

// A minimal synchronous JSON-RPC 2.0 over HTTP client for tests (one connection per call).
// The node's own client is asynchronous and lives in chains/; this one only drives test chains.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry::test {

class RpcClient {
public:
    /// `url` is "http://host:port" (an optional path after the port is sent as the target).
    /// Throws std::invalid_argument for any other form.
    explicit RpcClient(std::string_view url,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// Sends {"jsonrpc":"2.0","id":n,"method":method,"params":params} and returns "result".
    /// Throws RpcError when the answer carries "error", std::runtime_error on transport
    /// failure, a non-200 status, or an answer that is not JSON-RPC.
    nlohmann::json call(const std::string& method, nlohmann::json params = nlohmann::json::array());

    const std::string& host() const noexcept { return host_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    std::string host_;
    std::uint16_t port_ = 0;
    std::string target_ = "/";
    std::chrono::milliseconds timeout_;
    std::uint64_t next_id_ = 1;
};

/// A JSON-RPC error answer: code and message as the server sent them.
class RpcError : public std::runtime_error {
public:
    RpcError(std::int64_t code, const std::string& message)
        : std::runtime_error("JSON-RPC error " + std::to_string(code) + ": " + message),
          code_(code) {}
    std::int64_t code() const noexcept { return code_; }

private:
    std::int64_t code_;
};

}  // namespace ferry::test

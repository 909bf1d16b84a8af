// JSON-RPC 2.0 request parsing for the API server, apart from its I/O: a POST body into one
// request or a batch, and one request object into its id, method and params. Pure functions
// over untrusted input, so they can be tested and fuzzed alone (tests/fuzz/api_request_fuzz.cpp).
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry::api {

inline constexpr int kJsonRpcParseError = -32700;
inline constexpr int kJsonRpcInvalidRequest = -32600;

/// Bodies whose brackets (outside strings) nest deeper than this are refused before parsing,
/// so no later recursive walk of the document (dump, handlers) can exhaust the stack.
inline constexpr std::size_t kMaxRequestJsonDepth = 128;

/// A request answered with an error instead of a method call.
struct RpcRequestError {
    int code = kJsonRpcInvalidRequest;
    std::string message;
    nlohmann::json id;  ///< the request's id when it was readable, else null
};

[[noreturn]] void throw_exception_from_error(const RpcRequestError& e,
                                             const boost::source_location& loc);

/// A POST body: one request (any JSON value; parse_rpc_request checks it) or a batch.
struct RpcBody {
    nlohmann::json document;
    bool batch = false;  ///< document is an array of 1..max_batch entries
};

/// Parses a POST body. Errors (id null): -32700 when it is not JSON or nests deeper than
/// kMaxRequestJsonDepth; -32600 for an empty batch or one of more than `max_batch` entries.
/// Never throws on bad input.
boost::system::result<RpcBody, RpcRequestError> parse_rpc_body(std::string_view body,
                                                               std::size_t max_batch);

/// One valid request object.
struct RpcRequest {
    nlohmann::json id;    ///< string, number or null; null when absent
    bool has_id = false;  ///< false: a notification, answered with nothing
    std::string method;
    /// The "params" object or array inside the request, or a static null when it had none.
    /// Points into the request object, which must outlive it.
    const nlohmann::json* params = nullptr;
};

/// Checks one request object: an object with "jsonrpc": "2.0", a string "method", "params"
/// (when present) an object or an array, "id" (when present) a string, a number or null.
/// Errors: -32600 with the id when it was valid.
boost::system::result<RpcRequest, RpcRequestError> parse_rpc_request(const nlohmann::json& request);

/// {"jsonrpc": "2.0", "error": {"code", "message", "data" unless null}, "id"}.
nlohmann::json rpc_error_response(int code, std::string message, nlohmann::json data,
                                  nlohmann::json id);

}  // namespace ferry::api

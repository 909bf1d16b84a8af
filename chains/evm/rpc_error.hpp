// Classified errors of the JSON-RPC client: what failed, whether trying again (later or at
// another endpoint) can help, and for reverts why the contract said no.
#pragma once

#include "chains/url.hpp"
#include "crypto/bytes.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ferry::chains::evm {

struct RpcError {
    /// transient: the same request may succeed later or at another endpoint (the client falls
    /// back to the next endpoint). permanent: the request itself is refused; sending it again
    /// unchanged will fail again.
    enum class Kind { transient, permanent };

    enum class Code {
        // transient: the transport or the endpoint failed
        timeout,             // connect, TLS handshake, write or read missed its deadline
        connection_failed,   // refused, reset, closed before the response was complete
        tls_failed,          // TLS handshake failed, including certificate verification
        rate_limited,        // HTTP 429 or a node's rate limit error
        server_unavailable,  // HTTP 5xx
        http_error,          // another non-200 HTTP status without a JSON-RPC answer
        response_too_large,  // body over the configured limit
        malformed_response,  // not JSON, not JSON-RPC 2.0, wrong id, or a result of the wrong shape
        header_not_found,    // the node does not (yet) have the block or state asked for
        method_not_found,    // -32601: this endpoint does not serve the method
        node_error,          // any other error the node reported
        cancelled,           // the operation was cancelled (shutdown)
        wrong_chain,         // the endpoint serves another chain id than the one configured
        // permanent: the request is refused as it stands
        invalid_argument,         // rejected before sending (bad URL, bad range, ...)
        invalid_request,          // -32600 / -32602 / -32700: the node says the request is wrong
        log_range_too_large,      // eth_getLogs range or result count over the node's limit
        nonce_too_low,            // the account nonce was already used
        replacement_underpriced,  // a replacement must raise both fees enough
        fee_too_low,              // max fee below the base fee, or tip below the pool minimum
        insufficient_funds,       // balance below gas * max fee + value
        already_known,            // the pool already holds this exact transaction
        transaction_rejected,     // other checks of the transaction (intrinsic gas, chain id, ...)
        execution_reverted,       // the call or estimate reverted; see revert_reason
    };

    Kind kind = Kind::transient;
    Code code = Code::node_error;
    int json_rpc_code = 0;  // the node's JSON-RPC error code; 0 when the error is not the node's
    int http_status = 0;    // the HTTP status when one was received, else 0
    std::string message;    // human-readable detail (node message, transport error)
    /// For execution_reverted: the decoded reason, e.g. "not owner" for Error(string) or
    /// "panic 0x11 (arithmetic overflow or underflow)"; empty when the node gave no data.
    std::optional<std::string> revert_reason;
    crypto::Bytes revert_data;  // the raw revert data, for custom errors
    std::string endpoint;       // the endpoint, redacted (no credentials, no path or query)

    bool transient() const noexcept { return kind == Kind::transient; }
    /// "<endpoint>: <code>: <message>" for logs.
    std::string to_string() const;
};

/// Kind of each code (fixed by the list above).
RpcError::Kind kind_of(RpcError::Code code) noexcept;

/// snake_case name of a code ("nonce_too_low"), for logs and metric labels.
std::string_view to_string(RpcError::Code code) noexcept;

/// An error with its kind filled in from its code.
RpcError make_rpc_error(RpcError::Code code, std::string message, std::string endpoint = {});

/// Classifies a JSON-RPC error object's code, message and data (data may be a hex string or
/// an object holding one; other shapes are ignored). Revert data is decoded as Error(string)
/// or Panic(uint256); anything else is kept raw and described as a custom error.
RpcError classify_json_rpc_error(int code, std::string_view message,
                                 std::optional<std::string_view> data_hex,
                                 std::string endpoint = {});

/// The URL fit for logs and errors (chains/url.hpp).
using chains::redact_url;

/// boost::system::result support: value() on an error throws std::runtime_error(to_string()).
[[noreturn]] void throw_exception_from_error(const RpcError& e, const boost::source_location& loc);

template <class T>
using RpcResult = boost::system::result<T, RpcError>;

}  // namespace ferry::chains::evm

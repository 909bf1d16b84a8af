// HTTP/1.1 POST to one JSON-RPC endpoint over plain TCP or TLS (OpenSSL, certificates
// verified), with keep-alive connection reuse, deadlines and a response size limit.
#pragma once

#include "chains/evm/rpc_error.hpp"
#include "chains/task.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::chains::evm {

/// An endpoint URL taken apart: http[s]://[user:password@]host[:port][/path][?query].
struct EndpointUrl {
    bool tls = false;
    std::string host;        // without brackets for an IPv6 literal
    std::string port;        // "80" / "443" when the URL has none
    std::string target;      // path and query, at least "/"
    std::string basic_auth;  // base64(user:password) when the URL has userinfo, else empty
    std::string redacted;    // redact_url() of the URL, for logs and errors
};

/// parse_http_url() (chains/url.hpp) in the form the transport sends; invalid_argument, with
/// the URL redacted, when it is not an acceptable http(s) URL.
RpcResult<EndpointUrl> parse_endpoint_url(std::string_view url);

/// The HTTP answer: any status with its body. Transport failures are RpcErrors instead.
struct HttpResponse {
    unsigned status = 0;
    std::string body;
    std::string retry_after;  // the Retry-After field as sent (429/503), else empty
};

/// A request every new connection must answer acceptably before it carries anything else
/// (the JSON-RPC client asks eth_chainId): `accept` returns the error that refuses the
/// connection, or nullopt.
struct ConnectionCheck {
    std::string body;
    std::function<std::optional<RpcError>(const HttpResponse&)> accept;
};

struct HttpOptions {
    /// Resolve, TCP connect and TLS handshake together.
    std::chrono::milliseconds connect_timeout{5000};
    /// Writing the request and reading the whole response together.
    std::chrono::milliseconds request_timeout{15000};
    /// Largest response body accepted; a larger one fails with response_too_large.
    std::size_t max_response_bytes = 64 * 1024 * 1024;
    /// Idle keep-alive connections kept per endpoint.
    std::size_t max_idle_connections = 4;
    /// PEM file of CA certificates trusted in addition to the system store (https only).
    std::string extra_ca_file;
    /// Asked on every new connection before the post it was opened for; none when empty.
    std::optional<ConnectionCheck> connection_check;
};

/// Posts JSON bodies to one endpoint. Connections are opened on demand and kept alive for
/// reuse; several posts may run at once (each on its own connection).
///
/// Not thread-safe: use it from the thread that runs its executor. The transport must outlive
/// every post() it started.
class HttpTransport {
public:
    /// invalid_argument for a bad URL or an unreadable extra CA file.
    static RpcResult<HttpTransport> create(boost::asio::any_io_executor executor,
                                           std::string_view url, const HttpOptions& options);

    HttpTransport(HttpTransport&&) noexcept;
    HttpTransport& operator=(HttpTransport&&) noexcept;
    ~HttpTransport();

    /// POSTs `body` as application/json. A stale reused connection is retried once on a fresh
    /// one; a fresh one first passes the connection check, if any. Errors: timeout,
    /// connection_failed, tls_failed, response_too_large, malformed_response, cancelled, and
    /// whatever the connection check refuses with. Their message starts with the stage that failed:
    /// "resolve", "connect", "TLS ...", "send" or "read", then ": " and the detail (a timeout
    /// says "<stage> timed out after N ms").
    /// `authorization`, when not empty, is sent as the Authorization field instead of the URL's
    /// basic auth (e.g. "Bearer <token>"); it is never logged nor put into an error, and the
    /// transport's copies of it are wiped once the post is done.
    Task<RpcResult<HttpResponse>> post(std::string body, std::string authorization = {});

    /// The redacted URL.
    const std::string& name() const noexcept;

    /// Closes idle connections (in-flight posts finish on theirs).
    void close_idle() noexcept;

    /// Connections opened so far, and how many of them the connection check refused.
    std::uint64_t connections_opened() const noexcept;
    std::uint64_t connections_refused() const noexcept;

private:
    struct Impl;
    explicit HttpTransport(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::chains::evm

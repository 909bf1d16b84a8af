// A small scripted HTTP/1.1 server on 127.0.0.1 (plain or TLS) for testing clients against
// good and misbehaving peers: each request gets the reply a test-supplied handler picks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ferry::test {

struct HttpRequest {
    std::string method;  // "POST"
    std::string target;  // "/path?query"
    std::string authorization;
    std::string body;
};

/// What the server does with one request.
struct HttpReply {
    enum class Action {
        respond,         // send status and body
        hang,            // read the request, never answer (until the server stops)
        close_mid_body,  // announce a body twice as long as `body`, send `body`, close
        close,           // close the connection without answering
    };
    Action action = Action::respond;
    unsigned status = 200;
    std::string body;
    bool chunked = false;  // chunked transfer encoding instead of Content-Length
    bool keep_alive = true;
    bool close_after = false;  // answer with keep-alive, then close anyway (a stale connection)

    static HttpReply json(std::string body, unsigned status = 200) {
        HttpReply r;
        r.status = status;
        r.body = std::move(body);
        return r;
    }
    static HttpReply of(Action action, std::string body = {}) {
        HttpReply r;
        r.action = action;
        r.body = std::move(body);
        return r;
    }
};

/// PEM files of the server's certificate and key, for a TLS server.
struct TlsFiles {
    std::string cert_file;
    std::string key_file;
};

/// Serves on 127.0.0.1:<free port> from a background thread until destroyed. The handler runs
/// on that thread, one request at a time. Keep-alive is honoured.
class HttpTestServer {
public:
    using Handler = std::function<HttpReply(const HttpRequest&)>;

    /// Throws std::runtime_error when it cannot listen or load the TLS files.
    explicit HttpTestServer(Handler handler, std::optional<TlsFiles> tls = std::nullopt);
    ~HttpTestServer();

    HttpTestServer(const HttpTestServer&) = delete;
    HttpTestServer& operator=(const HttpTestServer&) = delete;

    std::uint16_t port() const noexcept;
    /// "http://127.0.0.1:<port>/" (https for a TLS server).
    std::string url() const;
    /// Requests read so far.
    std::size_t requests() const noexcept;
    /// Connections accepted so far (for TLS: including failed handshakes).
    std::size_t connections() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A loopback port nothing listens on (bound once to find it free, then released).
std::uint16_t unused_port();

}  // namespace ferry::test

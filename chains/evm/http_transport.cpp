#include "chains/evm/http_transport.hpp"

#include "chains/url.hpp"
#include "crypto/types.hpp"  // secure_wipe

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace ferry::chains::evm {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Code = RpcError::Code;
using boost::system::error_code;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k]));
    };
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
    }
    if (const auto rest = in.size() - i; rest > 0) {
        std::uint32_t v = byte(i) << 16;
        if (rest == 2) v |= byte(i + 1) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

/// One keep-alive connection: plain TCP or TLS over TCP, with its read buffer.
struct Connection {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;

    beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    void close() noexcept {
        error_code ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp().socket().close(ignored);
    }
};

struct Exchange {
    RpcResult<HttpResponse> response;
    bool stale = false;  // the peer had closed the (reused) connection before answering
    bool keep_alive = false;
};

}  // namespace

RpcResult<EndpointUrl> parse_endpoint_url(std::string_view url) {
    auto parsed = parse_http_url(url);
    if (!parsed)
        return make_rpc_error(Code::invalid_argument, "bad endpoint URL " + redact_url(url) + ": " +
                                                          parsed.error().message());
    EndpointUrl out;
    out.tls = parsed->tls;
    out.host = std::move(parsed->host);
    out.port = std::to_string(parsed->port);
    out.target = std::move(parsed->target);
    if (!parsed->userinfo.empty()) out.basic_auth = base64(parsed->userinfo);
    out.redacted = std::move(parsed->redacted);
    return out;
}

struct HttpTransport::Impl {
    asio::any_io_executor executor;
    EndpointUrl url;
    HttpOptions options;
    std::string host_header;
    std::unique_ptr<ssl::context> tls_context;
    std::vector<std::unique_ptr<Connection>> idle;
    std::uint64_t opened = 0;
    std::uint64_t refused = 0;

    ~Impl() { close_idle(); }

    void close_idle() noexcept {
        for (auto& c : idle) c->close();
        idle.clear();
    }

    RpcError error(Code code, std::string message) const {
        return make_rpc_error(code, std::move(message), url.redacted);
    }

    RpcError transport_error(const error_code& ec, std::string_view stage,
                             std::chrono::milliseconds limit) const {
        const std::string what = std::string(stage) + ": ";
        if (ec == beast::error::timeout)
            return error(Code::timeout, std::string(stage) + " timed out after " +
                                            std::to_string(limit.count()) + " ms");
        if (ec == asio::error::operation_aborted) return error(Code::cancelled, what + "cancelled");
        if (ec == http::error::body_limit)
            return error(Code::response_too_large, what + "response body larger than " +
                                                       std::to_string(options.max_response_bytes) +
                                                       " bytes");
        if (ec == http::error::header_limit)
            return error(Code::response_too_large, what + "response headers too large");
        if (ec == http::error::end_of_stream || ec == http::error::partial_message)
            return error(Code::connection_failed,
                         what + "connection closed before the response was complete");
        if (ec.category() == http::make_error_code(http::error::bad_version).category())
            return error(Code::malformed_response, what + "invalid HTTP response: " + ec.message());
        if (ec.category() == asio::error::get_ssl_category() ||
            ec.category() == asio::ssl::error::get_stream_category())
            return error(Code::tls_failed, what + ec.message());
        return error(Code::connection_failed, what + ec.message());
    }

    /// Resolve, connect and (for https) handshake, all within connect_timeout.
    Task<RpcResult<std::unique_ptr<Connection>>> connect() {
        const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
        // The system resolver cannot be interrupted; numeric hosts resolve without a lookup.
        tcp::resolver resolver(executor);
        auto [resolve_ec, endpoints] =
            co_await resolver.async_resolve(url.host, url.port, kNoThrow);
        if (resolve_ec) co_return transport_error(resolve_ec, "resolve", options.connect_timeout);

        auto conn = std::make_unique<Connection>();
        if (tls_context) {
            conn->tls =
                std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, *tls_context);
        } else {
            conn->plain = std::make_unique<beast::tcp_stream>(executor);
        }
        conn->tcp().expires_at(deadline);
        auto [connect_ec, ignored] = co_await conn->tcp().async_connect(endpoints, kNoThrow);
        if (connect_ec) co_return transport_error(connect_ec, "connect", options.connect_timeout);

        if (conn->tls) {
            SSL* ssl = conn->tls->native_handle();
            // SNI takes a DNS name only (RFC 6066); SSL_set_tlsext_host_name is a casting macro.
            if (!is_ip_literal(url.host))
                SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(url.host.c_str()));
            conn->tls->set_verify_callback(ssl::host_name_verification(url.host));
            auto [hs_ec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kNoThrow);
            if (hs_ec) {
                const long verify = SSL_get_verify_result(ssl);
                if (verify != X509_V_OK)
                    co_return error(Code::tls_failed,
                                    std::string("TLS certificate verification failed: ") +
                                        X509_verify_cert_error_string(verify));
                if (hs_ec.category() == asio::error::get_ssl_category() &&
                    ERR_GET_REASON(static_cast<unsigned long>(hs_ec.value())) ==
                        SSL_R_CERTIFICATE_VERIFY_FAILED)
                    co_return error(Code::tls_failed,
                                    "TLS certificate verification failed: certificate does not "
                                    "match host " +
                                        url.host);
                co_return transport_error(hs_ec, "TLS handshake", options.connect_timeout);
            }
        }
        conn->tcp().expires_never();
        co_return conn;
    }

    template <class Stream>
    Task<Exchange> exchange(Stream& stream, Connection& conn, const std::string& body,
                            const std::string& authorization) {
        http::request<http::string_body> req{http::verb::post, url.target, 11};
        req.set(http::field::host, host_header);
        req.set(http::field::user_agent, "ferry");
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "application/json");
        if (!authorization.empty()) {
            req.set(http::field::authorization, authorization);
        } else if (!url.basic_auth.empty()) {
            req.set(http::field::authorization, "Basic " + url.basic_auth);
        }
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();

        // One deadline covers writing the request and reading the whole response, so a server
        // that trickles bytes cannot hold the connection past it.
        conn.tcp().expires_after(options.request_timeout);
        Exchange out{error(Code::connection_failed, "")};
        auto [write_ec, written] = co_await http::async_write(stream, req, kNoThrow);
        wipe_authorization(req);
        if (write_ec) {
            out.stale =
                write_ec == asio::error::broken_pipe || write_ec == asio::error::connection_reset;
            out.response = transport_error(write_ec, "send", options.request_timeout);
            co_return out;
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(static_cast<std::uint64_t>(options.max_response_bytes));
        parser.header_limit(kHeaderLimit);
        auto [read_ec, read] = co_await http::async_read(stream, conn.buffer, parser, kNoThrow);
        if (read_ec) {
            out.stale = !parser.got_some() &&
                        (read_ec == http::error::end_of_stream ||
                         read_ec == asio::error::connection_reset || read_ec == asio::error::eof);
            out.response = transport_error(read_ec, "read", options.request_timeout);
            co_return out;
        }
        conn.tcp().expires_never();
        auto& res = parser.get();
        out.keep_alive = parser.keep_alive();
        std::string retry_after;
        if (const auto it = res.find(http::field::retry_after); it != res.end())
            retry_after = std::string(it->value());
        out.response =
            HttpResponse{res.result_int(), std::move(res.body()), std::move(retry_after)};
        co_return out;
    }

    /// The request's fields live on the heap until it is destroyed: wipe the credentials in
    /// place once they are sent.
    static void wipe_authorization(http::request<http::string_body>& req) noexcept {
        if (const auto it = req.find(http::field::authorization); it != req.end())
            crypto::secure_wipe(const_cast<char*>(it->value().data()), it->value().size());
    }

    Task<RpcResult<HttpResponse>> post(std::string body, std::string authorization) {
        auto result = co_await post_once_or_twice(body, authorization);
        crypto::secure_wipe(authorization.data(), authorization.size());
        co_return result;
    }

    /// The connection check on a fresh connection: the error that refuses it, or nullopt.
    Task<std::optional<RpcError>> check(Connection& conn, const std::string& authorization) {
        if (!options.connection_check) co_return std::nullopt;
        const ConnectionCheck& c = *options.connection_check;
        // (Not a conditional expression: GCC 12 destroys co_await results in one twice.)
        Exchange ex;
        if (conn.tls) {
            ex = co_await exchange(*conn.tls, conn, c.body, authorization);
        } else {
            ex = co_await exchange(*conn.plain, conn, c.body, authorization);
        }
        if (!ex.response) co_return std::move(ex.response.error());
        auto refusal = c.accept(*ex.response);
        if (refusal) {
            ++refused;
            co_return refusal;
        }
        if (!ex.keep_alive) co_return error(Code::connection_failed, "connection check: closed");
        co_return std::nullopt;
    }

    Task<RpcResult<HttpResponse>> post_once_or_twice(const std::string& body,
                                                     const std::string& authorization) {
        // A pooled connection the server has since closed fails at once; one retry on a fresh
        // connection hides that without resending after a real answer.
        for (int attempt = 0;; ++attempt) {
            std::unique_ptr<Connection> conn;
            // A reused connection, or a fresh one after its check, may have been closed by the
            // peer before this request: that is retried once on a fresh one.
            bool reused = !idle.empty();
            if (reused) {
                conn = std::move(idle.back());
                idle.pop_back();
            } else {
                auto fresh = co_await connect();
                if (!fresh) co_return fresh.error();
                conn = std::move(*fresh);
                ++opened;
                if (auto refusal = co_await check(*conn, authorization)) {
                    conn->close();
                    co_return std::move(*refusal);
                }
                reused = options.connection_check.has_value();
            }
            // (Not a conditional expression: GCC 12 destroys co_await results in one twice.)
            Exchange ex;
            if (conn->tls) {
                ex = co_await exchange(*conn->tls, *conn, body, authorization);
            } else {
                ex = co_await exchange(*conn->plain, *conn, body, authorization);
            }
            if (ex.response) {
                if (ex.keep_alive && idle.size() < options.max_idle_connections) {
                    idle.push_back(std::move(conn));
                } else {
                    conn->close();
                }
                co_return std::move(ex.response);
            }
            conn->close();
            if (!(reused && ex.stale && attempt == 0)) co_return std::move(ex.response);
        }
    }
};

RpcResult<HttpTransport> HttpTransport::create(asio::any_io_executor executor, std::string_view url,
                                               const HttpOptions& options) {
    auto parsed = parse_endpoint_url(url);
    if (!parsed) return parsed.error();
    auto impl = std::make_unique<Impl>();
    impl->executor = std::move(executor);
    impl->url = std::move(*parsed);
    impl->options = options;
    const bool ipv6 = impl->url.host.find(':') != std::string::npos;
    impl->host_header = ipv6 ? "[" + impl->url.host + "]" : impl->url.host;
    if (impl->url.port != (impl->url.tls ? "443" : "80")) impl->host_header += ":" + impl->url.port;
    if (impl->url.tls) {
        auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
        error_code ec;
        context->set_default_verify_paths(ec);  // no system store is not fatal with extra_ca_file
        if (!options.extra_ca_file.empty()) {
            context->load_verify_file(options.extra_ca_file, ec);
            if (ec)
                return make_rpc_error(
                    Code::invalid_argument,
                    "cannot load CA file " + options.extra_ca_file + ": " + ec.message(),
                    impl->url.redacted);
        }
        context->set_verify_mode(ssl::verify_peer, ec);
        impl->tls_context = std::move(context);
    }
    return HttpTransport(std::move(impl));
}

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
HttpTransport::HttpTransport(HttpTransport&&) noexcept = default;
HttpTransport& HttpTransport::operator=(HttpTransport&&) noexcept = default;
HttpTransport::~HttpTransport() = default;

Task<RpcResult<HttpResponse>> HttpTransport::post(std::string body, std::string authorization) {
    return impl_->post(std::move(body), std::move(authorization));
}

const std::string& HttpTransport::name() const noexcept { return impl_->url.redacted; }

void HttpTransport::close_idle() noexcept { impl_->close_idle(); }

std::uint64_t HttpTransport::connections_opened() const noexcept { return impl_->opened; }

std::uint64_t HttpTransport::connections_refused() const noexcept { return impl_->refused; }

}  // namespace ferry::chains::evm

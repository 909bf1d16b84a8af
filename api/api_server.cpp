#include "api/api_server.hpp"

#include "api/api_dispatch.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace ferry::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using chains::Task;
using nlohmann::json;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr int kMethodNotFound = -32601;
constexpr int kInternalError = -32603;
constexpr int kRateLimited = -32005;

/// Method names are echoed in errors only up to this length.
constexpr std::size_t kMaxEchoedName = 128;
/// After an error answer the rest of the request is read and dropped for at most this long /
/// this many bytes, so closing does not reset the connection before the client reads it.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::size_t kMaxLingerBytes = 16 << 20;
constexpr std::size_t kReadChunk = 4096;
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::string endpoint_text(const asio::ip::address& address, std::uint16_t port) {
    const std::string text = address.to_string();
    return address.is_v6() ? "[" + text + "]:" + std::to_string(port)
                           : text + ":" + std::to_string(port);
}

/// The client's address as the rate limit keys it (an IPv4-mapped IPv6 address as IPv4).
std::string client_key(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    return address.to_string();
}

bool is_loopback(const asio::ip::address& address) {
    if (address.is_v4()) return address.to_v4().is_loopback();
    const auto v6 = address.to_v6();
    if (v6.is_loopback()) return true;
    return v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// The token of "Bearer <token>" (scheme case-insensitive, RFC 7235), else nullopt.
std::optional<std::string> bearer_token(std::string_view header) {
    header = trim(header);
    constexpr std::string_view kScheme = "bearer";
    if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
    }
    const auto token = trim(header.substr(kScheme.size() + 1));
    if (token.empty()) return std::nullopt;
    return std::string(token);
}

std::string echoed_name(std::string_view name) {
    if (name.size() <= kMaxEchoedName) return std::string(name);
    return std::string(name.substr(0, kMaxEchoedName)) + "...";
}

/// Never throws on invalid UTF-8 (a handler may return arbitrary strings).
std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json error_response(int code, std::string message, json data, json id) {
    return rpc_error_response(code, std::move(message), std::move(data), std::move(id));
}

Response text_response(http::status status, unsigned version, std::string body) {
    Response res{status, version};
    res.set(http::field::server, "ferry");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    return res;
}

bool valid_field_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace

[[noreturn]] void throw_exception_from_error(const RpcMethodError& e,
                                             const boost::source_location&) {
    throw std::runtime_error("JSON-RPC error " + std::to_string(e.code) + ": " + e.message);
}

struct ApiServer::State {
    asio::any_io_executor executor;
    ApiServerOptions options;
    tcp::acceptor acceptor;
    asio::ip::address address;
    std::uint16_t port = 0;
    // Shared so that a handler (and a coroutine lambda's captures) outlives its replacement
    // while a call to it is still running.
    std::map<std::string, std::shared_ptr<const MethodHandler>, std::less<>> methods;
    std::map<std::string, std::shared_ptr<const GetHandler>, std::less<>> gets;
    ApiLogSink log_sink;
    ApiServerStats stats;
    // Open sessions' streams, so stop() can close them. Entries live while a session runs.
    std::unordered_map<std::uint64_t, beast::tcp_stream*> sessions;
    // Per-client token buckets (ApiRateLimit); "" is the bucket shared by clients that found
    // no place once rate_limit_max_clients were tracked.
    struct Bucket {
        double tokens = 0;
        std::chrono::steady_clock::time_point at;
    };
    std::unordered_map<std::string, Bucket> buckets;
    std::uint64_t next_session = 0;
    std::size_t active = 0;  // accepted connections whose session has not ended
    bool started = false;
    bool stopped = false;

    State(asio::any_io_executor ex, ApiServerOptions opts)
        : executor(std::move(ex)), options(std::move(opts)), acceptor(executor) {}

    void log(const std::string& line) noexcept {
        try {
            if (log_sink) {
                log_sink(line);
            } else {
                spdlog::warn("{}", line);
            }
        } catch (...) {  // a failing log sink must not take the server down
        }
    }

    void count_error(int code) {
        ++stats.rpc_errors;
        ++stats.errors_by_code[code];
    }

    /// Takes a token of `client`'s bucket: 0 when the request may go on, else the whole seconds
    /// (≥ 1) until the bucket holds a token again.
    std::uint64_t take_token(const std::string& client) {
        const double rate = options.rate_limit.per_second;
        if (rate <= 0) return 0;
        const double burst = std::max<double>(1.0, options.rate_limit.burst);
        const auto now = std::chrono::steady_clock::now();
        const auto level = [&](const Bucket& b) {
            const double elapsed = std::chrono::duration<double>(now - b.at).count();
            return std::min(burst, b.tokens + elapsed * rate);
        };
        auto it = buckets.find(client);
        if (it == buckets.end()) {
            if (buckets.size() >= std::max<std::size_t>(1, options.rate_limit_max_clients)) {
                // Forget clients whose buckets have refilled: they start full again anyway.
                for (auto b = buckets.begin(); b != buckets.end();) {
                    if (!b->first.empty() && level(b->second) >= burst) {
                        b = buckets.erase(b);
                    } else {
                        ++b;
                    }
                }
            }
            const bool room =
                buckets.size() < std::max<std::size_t>(1, options.rate_limit_max_clients);
            it = buckets.find(room ? client : std::string());
            if (it == buckets.end())
                it = buckets.emplace(room ? client : std::string(), Bucket{burst, now}).first;
        }
        Bucket& bucket = it->second;
        bucket.tokens = level(bucket);
        bucket.at = now;
        if (bucket.tokens >= 1.0) {
            bucket.tokens -= 1.0;
            return 0;
        }
        const double wait = (1.0 - bucket.tokens) / rate;
        return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(wait)));
    }

    Response refuse_rate_limited(const Request& request, const std::string& client,
                                 std::uint64_t retry_after) {
        ++stats.rate_limited;
        const std::string why =
            "rate limited: more than " + std::to_string(options.rate_limit.per_second) +
            " requests/s (burst " + std::to_string(options.rate_limit.burst) + ") from " + client +
            "; retry after " + std::to_string(retry_after) + " s";
        Response res{http::status::too_many_requests, request.version()};
        res.set(http::field::server, "ferry");
        res.set(http::field::retry_after, std::to_string(retry_after));
        if (request.method() == http::verb::post) {
            res.set(http::field::content_type, "application/json");
            res.body() = dump(error_response(kRateLimited, why, nullptr, nullptr));
        } else {
            res.set(http::field::content_type, "text/plain; charset=utf-8");
            res.body() = why + "\n";
        }
        return res;
    }

    void stop() noexcept {
        if (stopped) return;
        stopped = true;
        error_code ignored;
        acceptor.close(ignored);
        for (auto& [id, stream] : sessions) {
            stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream->close();
        }
    }

    /// Holds one of the max_connections places from accept until the session's frame is gone
    /// (even when the session never got to run).
    struct Slot {
        std::shared_ptr<State> state;
        explicit Slot(std::shared_ptr<State> s) : state(std::move(s)) { ++state->active; }
        Slot(Slot&& other) noexcept : state(std::move(other.state)) {}
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        Slot& operator=(Slot&&) = delete;
        ~Slot() {
            if (state) --state->active;
        }
    };

    static Task<void> accept_loop(std::shared_ptr<State> self) {
        for (;;) {
            auto [ec, socket] = co_await self->acceptor.async_accept(kNoThrow);
            if (self->stopped || ec == asio::error::operation_aborted) co_return;
            if (ec) {
                self->log("api: accept failed: " + ec.message());
                asio::steady_timer pause(self->executor, kAcceptBackoff);
                co_await pause.async_wait(kNoThrow);
                continue;
            }
            if (self->active >= self->options.max_connections) {
                ++self->stats.rejected_connections;
                error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
                continue;
            }
            asio::co_spawn(self->executor, session(Slot(self), std::move(socket)),
                           [weak = std::weak_ptr<State>(self)](std::exception_ptr failure) {
                               if (!failure) return;
                               if (auto state = weak.lock())
                                   state->log("api: connection ended by an exception");
                           });
        }
    }

    static Task<void> session(Slot slot, tcp::socket socket) {
        State& self = *slot.state;
        if (self.stopped) co_return;
        error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        const std::string remote = ec ? "unknown" : endpoint_text(peer.address(), peer.port());
        const std::string client = ec ? "unknown" : client_key(peer.address());
        beast::tcp_stream stream(std::move(socket));
        const std::uint64_t id = self.next_session++;
        self.sessions.emplace(id, &stream);
        struct Unregister {
            State& state;
            std::uint64_t id;
            ~Unregister() { state.sessions.erase(id); }
        } unregister{self, id};

        co_await self.serve(stream, remote, client);
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
    }

    /// Requests of one connection, in turn, until it closes, times out, errs or the server stops.
    Task<void> serve(beast::tcp_stream& stream, const std::string& remote,
                     const std::string& client) {
        beast::flat_buffer buffer;
        bool first = true;
        while (!stopped) {
            if (!first && buffer.size() == 0) {
                // Keep-alive: wait idle_timeout for the next request's first byte.
                stream.expires_after(options.idle_timeout);
                auto [idle_ec, n] =
                    co_await stream.async_read_some(buffer.prepare(kReadChunk), kNoThrow);
                if (idle_ec || stopped) co_return;
                buffer.commit(n);
            }
            first = false;
            // One deadline for the whole request, so trickling bytes does not extend it.
            stream.expires_after(options.read_timeout);

            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
                options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
            parser.body_limit(static_cast<std::uint64_t>(options.max_body_bytes));
            auto [header_ec, header_n] =
                co_await http::async_read_header(stream, buffer, parser, kNoThrow);
            if (header_ec) {
                co_await on_read_error(stream, header_ec);
                co_return;
            }
            if (stopped) co_return;
            if (!parser.is_done()) {
                if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                    auto [continue_ec, continue_n] = co_await asio::async_write(
                        stream, asio::buffer(kContinue.data(), kContinue.size()), kNoThrow);
                    if (continue_ec) co_return;
                }
                auto [body_ec, body_n] =
                    co_await http::async_read(stream, buffer, parser, kNoThrow);
                if (body_ec) {
                    co_await on_read_error(stream, body_ec);
                    co_return;
                }
            }
            stream.expires_never();
            if (stopped) co_return;
            ++stats.http_requests;

            Request request = parser.release();
            Response response;
            if (const auto retry_after = take_token(client); retry_after != 0) {
                response = refuse_rate_limited(request, client, retry_after);
            } else {
                response = co_await respond(request, remote);
            }
            if (stopped) co_return;
            response.version(request.version());
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            stream.expires_after(options.read_timeout);
            auto [write_ec, written] = co_await http::async_write(stream, response, kNoThrow);
            stream.expires_never();
            if (write_ec || !response.keep_alive()) co_return;
        }
    }

    /// A request that could not be read: answer what deserves an answer, then close.
    Task<void> on_read_error(beast::tcp_stream& stream, const error_code& ec) {
        if (ec == http::error::body_limit) {
            co_await reject(
                stream, http::status::payload_too_large,
                "request body larger than " + std::to_string(options.max_body_bytes) + " bytes\n");
        } else if (ec == http::error::header_limit) {
            co_await reject(stream, http::status::request_header_fields_too_large,
                            "request header larger than " +
                                std::to_string(options.max_header_bytes) + " bytes\n");
        } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message) {
            co_await reject(stream, http::status::bad_request,
                            "bad request: " + ec.message() + "\n");
        }
        // Timeouts, resets, a peer that closed mid-request, stop(): nothing to answer.
    }

    Task<void> reject(beast::tcp_stream& stream, http::status status, std::string text) {
        ++stats.bad_requests;
        if (stopped) co_return;
        Response res = text_response(status, 11, std::move(text));
        res.keep_alive(false);
        res.prepare_payload();
        stream.expires_after(options.read_timeout);
        auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
        if (ec) co_return;
        // Drain what the client is still sending (up to a limit) so that closing does not reset
        // the connection and destroy the answer before the client has read it.
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream.expires_after(std::min(options.read_timeout, kMaxLinger));
        std::array<char, kReadChunk> sink{};
        std::size_t drained = 0;
        while (drained < kMaxLingerBytes && !stopped) {
            auto [read_ec, read_n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
            if (read_ec) break;
            drained += read_n;
        }
    }

    Task<Response> respond(const Request& request, const std::string& remote) {
        RequestContext context;
        context.remote = remote;
        context.bearer_token = bearer_token(request[http::field::authorization]);
        const unsigned version = request.version();
        try {
            if (request.method() == http::verb::post) {
                std::optional<std::string> body = co_await handle_rpc(request.body(), context);
                if (!body) {
                    Response res{http::status::no_content, version};
                    res.set(http::field::server, "ferry");
                    co_return res;
                }
                Response res{http::status::ok, version};
                res.set(http::field::server, "ferry");
                res.set(http::field::content_type, "application/json");
                res.body() = std::move(*body);
                co_return res;
            }
            if (request.method() == http::verb::get)
                co_return co_await handle_get(request, context);
            ++stats.bad_requests;
            Response res =
                text_response(http::status::method_not_allowed, version, "method not allowed\n");
            res.set(http::field::allow, "GET, POST");
            co_return res;
        } catch (...) {
            log("api: answering a request failed with an exception; answered 500");
        }
        co_return text_response(http::status::internal_server_error, version, "internal error\n");
    }

    Task<Response> handle_get(const Request& request, const RequestContext& context) {
        const std::string_view target = request.target();
        const std::string_view path = target.substr(0, target.find('?'));
        const auto found = gets.find(path);
        if (found == gets.end())
            co_return text_response(http::status::not_found, request.version(), "not found\n");
        const auto handler = found->second;
        const std::string name(path.substr(0, kMaxEchoedName));
        std::optional<HttpReply> reply;
        try {
            reply = co_await (*handler)(context);
        } catch (...) {
            reply.reset();
        }
        if (!reply || reply->status < 200 || reply->status > 599 ||
            !valid_field_value(reply->content_type)) {
            log("api: GET " + name + " failed; answered 500");
            co_return text_response(http::status::internal_server_error, request.version(),
                                    "internal error\n");
        }
        Response res{static_cast<http::status>(reply->status), request.version()};
        res.set(http::field::server, "ferry");
        res.set(http::field::content_type, reply->content_type);
        if (reply->status != 204 && reply->status != 304) res.body() = std::move(reply->body);
        co_return res;
    }

    /// The JSON answer to a POST body, or nullopt when nothing is to be answered (notifications).
    Task<std::optional<std::string>> handle_rpc(const std::string& body,
                                                const RequestContext& context) {
        auto parsed = parse_rpc_body(body, options.max_batch);
        if (!parsed) {
            ++stats.rpc_calls;
            count_error(parsed.error().code);
            co_return dump(error_response(parsed.error().code, std::move(parsed.error().message),
                                          nullptr, nullptr));
        }
        const json& document = parsed->document;
        if (!parsed->batch) {
            std::optional<json> answer = co_await call(document, context);
            if (!answer) co_return std::nullopt;
            co_return dump(*answer);
        }
        json answers = json::array();
        for (const json& entry : document) {
            std::optional<json> answer = co_await call(entry, context);
            if (answer) answers.push_back(std::move(*answer));
        }
        if (answers.empty()) co_return std::nullopt;
        co_return dump(answers);
    }

    /// One JSON-RPC request object; nullopt for a (valid) notification.
    Task<std::optional<json>> call(const json& request, const RequestContext& context) {
        ++stats.rpc_calls;
        const auto fail = [this](int code, std::string message, json id) {
            count_error(code);
            return std::optional<json>(error_response(code, std::move(message), nullptr, id));
        };
        auto parsed = parse_rpc_request(request);
        if (!parsed)
            co_return fail(parsed.error().code, std::move(parsed.error().message),
                           std::move(parsed.error().id));
        json id = std::move(parsed->id);
        const bool has_id = parsed->has_id;
        const std::string& method = parsed->method;
        const json* params = parsed->params;

        const auto found = methods.find(method);
        if (found == methods.end()) {
            auto answer =
                fail(kMethodNotFound, "method '" + echoed_name(method) + "' not found", id);
            if (!has_id) co_return std::nullopt;
            co_return answer;
        }
        const auto handler = found->second;
        std::optional<MethodResult> result;
        try {
            result.emplace(co_await (*handler)(*params, context));
        } catch (...) {
            result.reset();
        }
        if (!result) {
            // The exception text may hold secrets; neither the client nor the log gets it.
            log("api: method '" + echoed_name(method) + "' threw; answered -32603 internal error");
            result.emplace(RpcMethodError{kInternalError, "internal error",
                                          json{{"method", echoed_name(method)}}});
        }
        if (result->has_error()) {
            RpcMethodError error = result->error();
            count_error(error.code);
            if (!has_id) co_return std::nullopt;
            co_return error_response(error.code, std::move(error.message), std::move(error.data),
                                     std::move(id));
        }
        if (!has_id) co_return std::nullopt;
        co_return json{{"jsonrpc", "2.0"}, {"result", std::move(**result)}, {"id", std::move(id)}};
    }
};

boost::system::result<std::unique_ptr<ApiServer>, std::string> ApiServer::create(
    asio::any_io_executor ex, ApiServerOptions options) {
    std::string host = options.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    const bool ipv6_text = host.find(':') != std::string::npos;
    const std::string where =
        (ipv6_text ? "[" + host + "]" : options.host) + ":" + std::to_string(options.port);
    const std::string cannot = "cannot listen on " + where + ": ";

    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return cannot + "bad address '" + options.host + "' (expected an IP address)";
    if (!is_loopback(address) && !options.allow_non_loopback)
        return cannot + address.to_string() +
               " is not a loopback address (set api.allow_non_loopback to listen on it)";

    auto state = std::make_shared<State>(std::move(ex), std::move(options));
    state->address = address;
    const tcp::endpoint endpoint(address, state->options.port);
    auto& acceptor = state->acceptor;
    if (acceptor.open(endpoint.protocol(), ec); ec) return cannot + ec.message();
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);  // restart after TIME_WAIT
    if (acceptor.bind(endpoint, ec); ec) {
        if (ec == asio::error::address_in_use) return cannot + "address already in use";
        if (ec == boost::system::errc::address_not_available)
            return cannot + "address not available on this host";
        return cannot + ec.message();
    }
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
        return cannot + ec.message();
    const auto local = acceptor.local_endpoint(ec);
    if (ec) return cannot + ec.message();
    state->port = local.port();
    return std::unique_ptr<ApiServer>(new ApiServer(std::move(state)));
}

ApiServer::ApiServer(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}

ApiServer::~ApiServer() { state_->stop(); }

void ApiServer::add_method(std::string name, MethodHandler handler) {
    state_->methods.insert_or_assign(std::move(name),
                                     std::make_shared<const MethodHandler>(std::move(handler)));
}

void ApiServer::add_get(std::string path, GetHandler handler) {
    state_->gets.insert_or_assign(std::move(path),
                                  std::make_shared<const GetHandler>(std::move(handler)));
}

void ApiServer::set_log_sink(ApiLogSink sink) { state_->log_sink = std::move(sink); }

void ApiServer::start() {
    if (state_->started || state_->stopped) return;
    state_->started = true;
    asio::co_spawn(state_->executor, State::accept_loop(state_),
                   [weak = std::weak_ptr<State>(state_)](std::exception_ptr failure) {
                       if (!failure) return;
                       if (auto state = weak.lock())
                           state->log("api: accept loop ended by an exception; no new connections");
                   });
}

void ApiServer::stop() { state_->stop(); }

std::uint16_t ApiServer::port() const noexcept { return state_->port; }

std::string ApiServer::listen_address() const {
    return endpoint_text(state_->address, state_->port);
}

const ApiServerStats& ApiServer::stats() const noexcept { return state_->stats; }

}  // namespace ferry::api

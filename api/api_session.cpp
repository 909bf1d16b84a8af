// The server's connections: accepting within max_connections, reading each request within its
// size limits and deadlines, the per-client rate limit, writing the answers, keep-alive.
#include "api/api_server_state.hpp"

#include "api/api_dispatch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <utility>

namespace ferry::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using chains::Task;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr int kRateLimited = -32005;

/// After an error answer the rest of the request is read and dropped for at most this long /
/// this many bytes, so closing does not reset the connection before the client reads it.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::size_t kMaxLingerBytes = 16 << 20;
constexpr std::size_t kReadChunk = 4096;
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

/// The client's address as the rate limit keys it (an IPv4-mapped IPv6 address as IPv4).
std::string client_key(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
    return address.to_string();
}

}  // namespace

Task<void> ApiServer::State::accept_loop(std::shared_ptr<State> self) {
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

Task<void> ApiServer::State::session(Slot slot, tcp::socket socket) {
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
Task<void> ApiServer::State::serve(beast::tcp_stream& stream, const std::string& remote,
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
            auto [body_ec, body_n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
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
        if (const auto retry_after = rate_limiter.take(client); retry_after != 0) {
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
Task<void> ApiServer::State::on_read_error(beast::tcp_stream& stream, const error_code& ec) {
    if (ec == http::error::body_limit) {
        co_await reject(
            stream, http::status::payload_too_large,
            "request body larger than " + std::to_string(options.max_body_bytes) + " bytes\n");
    } else if (ec == http::error::header_limit) {
        co_await reject(
            stream, http::status::request_header_fields_too_large,
            "request header larger than " + std::to_string(options.max_header_bytes) + " bytes\n");
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
        co_await reject(stream, http::status::bad_request, "bad request: " + ec.message() + "\n");
    }
    // Timeouts, resets, a peer that closed mid-request, stop(): nothing to answer.
}

Task<void> ApiServer::State::reject(beast::tcp_stream& stream, http::status status,
                                    std::string text) {
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

Response ApiServer::State::refuse_rate_limited(const Request& request, const std::string& client,
                                               std::uint64_t retry_after) {
    ++stats.rate_limited;
    const std::string why = "rate limited: more than " +
                            std::to_string(options.rate_limit.per_second) + " requests/s (burst " +
                            std::to_string(options.rate_limit.burst) + ") from " + client +
                            "; retry after " + std::to_string(retry_after) + " s";
    Response res{http::status::too_many_requests, request.version()};
    res.set(http::field::server, "ferry");
    res.set(http::field::retry_after, std::to_string(retry_after));
    if (request.method() == http::verb::post) {
        res.set(http::field::content_type, "application/json");
        res.body() = dump_json(rpc_error_response(kRateLimited, why, nullptr, nullptr));
    } else {
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = why + "\n";
    }
    return res;
}

}  // namespace ferry::api

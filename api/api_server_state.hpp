// The inside of ApiServer, shared by its files: api_server.cpp (listening and lifetime),
// api_session.cpp (connections: reading requests within their limits and deadlines, the rate
// limit, writing answers) and api_calls.cpp (answering one request: GET paths and JSON-RPC
// calls to the registered handlers). Only for api/.
#pragma once

#include "api/api_server.hpp"
#include "api/rate_limiter.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace ferry::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/// "127.0.0.1:8645", or "[::1]:8645" for IPv6.
std::string endpoint_text(const boost::asio::ip::address& address, std::uint16_t port);

/// Never throws on invalid UTF-8 (a handler may return arbitrary strings).
std::string dump_json(const nlohmann::json& value);

/// A plain-text answer of the server.
Response text_response(boost::beast::http::status status, unsigned version, std::string body);

struct ApiServer::State {
    boost::asio::any_io_executor executor;
    ApiServerOptions options;
    boost::asio::ip::tcp::acceptor acceptor;
    boost::asio::ip::address address;
    std::uint16_t port = 0;
    // Shared so that a handler (and a coroutine lambda's captures) outlives its replacement
    // while a call to it is still running.
    std::map<std::string, std::shared_ptr<const MethodHandler>, std::less<>> methods;
    std::map<std::string, std::shared_ptr<const GetHandler>, std::less<>> gets;
    ApiLogSink log_sink;
    ApiServerStats stats;
    // Open sessions' streams, so stop() can close them. Entries live while a session runs.
    std::unordered_map<std::uint64_t, boost::beast::tcp_stream*> sessions;
    RateLimiter rate_limiter;
    std::uint64_t next_session = 0;
    std::size_t active = 0;  // accepted connections whose session has not ended
    bool started = false;
    bool stopped = false;

    State(boost::asio::any_io_executor ex, ApiServerOptions opts);

    void log(const std::string& line) noexcept;
    void count_error(int code);
    void stop() noexcept;

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

    // Connections (api_session.cpp).
    static chains::Task<void> accept_loop(std::shared_ptr<State> self);
    static chains::Task<void> session(Slot slot, boost::asio::ip::tcp::socket socket);
    chains::Task<void> serve(boost::beast::tcp_stream& stream, const std::string& remote,
                             const std::string& client);
    chains::Task<void> on_read_error(boost::beast::tcp_stream& stream,
                                     const boost::system::error_code& ec);
    chains::Task<void> reject(boost::beast::tcp_stream& stream, boost::beast::http::status status,
                              std::string text);
    Response refuse_rate_limited(const Request& request, const std::string& client,
                                 std::uint64_t retry_after);

    // Answers (api_calls.cpp).
    chains::Task<Response> respond(const Request& request, const std::string& remote);
    chains::Task<Response> handle_get(const Request& request, const RequestContext& context);
    /// The JSON answer to a POST body, or nullopt when nothing is to be answered (notifications).
    chains::Task<std::optional<std::string>> handle_rpc(const std::string& body,
                                                        const RequestContext& context);
    /// One JSON-RPC request object; nullopt for a (valid) notification.
    chains::Task<std::optional<nlohmann::json>> call(const nlohmann::json& request,
                                                     const RequestContext& context);
};

}  // namespace ferry::api

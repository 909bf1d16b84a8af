// Listening, the server's lifetime and registry; connections are in api_session.cpp and the
// answers in api_calls.cpp.
#include "api/api_server.hpp"

#include "api/api_server_state.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <stdexcept>
#include <utility>

namespace ferry::api {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using nlohmann::json;

bool is_loopback(const asio::ip::address& address) {
    if (address.is_v4()) return address.to_v4().is_loopback();
    const auto v6 = address.to_v6();
    if (v6.is_loopback()) return true;
    return v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
}

}  // namespace

std::string endpoint_text(const asio::ip::address& address, std::uint16_t port) {
    const std::string text = address.to_string();
    return address.is_v6() ? "[" + text + "]:" + std::to_string(port)
                           : text + ":" + std::to_string(port);
}

std::string dump_json(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response text_response(http::status status, unsigned version, std::string body) {
    Response res{status, version};
    res.set(http::field::server, "ferry");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    return res;
}

[[noreturn]] void throw_exception_from_error(const RpcMethodError& e,
                                             const boost::source_location&) {
    throw std::runtime_error("JSON-RPC error " + std::to_string(e.code) + ": " + e.message);
}

ApiServer::State::State(asio::any_io_executor ex, ApiServerOptions opts)
    : executor(std::move(ex)),
      options(std::move(opts)),
      acceptor(executor),
      rate_limiter(options.rate_limit, options.rate_limit_max_clients) {}

void ApiServer::State::log(const std::string& line) noexcept {
    try {
        if (log_sink) {
            log_sink(line);
        } else {
            spdlog::warn("{}", line);
        }
    } catch (...) {  // a failing log sink must not take the server down
    }
}

void ApiServer::State::count_error(int code) {
    ++stats.rpc_errors;
    ++stats.errors_by_code[code];
}

void ApiServer::State::stop() noexcept {
    if (stopped) return;
    stopped = true;
    error_code ignored;
    acceptor.close(ignored);
    for (auto& [id, stream] : sessions) {
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream->close();
    }
}

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

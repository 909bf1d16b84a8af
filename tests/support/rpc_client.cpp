#include "tests/support/rpc_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <stdexcept>

namespace ferry::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr std::string_view kScheme = "http://";
constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;

}  // namespace

RpcClient::RpcClient(std::string_view url, std::chrono::milliseconds timeout) : timeout_(timeout) {
    if (!url.starts_with(kScheme))
        throw std::invalid_argument("not an http:// URL: " + std::string(url));
    std::string_view rest = url.substr(kScheme.size());
    const auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
        target_ = std::string(rest.substr(slash));
        rest = rest.substr(0, slash);
    }
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        throw std::invalid_argument("URL without host:port: " + std::string(url));
    host_ = std::string(rest.substr(0, colon));
    const std::string_view port = rest.substr(colon + 1);
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_);
    if (ec != std::errc{} || end != port.data() + port.size() || port_ == 0)
        throw std::invalid_argument("URL with a bad port: " + std::string(url));
}

nlohmann::json RpcClient::call(const std::string& method, nlohmann::json params) {
    const nlohmann::json request = {
        {"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", std::move(params)}};

    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout_);
    stream.connect(resolver.resolve(host_, std::to_string(port_)));

    http::request<http::string_body> req{http::verb::post, target_, 11};
    req.set(http::field::host, host_ + ":" + std::to_string(port_));
    req.set(http::field::content_type, "application/json");
    req.body() = request.dump();
    req.prepare_payload();
    stream.expires_after(timeout_);
    http::write(stream, req);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    stream.expires_after(timeout_);
    http::read(stream, buffer, parser);
    const auto& res = parser.get();

    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    if (res.result() != http::status::ok)
        throw std::runtime_error(method + ": HTTP " + std::to_string(res.result_int()) + ": " +
                                 res.body());
    const auto answer = nlohmann::json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object()) throw std::runtime_error(method + ": answer is not a JSON object");
    if (answer.contains("error")) {
        const auto& error = answer["error"];
        throw RpcError(error.value("code", std::int64_t{0}),
                       method + ": " + error.value("message", std::string("(no message)")));
    }
    if (!answer.contains("result")) throw std::runtime_error(method + ": answer has no result");
    return answer["result"];
}

}  // namespace ferry::test

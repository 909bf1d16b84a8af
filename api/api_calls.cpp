// Answering one request: GET paths and JSON-RPC 2.0 calls (single or batched) to the
// registered handlers, with the standard errors; a handler's exception never reaches the client.
#include "api/api_server_state.hpp"

#include "api/api_dispatch.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

namespace ferry::api {
namespace {

namespace http = boost::beast::http;
using chains::Task;
using nlohmann::json;

constexpr int kMethodNotFound = -32601;
constexpr int kInternalError = -32603;

/// Method names are echoed in errors only up to this length.
constexpr std::size_t kMaxEchoedName = 128;

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

bool valid_field_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace

Task<Response> ApiServer::State::respond(const Request& request, const std::string& remote) {
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
        if (request.method() == http::verb::get) co_return co_await handle_get(request, context);
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

Task<Response> ApiServer::State::handle_get(const Request& request, const RequestContext& context) {
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

Task<std::optional<std::string>> ApiServer::State::handle_rpc(const std::string& body,
                                                              const RequestContext& context) {
    auto parsed = parse_rpc_body(body, options.max_batch);
    if (!parsed) {
        ++stats.rpc_calls;
        count_error(parsed.error().code);
        co_return dump_json(rpc_error_response(
            parsed.error().code, std::move(parsed.error().message), nullptr, nullptr));
    }
    const json& document = parsed->document;
    if (!parsed->batch) {
        std::optional<json> answer = co_await call(document, context);
        if (!answer) co_return std::nullopt;
        co_return dump_json(*answer);
    }
    json answers = json::array();
    for (const json& entry : document) {
        std::optional<json> answer = co_await call(entry, context);
        if (answer) answers.push_back(std::move(*answer));
    }
    if (answers.empty()) co_return std::nullopt;
    co_return dump_json(answers);
}

Task<std::optional<json>> ApiServer::State::call(const json& request,
                                                 const RequestContext& context) {
    ++stats.rpc_calls;
    const auto fail = [this](int code, std::string message, json id) {
        count_error(code);
        return std::optional<json>(rpc_error_response(code, std::move(message), nullptr, id));
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
        auto answer = fail(kMethodNotFound, "method '" + echoed_name(method) + "' not found", id);
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
        co_return rpc_error_response(error.code, std::move(error.message), std::move(error.data),
                                     std::move(id));
    }
    if (!has_id) co_return std::nullopt;
    co_return json{{"jsonrpc", "2.0"}, {"result", std::move(**result)}, {"id", std::move(id)}};
}

}  // namespace ferry::api

#include "api/api_dispatch.hpp"

#include "chains/evm/json.hpp"

#include <stdexcept>
#include <utility>

namespace ferry::api {
namespace {

using nlohmann::json;

RpcRequestError request_error(int code, std::string message, json id = nullptr) {
    RpcRequestError e;
    e.code = code;
    e.message = std::move(message);
    e.id = std::move(id);
    return e;
}

}  // namespace

[[noreturn]] void throw_exception_from_error(const RpcRequestError& e,
                                             const boost::source_location&) {
    throw std::runtime_error("JSON-RPC error " + std::to_string(e.code) + ": " + e.message);
}

boost::system::result<RpcBody, RpcRequestError> parse_rpc_body(std::string_view body,
                                                               std::size_t max_batch) {
    if (chains::evm::json_nested_deeper_than(body, kMaxRequestJsonDepth))
        return request_error(kJsonRpcParseError, "parse error: JSON nested deeper than " +
                                                     std::to_string(kMaxRequestJsonDepth) +
                                                     " levels");
    RpcBody out;
    try {
        out.document = json::parse(body);
    } catch (const json::exception& e) {
        std::string message = "parse error: invalid JSON";
        if (const auto* parse = dynamic_cast<const json::parse_error*>(&e))
            message += " at byte " + std::to_string(parse->byte);
        return request_error(kJsonRpcParseError, std::move(message));
    }
    if (!out.document.is_array()) return out;
    if (out.document.empty())
        return request_error(kJsonRpcInvalidRequest, "invalid request: empty batch");
    if (out.document.size() > max_batch)
        return request_error(kJsonRpcInvalidRequest,
                             "invalid request: batch of " + std::to_string(out.document.size()) +
                                 " calls exceeds the limit of " + std::to_string(max_batch));
    out.batch = true;
    return out;
}

boost::system::result<RpcRequest, RpcRequestError> parse_rpc_request(const json& request) {
    if (!request.is_object())
        return request_error(kJsonRpcInvalidRequest, "invalid request: expected an object");
    RpcRequest out;
    if (const auto it = request.find("id"); it != request.end()) {
        if (!it->is_string() && !it->is_number() && !it->is_null())
            return request_error(kJsonRpcInvalidRequest,
                                 "invalid request: \"id\" must be a string, a number or null");
        out.id = *it;
        out.has_id = true;
    }
    if (const auto it = request.find("jsonrpc");
        it == request.end() || !it->is_string() || it->get_ref<const std::string&>() != "2.0")
        return request_error(kJsonRpcInvalidRequest, "invalid request: \"jsonrpc\" must be \"2.0\"",
                             out.id);
    const auto method = request.find("method");
    if (method == request.end() || !method->is_string())
        return request_error(kJsonRpcInvalidRequest, "invalid request: \"method\" must be a string",
                             out.id);
    out.method = method->get_ref<const std::string&>();
    static const json kNoParams = nullptr;
    out.params = &kNoParams;
    if (const auto it = request.find("params"); it != request.end()) {
        if (!it->is_object() && !it->is_array())
            return request_error(kJsonRpcInvalidRequest,
                                 "invalid request: \"params\" must be an object or an array",
                                 out.id);
        out.params = &*it;
    }
    return out;
}

json rpc_error_response(int code, std::string message, json data, json id) {
    json error = {{"code", code}, {"message", std::move(message)}};
    if (!data.is_null()) error["data"] = std::move(data);
    return {{"jsonrpc", "2.0"}, {"error", std::move(error)}, {"id", std::move(id)}};
}

}  // namespace ferry::api

// Fuzzes the API server's JSON-RPC request parsing (api/api_dispatch.hpp, used by
// api/api_server.cpp) on untrusted POST bodies. Properties: the body is refused exactly
// when it is not JSON, nests too deep, or is an empty or oversized batch; each request object
// is accepted exactly when a reference model of JSON-RPC 2.0 accepts it, with the same method,
// id and params, and a refused one echoes its id only when the id was valid; every answer the
// server would write (an error, or a result) serialises to JSON that parses back with the id.
#include "api/api_dispatch.hpp"
#include "fuzz_check.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr const char* kFuzzTarget = "api_request_fuzz";
constexpr std::size_t kMaxBatch = 8;

using namespace ferry;
using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool valid_id(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }

/// JSON-RPC 2.0 §4, as the server applies it.
bool model_accepts(const json& r) {
    if (!r.is_object()) return false;
    if (const auto id = r.find("id"); id != r.end() && !valid_id(*id)) return false;
    const auto v = r.find("jsonrpc");
    if (v == r.end() || *v != "2.0") return false;
    const auto m = r.find("method");
    if (m == r.end() || !m->is_string()) return false;
    const auto p = r.find("params");
    return p == r.end() || p->is_object() || p->is_array();
}

/// The answer as the client would read it: serialised by the server, parsed back.
void check_answer(const json& answer, const json& id) {
    const json back = json::parse(dump(answer), nullptr, false);
    FUZZ_CHECK(!back.is_discarded(), "an answer does not serialise to JSON", "");
    FUZZ_CHECK(back.value("jsonrpc", "") == "2.0", "answer without jsonrpc 2.0", dump(back));
    // Numbers compare by value: "-0" parses as a signed zero and comes back unsigned.
    FUZZ_CHECK(back.contains("id") && back["id"] == id, "answer lost or changed its id",
               dump(back).substr(0, 300));
}

void check_request(const json& entry) {
    const auto parsed = api::parse_rpc_request(entry);
    const bool accepted = model_accepts(entry);
    FUZZ_CHECK(parsed.has_value() == accepted,
               accepted ? "a valid request was refused" : "an invalid request was accepted",
               dump(entry).substr(0, 300));
    if (!parsed) {
        const auto& e = parsed.error();
        FUZZ_CHECK(e.code == api::kJsonRpcInvalidRequest, "request error is not -32600", "");
        FUZZ_CHECK(!e.message.empty(), "request error without a message", "");
        const bool id_valid = entry.is_object() && entry.contains("id") && valid_id(entry["id"]);
        FUZZ_CHECK(e.id == (id_valid ? entry["id"] : json(nullptr)),
                   "request error echoes another id", dump(e.id));
        check_answer(api::rpc_error_response(e.code, e.message, nullptr, e.id), e.id);
        return;
    }
    const auto& r = *parsed;
    FUZZ_CHECK(r.method == entry["method"].get_ref<const std::string&>(), "method changed", "");
    FUZZ_CHECK(r.has_id == entry.contains("id"), "has_id is wrong", "");
    FUZZ_CHECK(r.id == (r.has_id ? entry["id"] : json(nullptr)), "id changed", "");
    FUZZ_CHECK(r.params != nullptr, "params pointer is null", "");
    FUZZ_CHECK(entry.contains("params") ? *r.params == entry["params"] : r.params->is_null(),
               "params changed", "");

    // The same call written canonically parses to the same request.
    json canon = {{"jsonrpc", "2.0"}, {"method", r.method}};
    if (entry.contains("params")) canon["params"] = *r.params;
    if (r.has_id) canon["id"] = r.id;
    const auto again = api::parse_rpc_request(canon);
    FUZZ_CHECK(again && again->method == r.method && again->id == r.id &&
                   again->has_id == r.has_id && *again->params == *r.params,
               "a canonical re-write parses differently", dump(canon).substr(0, 300));

    // The answers the server can give: not found (echoing the method), an error, a result.
    check_answer(
        api::rpc_error_response(-32601, "method '" + r.method + "' not found", nullptr, r.id),
        r.id);
    check_answer(api::rpc_error_response(-32602, "bad params", *r.params, r.id), r.id);
    check_answer(json{{"jsonrpc", "2.0"}, {"result", *r.params}, {"id", r.id}}, r.id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto parsed = api::parse_rpc_body(body, kMaxBatch);
    if (!parsed) {
        const auto& e = parsed.error();
        FUZZ_CHECK(e.id.is_null(), "a body error carries an id", "");
        FUZZ_CHECK(!e.message.empty(), "a body error without a message", "");
        if (e.code == api::kJsonRpcParseError) {
            // Refused as not JSON: either the parser agrees, or it nests too deep.
            const bool deep = e.message.find("nested deeper") != std::string::npos;
            FUZZ_CHECK(deep || !json::accept(body), "valid JSON refused as a parse error",
                       e.message);
        } else {
            FUZZ_CHECK(e.code == api::kJsonRpcInvalidRequest, "body error of another code", "");
            const json doc = json::parse(body, nullptr, false);
            FUZZ_CHECK(doc.is_array() && (doc.empty() || doc.size() > kMaxBatch),
                       "a batch of acceptable size was refused", "");
        }
        check_answer(api::rpc_error_response(e.code, e.message, nullptr, e.id), e.id);
        return 0;
    }
    FUZZ_CHECK(json::accept(body), "a body that is not JSON was accepted", "");
    const json& doc = parsed->document;
    FUZZ_CHECK(parsed->batch == doc.is_array(), "batch flag disagrees with the document", "");
    if (!parsed->batch) {
        check_request(doc);
        return 0;
    }
    FUZZ_CHECK(!doc.empty() && doc.size() <= kMaxBatch, "batch size outside 1..max_batch", "");
    for (const auto& entry : doc) check_request(entry);
    return 0;
}

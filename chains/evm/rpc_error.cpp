#include "chains/evm/rpc_error.hpp"

#include "chains/evm/abi.hpp"
#include "crypto/hex.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace ferry::chains::evm {
namespace {

using Code = RpcError::Code;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains_any(std::string_view haystack, std::initializer_list<std::string_view> needles) {
    return std::any_of(needles.begin(), needles.end(), [&](std::string_view n) {
        return haystack.find(n) != std::string_view::npos;
    });
}

// Node messages differ between clients (geth, erigon, nethermind, reth, anvil, hosted
// providers); these phrases are the ones they share or that each is known to use.
Code code_for_message(int json_rpc_code, std::string_view m) {
    if (json_rpc_code == 3 || contains_any(m, {"execution reverted", "vm execution error"}))
        return Code::execution_reverted;
    if (contains_any(m, {"nonce too low", "nonce is too low", "oldnonce"}))
        return Code::nonce_too_low;
    if (contains_any(m, {"replacement transaction underpriced", "replacement underpriced",
                         "replacement fee too low"}))
        return Code::replacement_underpriced;
    if (contains_any(m, {"insufficient funds", "insufficient balance"}))
        return Code::insufficient_funds;
    if (contains_any(m, {"already known", "known transaction", "already imported", "alreadyknown",
                         "transaction already exists"}))
        return Code::already_known;
    if (contains_any(m, {"max fee per gas less than block base fee", "transaction underpriced",
                         "fee cap less than block base fee", "feetoolow"}))
        return Code::fee_too_low;
    if (contains_any(m, {"invalid block range", "invalid argument", "invalid params"}))
        return Code::invalid_request;
    if (contains_any(m, {"rate limit", "too many requests", "request limit", "capacity exceeded"}))
        return Code::rate_limited;
    if (contains_any(m, {"query returned more than", "block range", "range too large",
                         "range is too large", "range too wide", "too many results",
                         "response size exceeded", "response size should not",
                         "exceed maximum block range", "exceeds max results", "logs matched"}))
        return Code::log_range_too_large;
    if (contains_any(m, {"header not found", "unknown block", "block not found",
                         "missing trie node", "state not available"}))
        return Code::header_not_found;
    if (contains_any(m, {"intrinsic gas too low", "exceeds block gas limit", "invalid sender",
                         "invalid chain id", "only replay-protected", "exceeds the configured cap",
                         "gas limit reached", "oversized data", "nonce too high"}))
        return Code::transaction_rejected;
    switch (json_rpc_code) {
        case -32601:
            return Code::method_not_found;
        case -32600:
        case -32602:
        case -32700:
            return Code::invalid_request;
        case -32003:
            return Code::transaction_rejected;  // EIP-1474 "transaction rejected"
        case -32005:
            return Code::rate_limited;  // EIP-1474 "limit exceeded"
        default:
            break;
    }
    // Unknown errors stay transient: wrongly calling a failure permanent would make the
    // pipeline give up on a packet, while wrongly calling it transient costs a bounded retry.
    return Code::node_error;
}

std::string describe_revert(const RevertReason& reason) {
    if (reason.kind == RevertReason::Kind::error_string) return reason.message;
    return describe(reason);
}

}  // namespace

RpcError::Kind kind_of(RpcError::Code code) noexcept {
    switch (code) {
        case Code::timeout:
        case Code::connection_failed:
        case Code::tls_failed:
        case Code::rate_limited:
        case Code::server_unavailable:
        case Code::http_error:
        case Code::response_too_large:
        case Code::malformed_response:
        case Code::header_not_found:
        case Code::method_not_found:
        case Code::node_error:
        case Code::cancelled:
        case Code::wrong_chain:
            return RpcError::Kind::transient;
        case Code::invalid_argument:
        case Code::invalid_request:
        case Code::log_range_too_large:
        case Code::nonce_too_low:
        case Code::replacement_underpriced:
        case Code::fee_too_low:
        case Code::insufficient_funds:
        case Code::already_known:
        case Code::transaction_rejected:
        case Code::execution_reverted:
            return RpcError::Kind::permanent;
    }
    return RpcError::Kind::transient;
}

std::string_view to_string(RpcError::Code code) noexcept {
    switch (code) {
        case Code::timeout:
            return "timeout";
        case Code::connection_failed:
            return "connection_failed";
        case Code::tls_failed:
            return "tls_failed";
        case Code::rate_limited:
            return "rate_limited";
        case Code::server_unavailable:
            return "server_unavailable";
        case Code::http_error:
            return "http_error";
        case Code::response_too_large:
            return "response_too_large";
        case Code::malformed_response:
            return "malformed_response";
        case Code::header_not_found:
            return "header_not_found";
        case Code::method_not_found:
            return "method_not_found";
        case Code::node_error:
            return "node_error";
        case Code::cancelled:
            return "cancelled";
        case Code::wrong_chain:
            return "wrong_chain";
        case Code::invalid_argument:
            return "invalid_argument";
        case Code::invalid_request:
            return "invalid_request";
        case Code::log_range_too_large:
            return "log_range_too_large";
        case Code::nonce_too_low:
            return "nonce_too_low";
        case Code::replacement_underpriced:
            return "replacement_underpriced";
        case Code::fee_too_low:
            return "fee_too_low";
        case Code::insufficient_funds:
            return "insufficient_funds";
        case Code::already_known:
            return "already_known";
        case Code::transaction_rejected:
            return "transaction_rejected";
        case Code::execution_reverted:
            return "execution_reverted";
    }
    return "unknown";
}

std::string RpcError::to_string() const {
    std::string out = endpoint.empty() ? std::string() : endpoint + ": ";
    out += evm::to_string(code);
    if (!message.empty()) out += ": " + message;
    if (revert_reason) out += " (" + *revert_reason + ")";
    return out;
}

RpcError make_rpc_error(RpcError::Code code, std::string message, std::string endpoint) {
    RpcError e;
    e.kind = kind_of(code);
    e.code = code;
    e.message = std::move(message);
    e.endpoint = std::move(endpoint);
    return e;
}

RpcError classify_json_rpc_error(int code, std::string_view message,
                                 std::optional<std::string_view> data_hex, std::string endpoint) {
    RpcError e = make_rpc_error(code_for_message(code, lower(message)), std::string(message),
                                std::move(endpoint));
    e.json_rpc_code = code;
    if (e.code != Code::execution_reverted) return e;
    if (data_hex) {
        if (auto data = crypto::from_hex(*data_hex, crypto::HexPrefix::optional)) {
            e.revert_data = std::move(*data);
            if (auto reason = decode_revert(e.revert_data)) {
                e.revert_reason = describe_revert(*reason);
            } else {
                e.revert_reason = "undecodable revert data (" + reason.error().message() + ")";
            }
        }
    }
    if (!e.revert_reason) {
        // No data: some nodes put the reason into the message only.
        static constexpr std::string_view kPrefix = "execution reverted: ";
        const std::string lowered = lower(message);
        if (const auto at = lowered.find(kPrefix); at != std::string::npos)
            e.revert_reason = std::string(message.substr(at + kPrefix.size()));
    }
    return e;
}

void throw_exception_from_error(const RpcError& e, const boost::source_location&) {
    throw std::runtime_error(e.to_string());
}

}  // namespace ferry::chains::evm

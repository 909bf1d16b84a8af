#include "chains/evm/rpc_client.hpp"

#include "chains/evm/json.hpp"
#include "crypto/keccak.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <limits>
#include <utility>

namespace ferry::chains::evm {
namespace {

using nlohmann::json;
using Code = RpcError::Code;
using Clock = std::chrono::steady_clock;

/// Nesting allowed in an answer. The deepest legitimate one (a batch of receipts with logs and
/// topics) is under 10; the limit keeps a hostile "[[[[..." from recursing deep in the
/// JSON library when the document is later copied or compared.
constexpr std::size_t kMaxJsonDepth = 64;

RpcError malformed(std::string_view method, std::string what, const std::string& endpoint) {
    return make_rpc_error(Code::malformed_response, std::string(method) + ": " + what, endpoint);
}

/// A JSON-RPC error object; malformed when it is not one.
RpcError error_from_object(std::string_view method, const json& err, const std::string& endpoint) {
    if (!err.is_object()) return malformed(method, "error is not an object", endpoint);
    const auto code = err.find("code");
    if (code == err.end() || !code->is_number_integer())
        return malformed(method, "error has no integer code", endpoint);
    const auto wide = code->get<std::int64_t>();
    const int value =
        wide >= std::numeric_limits<int>::min() && wide <= std::numeric_limits<int>::max()
            ? static_cast<int>(wide)
            : 0;
    std::string_view message;
    if (const auto m = err.find("message"); m != err.end() && m->is_string())
        message = m->get_ref<const std::string&>();
    std::optional<std::string_view> data;
    if (const auto d = err.find("data"); d != err.end()) {
        if (d->is_string()) {
            data = d->get_ref<const std::string&>();
        } else if (d->is_object()) {
            // Some providers nest it: {"data": {"message": ..., "data": "0x.."}}.
            if (const auto inner = d->find("data"); inner != d->end() && inner->is_string())
                data = inner->get_ref<const std::string&>();
        }
    }
    return classify_json_rpc_error(value, message, data, endpoint);
}

/// The "result" of a single answer with id `id`, or its classified error.
RpcResult<json> unwrap(std::string_view method, json& doc, std::uint64_t id,
                       const std::string& endpoint) {
    if (!doc.is_object()) return malformed(method, "answer is not a JSON object", endpoint);
    const auto id_it = doc.find("id");
    const bool id_matches = id_it != doc.end() && *id_it == json(id);
    if (const auto err = doc.find("error"); err != doc.end() && !err->is_null()) {
        // A node that could not read the request answers with a null id.
        if (!id_matches && !(id_it != doc.end() && id_it->is_null()))
            return malformed(method, "error answer carries another id", endpoint);
        return error_from_object(method, *err, endpoint);
    }
    if (!id_matches) return malformed(method, "answer carries another id", endpoint);
    const auto result = doc.find("result");
    if (result == doc.end())
        return malformed(method, "answer has neither result nor error", endpoint);
    return RpcResult<json>(boost::system::in_place_value, std::move(*result));
}

template <class T>
RpcResult<T> checked(Result<T> r, std::string_view method, const std::string& endpoint) {
    if (!r) return malformed(method, "unexpected result: " + r.error().message(), endpoint);
    return std::move(*r);
}

/// The eth_chainId check every new connection to `endpoint` passes before it is used.
ConnectionCheck chain_id_check(std::uint64_t expected, std::string endpoint) {
    ConnectionCheck check;
    check.body = R"({"jsonrpc":"2.0","id":0,"method":"eth_chainId","params":[]})";
    check.accept = [expected, endpoint = std::move(endpoint)](
                       const HttpResponse& res) -> std::optional<RpcError> {
        constexpr std::string_view kMethod = "eth_chainId (connection check)";
        if (res.status != 200)
            return make_rpc_error(Code::http_error,
                                  std::string(kMethod) + ": HTTP " + std::to_string(res.status),
                                  endpoint);
        json doc = json_nested_deeper_than(res.body, kMaxJsonDepth)
                       ? json(json::value_t::discarded)
                       : json::parse(res.body, nullptr, false);
        auto result = unwrap(kMethod, doc, 0, endpoint);
        if (!result) return std::move(result.error());
        auto id = checked(quantity_u64_from_json(*result), kMethod, endpoint);
        if (!id) return std::move(id.error());
        if (*id == expected) return std::nullopt;
        return make_rpc_error(Code::wrong_chain,
                              "the endpoint serves chain id " + std::to_string(*id) +
                                  ", the config says " + std::to_string(expected) +
                                  "; its answers are not used",
                              endpoint);
    };
    return check;
}

}  // namespace

struct RpcClient::Impl {
    struct Endpoint {
        explicit Endpoint(HttpTransport t) : transport(std::move(t)) {}

        HttpTransport transport;
        std::uint32_t consecutive_failures = 0;
        std::optional<std::uint64_t> head;
        Clock::time_point demoted_until{};  // demoted while now < demoted_until
        bool lagging = false;               // demoted by the lag rule rather than by failures
        std::uint64_t requests = 0;
        std::uint64_t failures = 0;
        std::string last_error;
        bool wrong_chain = false;
    };

    RpcClientConfig config;
    std::vector<Endpoint> endpoints;
    RpcMetrics metrics;
    std::uint64_t next_id = 1;

    // ---- endpoint health ----

    static bool demoted(const Endpoint& e, Clock::time_point now) { return now < e.demoted_until; }

    /// Healthy endpoints in configured order, then demoted ones, soonest cool-down first.
    std::vector<std::size_t> order() const {
        const auto now = Clock::now();
        std::vector<std::size_t> healthy;
        std::vector<std::size_t> rest;
        for (std::size_t i = 0; i < endpoints.size(); ++i)
            (demoted(endpoints[i], now) ? rest : healthy).push_back(i);
        std::stable_sort(rest.begin(), rest.end(), [&](std::size_t a, std::size_t b) {
            return endpoints[a].demoted_until < endpoints[b].demoted_until;
        });
        healthy.insert(healthy.end(), rest.begin(), rest.end());
        return healthy;
    }

    void on_success(std::size_t i) {
        auto& e = endpoints[i];
        e.consecutive_failures = 0;
        e.wrong_chain = false;
        if (!e.lagging) e.demoted_until = {};
    }

    void on_failure(std::size_t i, const RpcError& err) {
        auto& e = endpoints[i];
        ++e.failures;
        e.last_error = err.to_string();
        e.wrong_chain = err.code == Code::wrong_chain;
        // Another chain is not a passing fault: demoted at once.
        if (++e.consecutive_failures >= config.max_consecutive_failures || e.wrong_chain)
            e.demoted_until = Clock::now() + config.demotion_cooldown;
    }

    void record_head(std::size_t i, std::uint64_t head) {
        endpoints[i].head = head;
        std::uint64_t best = 0;
        for (const auto& e : endpoints)
            if (e.head) best = std::max(best, *e.head);
        const auto now = Clock::now();
        for (auto& e : endpoints) {
            if (!e.head) continue;
            if (best - *e.head > config.max_head_lag) {
                if (!e.lagging || !demoted(e, now))
                    e.demoted_until = now + config.demotion_cooldown;
                e.lagging = true;
            } else if (e.lagging) {
                e.lagging = false;
                if (e.consecutive_failures < config.max_consecutive_failures) e.demoted_until = {};
            }
        }
    }

    MethodCounters& counters(std::string_view method) {
        auto it = metrics.methods.find(method);
        if (it == metrics.methods.end())
            it = metrics.methods.emplace(method, MethodCounters{}).first;
        return it->second;
    }

    // ---- requests ----

    /// Turns one HTTP answer into T: HTTP status, JSON parsing, then `interpret(endpoint, doc)`.
    template <class T, class Interpret>
    RpcResult<T> interpret_http(std::size_t i, std::string_view method, HttpResponse& res,
                                Interpret& interpret) {
        const std::string& name = endpoints[i].transport.name();
        const auto http_error = [&](Code code) {
            RpcError e = make_rpc_error(code, "HTTP " + std::to_string(res.status), name);
            e.http_status = static_cast<int>(res.status);
            return e;
        };
        if (res.status == 429) return http_error(Code::rate_limited);
        if (res.status >= 500) return http_error(Code::server_unavailable);
        json doc = json_nested_deeper_than(res.body, kMaxJsonDepth)
                       ? json(json::value_t::discarded)
                       : json::parse(res.body, nullptr, false);
        if (res.status != 200) {
            // Some gateways send JSON-RPC errors with a 4xx status: classify those by content.
            if (doc.is_object()) {
                if (const auto err = doc.find("error"); err != doc.end() && err->is_object()) {
                    RpcError e = error_from_object(method, *err, name);
                    e.http_status = static_cast<int>(res.status);
                    return e;
                }
            }
            return http_error(Code::http_error);
        }
        if (doc.is_discarded()) return malformed(method, "answer is not valid JSON", name);
        return interpret(i, doc);
    }

    /// One try at endpoint i, with counters and health bookkeeping.
    template <class T, class Interpret>
    Task<RpcResult<T>> attempt(std::size_t i, std::string_view method, const std::string& body,
                               Interpret& interpret) {
        Endpoint& ep = endpoints[i];
        MethodCounters& c = counters(method);
        ++c.requests;
        ++ep.requests;
        const auto start = Clock::now();
        auto res = co_await ep.transport.post(body);
        RpcResult<T> out = res ? interpret_http<T>(i, method, *res, interpret)
                               : RpcResult<T>(std::move(res.error()));
        c.latency_sum += Clock::now() - start;
        if (out) {
            on_success(i);
            co_return out;
        }
        const RpcError& err = out.error();
        ++c.errors;
        // A malformed answer is counted and treated as transient: it says the endpoint (or a
        // proxy before it) is broken, not that our request is wrong, so another endpoint may
        // answer correctly; a repeat offender gets demoted like any failing endpoint.
        if (err.code == Code::malformed_response) ++metrics.malformed_responses;
        if (err.code == Code::cancelled) co_return out;
        if (err.transient()) {
            on_failure(i, err);
        } else {
            on_success(i);  // a well-formed refusal: the endpoint itself works
        }
        co_return out;
    }

    /// Tries the endpoints in order() until one answers or refuses permanently.
    template <class T, class Interpret>
    Task<RpcResult<T>> send(std::string method, std::string body, Interpret interpret) {
        const auto tries = order();
        std::optional<RpcError> last;
        for (std::size_t k = 0; k < tries.size(); ++k) {
            auto r = co_await attempt<T>(tries[k], method, body, interpret);
            if (r || !r.error().transient() || r.error().code == Code::cancelled) co_return r;
            last = std::move(r.error());
            if (k + 1 < tries.size()) ++metrics.fallbacks;
        }
        co_return std::move(*last);
    }

    std::string envelope(std::string_view method, json params, std::uint64_t id) const {
        return json{
            {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}
            .dump();
    }

    /// A single call whose result `decode(endpoint, result)` turns into T.
    template <class T, class Decode>
    Task<RpcResult<T>> call(std::string method, json params, Decode decode) {
        const std::uint64_t id = next_id++;
        std::string body = envelope(method, std::move(params), id);
        auto interpret = [this, id, method, decode](std::size_t i, json& doc) -> RpcResult<T> {
            const std::string& name = endpoints[i].transport.name();
            auto result = unwrap(method, doc, id, name);
            if (!result) return std::move(result.error());
            return decode(i, *result, name);
        };
        co_return co_await send<T>(method, std::move(body), std::move(interpret));
    }

    /// A single call decoded by a plain Result<T>(const json&) decoder.
    template <class T>
    Task<RpcResult<T>> call_simple(std::string method, json params,
                                   Result<T> (*decode)(const json&)) {
        auto checked_decode = [method, decode](std::size_t, json& result,
                                               const std::string& name) -> RpcResult<T> {
            return checked(decode(result), method, name);
        };
        return call<T>(std::move(method), std::move(params), checked_decode);
    }

    Task<RpcResult<std::uint64_t>> block_number() {
        return call<std::uint64_t>("eth_blockNumber", json::array(),
                                   [this](std::size_t i, json& result,
                                          const std::string& name) -> RpcResult<std::uint64_t> {
                                       auto n = checked(quantity_u64_from_json(result),
                                                        "eth_blockNumber", name);
                                       if (n) record_head(i, *n);
                                       return n;
                                   });
    }

    Task<RpcResult<std::vector<Log>>> logs_in(const LogFilter& part) {
        const std::uint64_t from = part.from_block;
        const std::uint64_t to = part.to_block;
        return call<std::vector<Log>>(
            "eth_getLogs", json::array({to_json(part)}),
            [from, to](std::size_t, json& result,
                       const std::string& name) -> RpcResult<std::vector<Log>> {
                if (!result.is_array())
                    return malformed("eth_getLogs", "result is not an array", name);
                std::vector<Log> logs;
                logs.reserve(result.size());
                for (const auto& item : result) {
                    auto log = checked(log_from_json(item), "eth_getLogs", name);
                    if (!log) return std::move(log.error());
                    if (log->block_number < from || log->block_number > to)
                        return malformed("eth_getLogs", "log outside the asked block range", name);
                    logs.push_back(std::move(*log));
                }
                return logs;
            });
    }

    Task<RpcResult<std::vector<Log>>> get_logs(LogFilter filter) {
        if (filter.from_block > filter.to_block)
            co_return make_rpc_error(Code::invalid_argument,
                                     "eth_getLogs: from_block is after to_block");
        std::vector<Log> all;
        std::uint64_t span = config.max_logs_block_range;  // 0: the whole rest of the range
        std::uint64_t from = filter.from_block;
        for (;;) {
            const std::uint64_t to =
                span == 0 || filter.to_block - from < span ? filter.to_block : from + span - 1;
            LogFilter part = filter;
            part.from_block = from;
            part.to_block = to;
            auto logs = co_await logs_in(part);
            if (!logs) {
                if (logs.error().code != Code::log_range_too_large || from == to)
                    co_return std::move(logs.error());
                span = (to - from) / 2 + 1;  // half the blocks, rounded up
                ++metrics.log_range_splits;
                continue;
            }
            all.insert(all.end(), std::make_move_iterator(logs->begin()),
                       std::make_move_iterator(logs->end()));
            if (to == filter.to_block) co_return all;
            from = to + 1;
        }
    }

    Task<RpcResult<std::vector<RpcResult<json>>>> batch(std::vector<RpcCall> calls) {
        using Results = std::vector<RpcResult<json>>;
        if (calls.empty()) co_return Results{};
        const std::uint64_t first_id = next_id;
        next_id += calls.size();
        json body = json::array();
        for (std::size_t k = 0; k < calls.size(); ++k)
            body.push_back({{"jsonrpc", "2.0"},
                            {"id", first_id + k},
                            {"method", calls[k].method},
                            {"params", std::move(calls[k].params)}});
        auto interpret = [this, first_id, &calls](std::size_t i, json& doc) -> RpcResult<Results> {
            const std::string& name = endpoints[i].transport.name();
            if (doc.is_object()) {
                // A node without batch support answers the whole batch with one error.
                if (const auto err = doc.find("error"); err != doc.end() && !err->is_null())
                    return error_from_object("batch", *err, name);
            }
            if (!doc.is_array()) return malformed("batch", "answer is not an array", name);
            std::vector<std::optional<RpcResult<json>>> slots(calls.size());
            for (auto& item : doc) {
                const auto id = item.is_object() ? item.find("id") : item.end();
                if (!item.is_object() || id == item.end() || !id->is_number_unsigned())
                    return malformed("batch", "answer without a valid id", name);
                const auto value = id->get<std::uint64_t>();
                if (value < first_id || value - first_id >= calls.size())
                    return malformed("batch", "answer with an unknown id", name);
                auto& slot = slots[value - first_id];
                if (slot) return malformed("batch", "two answers with one id", name);
                slot = unwrap(calls[value - first_id].method, item, value, name);
            }
            Results out;
            out.reserve(slots.size());
            for (std::size_t k = 0; k < slots.size(); ++k) {
                if (slots[k]) {
                    out.push_back(std::move(*slots[k]));
                } else {
                    ++metrics.malformed_responses;
                    out.push_back(malformed(calls[k].method, "no answer in the batch", name));
                }
            }
            return out;
        };
        std::string method = "batch";  // (GCC 12 mishandles string literals in co_await)
        co_return co_await send<Results>(std::move(method), body.dump(), std::move(interpret));
    }

    Task<void> refresh_heads() {
        const std::string method = "eth_blockNumber";
        for (std::size_t i = 0; i < endpoints.size(); ++i) {
            const std::uint64_t id = next_id++;
            auto interpret = [this, id](std::size_t k, json& doc) -> RpcResult<std::uint64_t> {
                const std::string& name = endpoints[k].transport.name();
                auto result = unwrap("eth_blockNumber", doc, id, name);
                if (!result) return std::move(result.error());
                return checked(quantity_u64_from_json(*result), "eth_blockNumber", name);
            };
            const std::string body = envelope(method, json::array(), id);
            auto head = co_await attempt<std::uint64_t>(i, method, body, interpret);
            if (head) record_head(i, *head);
        }
    }
};

RpcResult<RpcClient> RpcClient::create(boost::asio::any_io_executor executor,
                                       RpcClientConfig config) {
    if (config.endpoints.empty())
        return make_rpc_error(Code::invalid_argument, "no JSON-RPC endpoint configured");
    auto impl = std::make_unique<Impl>();
    for (const auto& url : config.endpoints) {
        HttpOptions http = config.http;
        if (config.expected_chain_id) {
            auto parsed = parse_endpoint_url(url);
            if (!parsed) return std::move(parsed.error());
            http.connection_check = chain_id_check(*config.expected_chain_id, parsed->redacted);
        }
        auto transport = HttpTransport::create(executor, url, http);
        if (!transport) return std::move(transport.error());
        impl->endpoints.emplace_back(std::move(*transport));
    }
    if (config.max_consecutive_failures == 0) config.max_consecutive_failures = 1;
    impl->config = std::move(config);
    return RpcClient(std::move(impl));
}

RpcClient::RpcClient(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
RpcClient::RpcClient(RpcClient&&) noexcept = default;
RpcClient& RpcClient::operator=(RpcClient&&) noexcept = default;
RpcClient::~RpcClient() = default;

Task<RpcResult<std::uint64_t>> RpcClient::chain_id() {
    return impl_->call_simple<std::uint64_t>("eth_chainId", json::array(), &quantity_u64_from_json);
}

Task<RpcResult<std::uint64_t>> RpcClient::block_number() { return impl_->block_number(); }

Task<RpcResult<std::optional<BlockHeader>>> RpcClient::get_block_by_number(BlockId block) {
    const auto* number = std::get_if<std::uint64_t>(&block);
    const std::optional<std::uint64_t> expected =
        number ? std::optional<std::uint64_t>(*number) : std::nullopt;
    return impl_->call<std::optional<BlockHeader>>(
        "eth_getBlockByNumber", json::array({to_json(block), false}),
        [expected](std::size_t, json& result,
                   const std::string& name) -> RpcResult<std::optional<BlockHeader>> {
            if (result.is_null()) return std::optional<BlockHeader>{};
            auto header = checked(block_header_from_json(result), "eth_getBlockByNumber", name);
            if (!header) return std::move(header.error());
            if (expected && header->number != *expected)
                return malformed("eth_getBlockByNumber", "block has another number", name);
            return std::optional<BlockHeader>(std::move(*header));
        });
}

Task<RpcResult<std::vector<Log>>> RpcClient::get_logs(LogFilter filter) {
    return impl_->get_logs(std::move(filter));
}

Task<RpcResult<crypto::Bytes>> RpcClient::call(CallRequest request, BlockId block) {
    return impl_->call_simple<crypto::Bytes>(
        "eth_call", json::array({to_json(request), to_json(block)}), &data_from_json);
}

Task<RpcResult<std::uint64_t>> RpcClient::estimate_gas(CallRequest request) {
    return impl_->call_simple<std::uint64_t>("eth_estimateGas", json::array({to_json(request)}),
                                             &quantity_u64_from_json);
}

Task<RpcResult<FeeHistory>> RpcClient::fee_history(std::uint64_t block_count, BlockId newest,
                                                   std::vector<double> reward_percentiles) {
    return impl_->call_simple<FeeHistory>(
        "eth_feeHistory",
        json::array({to_quantity(block_count), to_json(newest), reward_percentiles}),
        &fee_history_from_json);
}

Task<RpcResult<U256>> RpcClient::max_priority_fee_per_gas() {
    return impl_->call_simple<U256>("eth_maxPriorityFeePerGas", json::array(),
                                    &quantity_u256_from_json);
}

Task<RpcResult<std::uint64_t>> RpcClient::get_transaction_count(crypto::Address account,
                                                                BlockId block) {
    return impl_->call_simple<std::uint64_t>("eth_getTransactionCount",
                                             json::array({account.hex(), to_json(block)}),
                                             &quantity_u64_from_json);
}

Task<RpcResult<crypto::Hash32>> RpcClient::send_raw_transaction(crypto::Bytes raw) {
    const crypto::Hash32 expected = crypto::keccak256(raw);
    return impl_->call<crypto::Hash32>(
        "eth_sendRawTransaction", json::array({crypto::to_hex(raw)}),
        [expected](std::size_t, json& result,
                   const std::string& name) -> RpcResult<crypto::Hash32> {
            auto hash = checked(hash_from_json(result), "eth_sendRawTransaction", name);
            if (hash && *hash != expected)
                return malformed("eth_sendRawTransaction",
                                 "returned hash is not keccak256 of the transaction", name);
            return hash;
        });
}

Task<RpcResult<std::optional<Receipt>>> RpcClient::get_transaction_receipt(crypto::Hash32 tx_hash) {
    return impl_->call<std::optional<Receipt>>(
        "eth_getTransactionReceipt", json::array({tx_hash.hex()}),
        [tx_hash](std::size_t, json& result,
                  const std::string& name) -> RpcResult<std::optional<Receipt>> {
            if (result.is_null()) return std::optional<Receipt>{};
            auto receipt = checked(receipt_from_json(result), "eth_getTransactionReceipt", name);
            if (!receipt) return std::move(receipt.error());
            if (receipt->tx_hash != tx_hash)
                return malformed("eth_getTransactionReceipt", "receipt of another transaction",
                                 name);
            return std::optional<Receipt>(std::move(*receipt));
        });
}

Task<RpcResult<U256>> RpcClient::get_balance(crypto::Address account, BlockId block) {
    return impl_->call_simple<U256>("eth_getBalance", json::array({account.hex(), to_json(block)}),
                                    &quantity_u256_from_json);
}

Task<RpcResult<json>> RpcClient::request(std::string method, json params) {
    return impl_->call<json>(std::move(method), std::move(params),
                             [](std::size_t, json& result, const std::string&) -> RpcResult<json> {
                                 return RpcResult<json>(boost::system::in_place_value,
                                                        std::move(result));
                             });
}

Task<RpcResult<std::vector<RpcResult<json>>>> RpcClient::batch(std::vector<RpcCall> calls) {
    return impl_->batch(std::move(calls));
}

Task<void> RpcClient::refresh_heads() { return impl_->refresh_heads(); }

const RpcMetrics& RpcClient::metrics() const noexcept { return impl_->metrics; }

std::vector<EndpointStatus> RpcClient::endpoints() const {
    const auto now = Clock::now();
    std::vector<EndpointStatus> out;
    for (const auto& e : impl_->endpoints)
        out.push_back({e.transport.name(), Impl::demoted(e, now), e.consecutive_failures, e.head,
                       e.requests, e.failures, e.last_error, e.wrong_chain});
    return out;
}

}  // namespace ferry::chains::evm

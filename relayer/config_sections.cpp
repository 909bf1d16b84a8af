#include "relayer/config_schema.hpp"

#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <system_error>

namespace ferry::relayer::config_json {
namespace {

bool is_chain_name(std::string_view s) {
    return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool parse_port(std::string_view s, unsigned min, unsigned& out) {
    if (s.empty() || s.size() > 5) return false;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || value < min || value > 65535)
        return false;
    out = value;
    return true;
}

/// Strict dotted quad: four decimal parts 0..255 without leading zeros.
std::optional<std::array<unsigned, 4>> parse_ipv4(std::string_view s) {
    std::array<unsigned, 4> parts{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto dot = s.find('.');
        const auto part = (i < 3) ? s.substr(0, dot) : s;
        if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
            return std::nullopt;
        if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        unsigned value = 0;
        const auto result = std::from_chars(part.data(), part.data() + part.size(), value);
        if (result.ec != std::errc{} || value > 255) return std::nullopt;
        parts[i] = value;
        if (i < 3) s.remove_prefix(dot + 1);
    }
    return parts;
}

std::optional<boost::asio::ip::address_v6> parse_ipv6(std::string_view s) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address_v6(std::string(s), ec);
    if (ec) return std::nullopt;
    return address;
}

}  // namespace

void ConfigChecker::check_api(const json& v, ApiConfig& api) {
    const std::string path = "api";
    if (!object(v, path)) return;
    check_keys(v, path, kApiKeys);
    optional_field(v, path, "allow_non_loopback", api.allow_non_loopback, flag());
    optional_field(v, path, "rate_limit_per_s", api.rate_limit_per_s, in(kRateLimitPerS));
    optional_field(v, path, "rate_limit_burst", api.rate_limit_burst, in(kRateLimitBurst));
    if (const json* e = get(v, "admin_token_env")) {
        if (auto name = env_name(*e, child(path, "admin_token_env"), true))
            api.admin_token_env = *name;
    }
    if (const json* listen = get(v, "listen")) check_listen(*listen, child(path, "listen"), api);
}

void ConfigChecker::check_listen(const json& listen, const std::string& lpath, ApiConfig& api) {
    auto text = string(listen, lpath);
    if (!text) return;
    const std::string form =
        "expected \"host:port\" with an IPv4 address, localhost or a bracketed IPv6 address, "
        "got " +
        quote(*text);
    std::string_view s = *text;
    std::string host;
    std::string_view port_text;
    bool loopback = false;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find("]:");
        if (close == std::string_view::npos) return error(lpath, form);
        const auto v6 = parse_ipv6(s.substr(1, close - 1));
        if (!v6) return error(lpath, "not an IPv6 address in the brackets, got " + quote(s));
        host = std::string(s.substr(1, close - 1));
        port_text = s.substr(close + 2);
        loopback = v6->is_loopback() || (v6->is_v4_mapped() && v6->to_bytes()[12] == 127);
    } else {
        const auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return error(lpath, form);
        host = std::string(s.substr(0, colon));
        port_text = s.substr(colon + 1);
        if (host == "localhost") {
            loopback = true;
        } else if (const auto v4 = parse_ipv4(host)) {
            loopback = (*v4)[0] == 127;
        } else {
            return error(lpath, form);
        }
    }
    unsigned port = 0;
    if (!parse_port(port_text, 0, port))
        return error(
            lpath, "port must be a number from 0 to 65535 (0 picks a free port), got " + quote(s));
    api.host = host;
    api.port = static_cast<std::uint16_t>(port);
    if (!loopback && !api.allow_non_loopback)
        error(lpath, quote(host) +
                         " is not a loopback address; set api.allow_non_loopback to true to "
                         "listen on it (the API then faces the network)");
}

void ConfigChecker::check_gas(const json& v, const std::string& path, GasPolicy& gas) {
    if (!object(v, path)) return;
    check_keys(v, path, kGasKeys);
    optional_field(v, path, "fee_multiplier", gas.fee_multiplier, real(1.0, 10.0));
    if (const json* tip = get(v, "priority_fee_wei"); tip != nullptr && !tip->is_null()) {
        if (auto x = u64(*tip, child(path, "priority_fee_wei"))) gas.priority_fee_wei = *x;
    }
    bool max_ok = true;
    if (const json* m = get(v, "max_fee_wei")) {
        if (auto x = u64(*m, child(path, "max_fee_wei"), kMaxFeeWei))
            gas.max_fee_wei = *x;
        else
            max_ok = false;
    }
    if (max_ok && gas.priority_fee_wei && *gas.priority_fee_wei > gas.max_fee_wei)
        error(child(path, "priority_fee_wei"), "must not exceed max_fee_wei (" +
                                                   std::to_string(gas.max_fee_wei) + "), got " +
                                                   std::to_string(*gas.priority_fee_wei));
    optional_field(v, path, "gas_margin", gas.gas_margin, real(1.0, 3.0));
    optional_field(v, path, "replace_after_ms", gas.replace_after_ms, in(kReplaceAfterMs));
    optional_field(v, path, "fee_bump_percent", gas.fee_bump_percent, in(kFeeBumpPercent));
    optional_field(v, path, "max_in_flight", gas.max_in_flight, in(kMaxInFlight));
}

void ConfigChecker::check_chain(const json& v, const std::string& path, ChainConfig& chain,
                                ChainInfo& info) {
    if (!object(v, path)) return;
    check_keys(v, path, kChainKeys);
    if (const json* n = need(v, path, "name")) {
        const std::string npath = child(path, "name");
        if (auto name = string(*n, npath)) {
            info.name = *name;
            info.named = true;
            if (is_chain_name(*name))
                chain.name = *name;
            else
                error(npath,
                      "must be 1 to 32 characters from a-z, 0-9, '_' and '-', got " + quote(*name));
        }
    }
    if (const json* id = need(v, path, "chain_id")) {
        if (auto x = u64(*id, child(path, "chain_id"), Range{1, kU64Max})) {
            chain.chain_id = crypto::ChainId{*x};
            info.id = chain.chain_id;
        }
    }
    if (const json* rpc = need(v, path, "rpc")) check_rpc(*rpc, child(path, "rpc"), chain);
    if (const json* conf = get(v, "confirmations"))
        check_confirmations(*conf, child(path, "confirmations"), chain);
    optional_field(v, path, "poll_interval_ms", chain.poll_interval_ms, in(kPollIntervalMs));
    optional_field(v, path, "max_log_range", chain.max_log_range, in(kMaxLogRange));
    optional_field(v, path, "rpc_timeout_ms", chain.rpc_timeout_ms, in(kRpcTimeoutMs));
    // At most as many as there are endpoints (the range in the error says how many).
    optional_field(v, path, "quorum", chain.quorum,
                   in(Range{1, std::max<std::uint64_t>(chain.rpc.size(), 1)}));
    optional_field(v, path, "start_block", chain.start_block, in(Range{}));
    if (const json* a = get(v, "outbox")) {
        info.has_outbox = true;
        chain.outbox = address(*a, child(path, "outbox"));
    }
    if (const json* a = get(v, "inbox")) {
        info.has_inbox = true;
        chain.inbox = address(*a, child(path, "inbox"));
    }
    if (const json* gas = get(v, "gas")) check_gas(*gas, child(path, "gas"), chain.gas);
}

void ConfigChecker::check_rpc(const json& rpc, const std::string& rpath, ChainConfig& chain) {
    if (!rpc.is_array()) return error(rpath, "expected an array of URLs, got " + type_name(rpc));
    if (rpc.empty()) return error(rpath, "at least one URL is required");
    for (std::size_t i = 0; i < rpc.size(); ++i) {
        auto u = url(rpc[i], index(rpath, i));
        if (!u) continue;
        const auto same = std::find(chain.rpc.begin(), chain.rpc.end(), *u);
        if (same != chain.rpc.end())
            error(index(rpath, i),
                  "same URL as an earlier entry of " + rpath + "; list each endpoint once");
        else
            chain.rpc.push_back(std::move(*u));
    }
}

void ConfigChecker::check_confirmations(const json& conf, const std::string& cpath,
                                        ChainConfig& chain) {
    const std::string expected = "expected an integer 0..1000 or the string \"finalized\", got ";
    if (conf.is_string()) {
        if (conf.get_ref<const std::string&>() == "finalized") {
            chain.finalized = true;
            chain.confirmations = 0;
        } else {
            error(cpath, expected + quote(conf.get_ref<const std::string&>()));
        }
    } else if (conf.is_number()) {
        if (auto x = u64(conf, cpath, kConfirmations)) chain.confirmations = *x;
    } else {
        error(cpath, expected + type_name(conf));
    }
}

void ConfigChecker::check_route(const json& v, const std::string& path, RouteConfig& route,
                                RouteRef& ref) {
    if (!object(v, path)) return;
    check_keys(v, path, kRouteKeys);
    if (const json* f = need(v, path, "from")) ref.from = chain_ref(*f, child(path, "from"));
    if (const json* t = need(v, path, "to")) ref.to = chain_ref(*t, child(path, "to"));
    if (ref.from) route.from = *ref.from;
    if (ref.to) route.to = *ref.to;
    optional_field(v, path, "ordered", route.ordered, flag());
    optional_field(v, path, "batch_size", route.batch_size, in(kBatchSize));
}

void ConfigChecker::check_validator_set(const json& v, const std::string& path,
                                        ValidatorSetConfig& set,
                                        std::optional<std::string>& source) {
    if (!object(v, path)) return;
    check_keys(v, path, kValidatorSetKeys);
    if (const json* s = need(v, path, "source")) source = chain_ref(*s, child(path, "source"));
    if (source) set.source = *source;
    optional_field(v, path, "pin", set.pin, flag());
    std::optional<std::size_t> count;
    if (const json* list = need(v, path, "validators"))
        count = check_validators(*list, child(path, "validators"), set);
    if (const json* t = need(v, path, "threshold")) {
        const std::string tpath = child(path, "threshold");
        if (count) {
            if (auto x = u64(*t, tpath, Range{1, std::min<std::uint64_t>(*count, kMaxThreshold)}))
                set.threshold = static_cast<std::uint32_t>(*x);
        } else if (auto x = u64(*t, tpath, Range{1, kMaxThreshold})) {
            set.threshold = static_cast<std::uint32_t>(*x);
        }
    }
}

/// The validators of a set; their number when the list has the right shape.
std::optional<std::size_t> ConfigChecker::check_validators(const json& list,
                                                           const std::string& lpath,
                                                           ValidatorSetConfig& set) {
    if (!list.is_array()) {
        error(lpath, "expected an array of {\"address\", \"url\"} objects, got " + type_name(list));
        return std::nullopt;
    }
    if (list.empty()) {
        error(lpath, "at least one validator is required");
        return std::nullopt;
    }
    std::map<crypto::Address, std::size_t> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string epath = index(lpath, i);
        const json& e = list[i];
        if (!object(e, epath)) continue;
        check_keys(e, epath, kValidatorKeys);
        ValidatorEndpoint endpoint;
        bool ok = true;
        if (const json* a = need(e, epath, "address")) {
            const std::string apath = child(epath, "address");
            if (auto addr = address(*a, apath)) {
                endpoint.address = *addr;
                if (const auto [it, fresh] = seen.emplace(*addr, i); !fresh)
                    error(apath,
                          "duplicate validator address (same as " + index(lpath, it->second) + ")");
            } else {
                ok = false;
            }
        } else {
            ok = false;
        }
        const json* u = need(e, epath, "url");
        auto x = u != nullptr ? url(*u, child(epath, "url")) : std::nullopt;
        if (x) endpoint.url = *x;
        if (ok && x) set.validators.push_back(std::move(endpoint));
    }
    return list.size();
}

void ConfigChecker::check_key(const json& v, const std::string& path, KeySource& key) {
    if (!object(v, path)) return;
    check_keys(v, path, kKeyKeys);
    const json* env = get(v, "env");
    const json* keystore = get(v, "keystore");
    const json* password = get(v, "password_file");
    if (env != nullptr && keystore != nullptr)
        error(path, "set exactly one of env or keystore, not both");
    else if (env == nullptr && keystore == nullptr)
        error(path,
              "set env (the name of an environment variable holding the key) or keystore (a "
              "keystore v3 file, with password_file)");
    if (env != nullptr)
        if (auto name = env_name(*env, child(path, "env"), false)) key.env = *name;
    if (keystore != nullptr)
        if (auto p = file_path(*keystore, child(path, "keystore"))) key.keystore = *p;
    if (password != nullptr) {
        if (keystore == nullptr)
            error(child(path, "password_file"), "only goes with keystore (env needs no password)");
        else if (auto p = file_path(*password, child(path, "password_file")))
            key.password_file = *p;
    } else if (keystore != nullptr) {
        error(child(path, "password_file"), "required with keystore");
    }
}

void ConfigChecker::check_retry(const json& v, storage::BackoffPolicy& retry) {
    const std::string path = "retry";
    if (!object(v, path)) return;
    check_keys(v, path, kRetryKeys);
    bool initial_ok = true;
    bool max_ok = true;
    if (const json* x = get(v, "initial_delay_ms")) {
        if (auto n = u64(*x, child(path, "initial_delay_ms"), kInitialDelayMs))
            retry.initial_delay_ms = static_cast<storage::UnixMillis>(*n);
        else
            initial_ok = false;
    }
    optional_field(v, path, "multiplier", retry.multiplier, real(1.0, 10.0));
    if (const json* x = get(v, "max_delay_ms")) {
        if (auto n = u64(*x, child(path, "max_delay_ms"), kMaxDelayMs))
            retry.max_delay_ms = static_cast<storage::UnixMillis>(*n);
        else
            max_ok = false;
    }
    if (initial_ok && max_ok && retry.max_delay_ms < retry.initial_delay_ms)
        error(child(path, "max_delay_ms"), "must be at least retry.initial_delay_ms (" +
                                               std::to_string(retry.initial_delay_ms) + "), got " +
                                               std::to_string(retry.max_delay_ms));
    optional_field(v, path, "jitter", retry.jitter, real(0.0, 1.0));
    optional_field(v, path, "max_attempts", retry.max_attempts, in(kMaxAttempts));
}

void ConfigChecker::check_limits(const json& v, LimitsConfig& limits) {
    const std::string path = "limits";
    if (!object(v, path)) return;
    check_keys(v, path, kLimitsKeys);
    optional_field(v, path, "max_body_bytes", limits.max_body_bytes, in(kMaxBodyBytes));
    optional_field(v, path, "attestation_timeout_ms", limits.attestation_timeout_ms,
                   in(kAttestationTimeoutMs));
    optional_field(v, path, "attestation_batch", limits.attestation_batch, in(kAttestationBatch));
    optional_field(v, path, "retention_hours", limits.retention_hours, in(kRetentionHours));
}

void ConfigChecker::check_chains(const json& chains, Config& c) {
    if (!chains.is_array())
        return error("chains", "expected an array of chains, got " + type_name(chains));
    if (chains.empty()) return error("chains", "at least one chain is required");
    std::map<std::string, std::size_t> names;
    std::map<std::uint64_t, std::size_t> ids;
    for (std::size_t i = 0; i < chains.size(); ++i) {
        const std::string path = index("chains", i);
        ChainConfig chain;
        ChainInfo info;
        check_chain(chains[i], path, chain, info);
        if (info.named) {
            if (const auto [it, fresh] = names.emplace(info.name, i); !fresh) {
                error(child(path, "name"), "duplicate chain name " + quote(info.name) + " (also " +
                                               index("chains", it->second) + ")");
                info.named = false;  // references resolve to the first one
            }
        }
        if (info.id) {
            const auto id = crypto::to_u64(*info.id);
            if (const auto [it, fresh] = ids.emplace(id, i); !fresh)
                error(child(path, "chain_id"), "duplicate chain id " + std::to_string(id) +
                                                   " (also " + index("chains", it->second) + ")");
        }
        c.chains.push_back(std::move(chain));
        chains_.push_back(std::move(info));
    }
}

void ConfigChecker::check_routes(const json& routes, Config& c) {
    if (!routes.is_array())
        return error("routes", "expected an array of routes, got " + type_name(routes));
    for (std::size_t i = 0; i < routes.size(); ++i) {
        RouteConfig route;
        RouteRef ref;
        check_route(routes[i], index("routes", i), route, ref);
        c.routes.push_back(std::move(route));
        route_refs_.push_back(std::move(ref));
    }
}

void ConfigChecker::check_validator_sets(const json& sets, Config& c) {
    if (!sets.is_array())
        return error("validator_sets",
                     "expected an array of validator sets, got " + type_name(sets));
    for (std::size_t i = 0; i < sets.size(); ++i) {
        ValidatorSetConfig set;
        std::optional<std::string> source;
        check_validator_set(sets[i], index("validator_sets", i), set, source);
        c.validator_sets.push_back(std::move(set));
        set_sources_.push_back(std::move(source));
    }
}

void ConfigChecker::check_relayer(const json& v, Config& c) {
    c.relayer.emplace();
    if (!object(v, "relayer")) return;
    check_keys(v, "relayer", kRelayerKeys);
    if (const json* key = need(v, "relayer", "key")) check_key(*key, "relayer.key", c.relayer->key);
}

void ConfigChecker::check_validator(const json& v, Config& c) {
    c.validator.emplace();
    if (!object(v, "validator")) return;
    check_keys(v, "validator", kValidatorSectionKeys);
    if (const json* ch = need(v, "validator", "chain"))
        validator_chain_ = chain_ref(*ch, "validator.chain");
    if (validator_chain_) c.validator->chain = *validator_chain_;
    if (const json* key = need(v, "validator", "key"))
        check_key(*key, "validator.key", c.validator->key);
}

}  // namespace ferry::relayer::config_json

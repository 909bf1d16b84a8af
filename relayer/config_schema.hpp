// The schema of Ferry's config, shared by its two files: config_sections.cpp reads each section,
// config.cpp runs them in order and resolves the references between sections.
#pragma once

#include "relayer/config.hpp"
#include "relayer/config_checker.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::relayer::config_json {

inline constexpr std::string_view kDefaultAdminTokenEnv = "FERRY_ADMIN_TOKEN";

// Ranges of docs/config.md (which lists them all).
inline constexpr Range kConfirmations{0, 1000};
inline constexpr std::uint64_t kMaxThreshold = 255;  // the Inbox stores it in a uint8
inline constexpr Range kPollIntervalMs{50, 600'000};
inline constexpr Range kMaxLogRange{1, 100'000};
inline constexpr Range kRpcTimeoutMs{100, 600'000};
inline constexpr Range kMaxFeeWei{1, kU64Max};
inline constexpr Range kReplaceAfterMs{1'000, 3'600'000};
inline constexpr Range kFeeBumpPercent{10, 500};
inline constexpr Range kMaxInFlight{1, 64};
inline constexpr Range kBatchSize{1, 200};
inline constexpr Range kInitialDelayMs{0, 86'400'000};
inline constexpr Range kMaxDelayMs{0, 604'800'000};
inline constexpr Range kMaxAttempts{1, 1000};
inline constexpr Range kMaxBodyBytes{0, 1'048'576};
inline constexpr Range kAttestationTimeoutMs{100, 600'000};
inline constexpr Range kAttestationBatch{1, 1000};
inline constexpr Range kRetentionHours{1, 87'600};
inline constexpr Range kRateLimitPerS{0, 1'000'000};
inline constexpr Range kRateLimitBurst{1, 1'000'000};

inline constexpr std::string_view kRootKeys[] = {"database",       "api",     "chains",    "routes",
                                                 "validator_sets", "relayer", "validator", "retry",
                                                 "limits"};
inline constexpr std::string_view kApiKeys[] = {"listen", "allow_non_loopback", "admin_token_env",
                                                "rate_limit_per_s", "rate_limit_burst"};
inline constexpr std::string_view kChainKeys[] = {"name",
                                                  "chain_id",
                                                  "rpc",
                                                  "confirmations",
                                                  "poll_interval_ms",
                                                  "max_log_range",
                                                  "rpc_timeout_ms",
                                                  "quorum",
                                                  "start_block",
                                                  "outbox",
                                                  "inbox",
                                                  "gas"};
inline constexpr std::string_view kGasKeys[] = {
    "fee_multiplier",   "priority_fee_wei", "max_fee_wei",  "gas_margin",
    "replace_after_ms", "fee_bump_percent", "max_in_flight"};
inline constexpr std::string_view kRouteKeys[] = {"from", "to", "ordered", "batch_size"};
inline constexpr std::string_view kValidatorSetKeys[] = {"source", "threshold", "pin",
                                                         "validators"};
inline constexpr std::string_view kValidatorKeys[] = {"address", "url"};
inline constexpr std::string_view kRelayerKeys[] = {"key"};
inline constexpr std::string_view kValidatorSectionKeys[] = {"chain", "key"};
inline constexpr std::string_view kKeyKeys[] = {"env", "keystore", "password_file"};
inline constexpr std::string_view kRetryKeys[] = {"initial_delay_ms", "multiplier", "max_delay_ms",
                                                  "jitter", "max_attempts"};
inline constexpr std::string_view kLimitsKeys[] = {"max_body_bytes", "attestation_timeout_ms",
                                                   "attestation_batch", "retention_hours"};

struct ChainInfo {
    std::string name;  // as written, even when it breaks the name rule (avoids cascades)
    bool named = false;
    std::optional<crypto::ChainId> id;
    bool has_outbox = false;  // the key is present (a bad value is reported on its own)
    bool has_inbox = false;
};

struct RouteRef {
    std::optional<std::string> from;
    std::optional<std::string> to;
};

class ConfigChecker : public JsonChecker {
public:
    using JsonChecker::JsonChecker;

    void check(const json& root, Config& c);

private:
    std::optional<std::string> chain_ref(const json& v, const std::string& path) {
        auto s = string(v, path);
        if (s && s->empty()) {
            error(path, "expected a chain name, got an empty string");
            return std::nullopt;
        }
        return s;
    }

    // Sections, in the order of check().
    void check_api(const json& v, ApiConfig& api);
    void check_listen(const json& listen, const std::string& path, ApiConfig& api);
    void check_chains(const json& chains, Config& c);
    void check_chain(const json& v, const std::string& path, ChainConfig& chain, ChainInfo& info);
    void check_rpc(const json& rpc, const std::string& path, ChainConfig& chain);
    void check_confirmations(const json& conf, const std::string& path, ChainConfig& chain);
    void check_gas(const json& v, const std::string& path, GasPolicy& gas);
    void check_routes(const json& routes, Config& c);
    void check_route(const json& v, const std::string& path, RouteConfig& route, RouteRef& ref);
    void check_validator_sets(const json& sets, Config& c);
    void check_validator_set(const json& v, const std::string& path, ValidatorSetConfig& set,
                             std::optional<std::string>& source);
    std::optional<std::size_t> check_validators(const json& list, const std::string& path,
                                                ValidatorSetConfig& set);
    void check_relayer(const json& v, Config& c);
    void check_validator(const json& v, Config& c);
    void check_key(const json& v, const std::string& path, KeySource& key);
    void check_retry(const json& v, storage::BackoffPolicy& retry);
    void check_limits(const json& v, LimitsConfig& limits);

    // Cross references, once every section is read.
    const ChainInfo* known_chain(const std::string& name, const std::string& path);
    std::string outbox_hint(const ChainInfo* info) const;
    void resolve_validator_sets(Config& c);
    void resolve_routes(Config& c);
    void resolve_route(std::size_t i, Config& c);
    void resolve_validator(Config& c);
    void check_roles(const Config& c);

    std::vector<ChainInfo> chains_;
    std::vector<RouteRef> route_refs_;
    std::vector<std::optional<std::string>> set_sources_;
    std::optional<std::string> validator_chain_;
    std::map<std::string, std::size_t> set_index_;  // source name → first validator set
    std::map<std::pair<std::string, std::string>, std::size_t> route_index_;
};

}  // namespace ferry::relayer::config_json

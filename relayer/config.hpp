// The node's configuration file (JSON with comments; docs/config.md): the typed Config,
// a loader that checks every rule and reports ALL problems with their JSON paths, and the
// canonical JSON writer. The config holds only names and paths of secrets, never a secret.
#pragma once

#include "crypto/types.hpp"
#include "storage/queue.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::relayer {

/// Where a signing key comes from: exactly one of `env` (the name of an environment variable
/// holding the key as hex) or `keystore` (a keystore v3 file, with `password_file`). Paths are
/// resolved against the config file's directory. The loader never reads the key.
struct KeySource {
    std::string env;
    std::filesystem::path keystore;
    std::filesystem::path password_file;
    friend bool operator==(const KeySource&, const KeySource&) = default;
};

/// Fees and gas of delivery transactions on one destination chain.
struct GasPolicy {
    double fee_multiplier = 2.0;                    ///< max_fee = base_fee · this + tip; 1..10
    std::optional<std::uint64_t> priority_fee_wei;  ///< fixed tip; unset = eth_maxPriorityFeePerGas
    std::uint64_t max_fee_wei = 500'000'000'000;    ///< hard cap per gas
    double gas_margin = 1.2;                        ///< gas limit = estimate · this; 1..3
    std::uint64_t replace_after_ms = 15'000;        ///< replace a tx not mined after this
    std::uint32_t fee_bump_percent = 25;            ///< 10..500, per replacement
    std::uint32_t max_in_flight = 16;               ///< unmined delivery txs; 1..64
    friend bool operator==(const GasPolicy&, const GasPolicy&) = default;
};

struct ChainConfig {
    std::string name;  ///< [a-z0-9_-]{1,32}, unique
    crypto::ChainId chain_id{};
    std::vector<std::string> rpc;  ///< ≥ 1 http(s) URL, in order of preference. May hold API
                                   ///< keys: never log them whole.
    bool finalized = false;        ///< true ⇒ use the "finalized" block tag (confirmations = 0)
    std::uint64_t confirmations = 1;
    std::uint64_t poll_interval_ms = 1000;
    std::uint64_t max_log_range = 2000;
    std::uint64_t rpc_timeout_ms = 10'000;
    /// How many of the `rpc` endpoints must agree on a head, block hash or log before it is
    /// used (1: any one answer, with fallback; k > 1: each endpoint is asked on its own).
    std::uint64_t quorum = 1;
    std::uint64_t start_block = 0;
    std::optional<crypto::Address> outbox;
    std::optional<crypto::Address> inbox;
    GasPolicy gas;
    friend bool operator==(const ChainConfig&, const ChainConfig&) = default;
};

struct RouteConfig {
    std::string from;
    std::string to;
    crypto::ChainId src{};  ///< chain id of `from`
    crypto::ChainId dst{};  ///< chain id of `to`
    bool ordered = true;
    std::uint32_t batch_size = 50;  ///< 1..200
    friend bool operator==(const RouteConfig&, const RouteConfig&) = default;
};

struct ValidatorEndpoint {
    crypto::Address address;
    std::string url;  ///< its ferry_getAttestations API
    friend bool operator==(const ValidatorEndpoint&, const ValidatorEndpoint&) = default;
};

struct ValidatorSetConfig {
    std::string source;     ///< chain name
    crypto::ChainId src{};  ///< its chain id
    std::uint32_t threshold = 0;
    bool pin = false;  ///< the Inbox's on-chain set must equal this one
    std::vector<ValidatorEndpoint> validators;
    friend bool operator==(const ValidatorSetConfig&, const ValidatorSetConfig&) = default;
};

struct RelayerSection {
    KeySource key;
    friend bool operator==(const RelayerSection&, const RelayerSection&) = default;
};

struct ValidatorSection {
    std::string chain;           ///< the source chain this node attests
    crypto::ChainId chain_id{};  ///< its chain id
    KeySource key;
    friend bool operator==(const ValidatorSection&, const ValidatorSection&) = default;
};

struct ApiConfig {
    std::string host = "127.0.0.1";  ///< IPv4 dotted quad, "localhost" or IPv6 (no brackets)
    std::uint16_t port = 8645;       ///< 0 = pick a free port
    bool allow_non_loopback = false;
    /// Environment variable holding the admin bearer token; empty = no admin methods. A parsed
    /// config without the key gets "FERRY_ADMIN_TOKEN" (docs/config.md).
    std::string admin_token_env;
    /// Per-client (remote IP) rate limit, loopback included: a token bucket refilled at this
    /// many requests per second; 0 = no limit.
    std::uint32_t rate_limit_per_s = 20'000;
    /// The bucket's size: how many requests a client may send at once after being idle.
    std::uint32_t rate_limit_burst = 40'000;
    friend bool operator==(const ApiConfig&, const ApiConfig&) = default;
};

struct LimitsConfig {
    std::size_t max_body_bytes = 32768;
    std::uint64_t attestation_timeout_ms = 5000;
    std::uint32_t attestation_batch = 200;
    /// Delivered packets keep their bytes and signatures this long, then the pruner drops them.
    std::uint64_t retention_hours = 168;
    friend bool operator==(const LimitsConfig&, const LimitsConfig&) = default;
};

struct Config {
    std::filesystem::path file;      ///< where it was loaded from (empty for parse_config)
    std::filesystem::path database;  ///< resolved
    ApiConfig api;
    std::vector<ChainConfig> chains;
    std::vector<RouteConfig> routes;
    std::vector<ValidatorSetConfig> validator_sets;
    std::optional<RelayerSection> relayer;
    std::optional<ValidatorSection> validator;
    storage::BackoffPolicy retry;
    LimitsConfig limits;

    const ChainConfig* find_chain(std::string_view name) const noexcept;
    const ChainConfig* find_chain(crypto::ChainId id) const noexcept;
    const ValidatorSetConfig* find_validator_set(crypto::ChainId src) const noexcept;

    /// Field by field, `file` included.
    friend bool operator==(const Config& a, const Config& b);
};

/// One problem in a config file. `path` is a JSON path like "chains[1].rpc[0]" ("" for the
/// root and for JSON syntax errors).
struct ConfigIssue {
    std::string path;
    std::string message;
    /// 1-based position of a JSON syntax error (0 for schema issues). Columns count UTF-8
    /// characters.
    std::size_t line = 0;
    std::size_t column = 0;
};

struct ConfigErrors {
    std::vector<ConfigIssue> issues;
    /// One line per issue, each ending in '\n': "<file>: <path>: <message>", or
    /// "<file>: <message>" when the path is empty.
    std::string to_string(std::string_view file) const;
};

/// For boost::system::result<T, ConfigErrors>::value(): throws std::runtime_error.
[[noreturn]] void throw_exception_from_error(const ConfigErrors& e,
                                             const boost::source_location& loc);

/// Parses and checks a config. Relative paths (database, keystore, password_file) are resolved
/// against `base_dir` and normalised lexically. A JSON syntax error gives one issue with its
/// line and column; otherwise every problem is reported together: keys written twice, then
/// each section's schema problems, then cross-reference problems. Never throws on bad input.
boost::system::result<Config, ConfigErrors> parse_config(std::string_view text,
                                                         const std::filesystem::path& base_dir);

/// Reads and parses `file`; relative paths resolve against its (absolute) directory and
/// Config::file is its absolute path. An unreadable or oversized file gives one issue with
/// path "".
boost::system::result<Config, ConfigErrors> load_config(const std::filesystem::path& file);

/// Canonical JSON of `c` (every key written, defaults included, paths as resolved):
/// parse_config(to_json_text(c), dir) == c apart from `file`, for any `dir` when the paths are
/// absolute. The config holds no secrets, so neither does this text.
std::string to_json_text(const Config& c);

}  // namespace ferry::relayer

#include "relayer/config.hpp"

#include "crypto/keccak.hpp"

#include <boost/asio/ip/address_v6.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace ferry::relayer {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;
constexpr std::string_view kDefaultAdminTokenEnv = "FERRY_ADMIN_TOKEN";

// Ranges of spec §1, and ours where the spec gives none (docs/config.md lists them all).
struct Range {
    std::uint64_t min = 0;
    std::uint64_t max = kU64Max;
};
constexpr Range kConfirmations{0, 1000};
constexpr std::uint64_t kMaxThreshold = 255;  // the Inbox stores it in a uint8
constexpr Range kPollIntervalMs{50, 600'000};
constexpr Range kMaxLogRange{1, 100'000};
constexpr Range kRpcTimeoutMs{100, 600'000};
constexpr Range kMaxFeeWei{1, kU64Max};
constexpr Range kReplaceAfterMs{1'000, 3'600'000};
constexpr Range kFeeBumpPercent{10, 500};
constexpr Range kMaxInFlight{1, 64};
constexpr Range kBatchSize{1, 200};
constexpr Range kInitialDelayMs{0, 86'400'000};
constexpr Range kMaxDelayMs{0, 604'800'000};
constexpr Range kMaxAttempts{1, 1000};
constexpr Range kMaxBodyBytes{0, 1'048'576};
constexpr Range kAttestationTimeoutMs{100, 600'000};
constexpr Range kAttestationBatch{1, 1000};
constexpr Range kRateLimitPerS{0, 1'000'000};
constexpr Range kRateLimitBurst{1, 1'000'000};

constexpr std::string_view kRootKeys[] = {"database",       "api",     "chains",    "routes",
                                          "validator_sets", "relayer", "validator", "retry",
                                          "limits"};
constexpr std::string_view kApiKeys[] = {"listen", "allow_non_loopback", "admin_token_env",
                                         "rate_limit_per_s", "rate_limit_burst"};
constexpr std::string_view kChainKeys[] = {"name",
                                           "chain_id",
                                           "rpc",
                                           "confirmations",
                                           "poll_interval_ms",
                                           "max_log_range",
                                           "rpc_timeout_ms",
                                           "start_block",
                                           "outbox",
                                           "inbox",
                                           "gas"};
constexpr std::string_view kGasKeys[] = {"fee_multiplier", "priority_fee_wei", "max_fee_wei",
                                         "gas_margin",     "replace_after_ms", "fee_bump_percent",
                                         "max_in_flight"};
constexpr std::string_view kRouteKeys[] = {"from", "to", "ordered", "batch_size"};
constexpr std::string_view kValidatorSetKeys[] = {"source", "threshold", "pin", "validators"};
constexpr std::string_view kValidatorKeys[] = {"address", "url"};
constexpr std::string_view kRelayerKeys[] = {"key"};
constexpr std::string_view kValidatorSectionKeys[] = {"chain", "key"};
constexpr std::string_view kKeyKeys[] = {"env", "keystore", "password_file"};
constexpr std::string_view kRetryKeys[] = {"initial_delay_ms", "multiplier", "max_delay_ms",
                                           "jitter", "max_attempts"};
constexpr std::string_view kLimitsKeys[] = {"max_body_bytes", "attestation_timeout_ms",
                                            "attestation_batch"};

// ---- small text helpers ----

bool is_plain_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

std::string child(const std::string& path, std::string_view key) {
    if (!is_plain_key(key))
        return path + "[" +
               json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

/// Quotes a (non-secret) value for a message: cut short, control bytes replaced.
std::string quote(std::string_view text) {
    constexpr std::size_t kMax = 64;
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    }
    if (text.size() > kMax) out += "...";
    return out + "'";
}

std::string join(std::span<const std::string_view> items) {
    std::string out;
    for (const auto item : items) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

std::string format_double(double v) {
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    if (ec != std::errc{}) return "?";
    return {buf.data(), end};
}

std::string type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float:
            return "number";
        case json::value_t::string:
            return "string";
        case json::value_t::array:
            return "array";
        case json::value_t::object:
            return "object";
        default:
            return "value";
    }
}

std::string range_text(Range r) {
    if (r.max == kU64Max) return "must be at least " + std::to_string(r.min);
    return "must be between " + std::to_string(r.min) + " and " + std::to_string(r.max);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1u : 0u)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

bool is_hex_digit(char c) { return crypto::hex_digit_value(c) >= 0; }

/// A 32-byte hex string: what a private key looks like. Such a value is never echoed.
bool looks_like_private_key(std::string_view s) {
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    return s.size() == 64 && std::all_of(s.begin(), s.end(), is_hex_digit);
}

bool is_env_name(std::string_view s) {
    if (s.empty() || s.size() > 255 || (s[0] >= '0' && s[0] <= '9')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

bool is_chain_name(std::string_view s) {
    return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
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

/// Why `url` is not an acceptable endpoint URL, or "" when it is. The URL may carry an API key
/// in its path, query or userinfo, so the answer never quotes it.
std::string url_problem(std::string_view url) {
    constexpr std::string_view kExpected = "not a URL (expected http:// or https://)";
    if (url.empty()) return "empty string; expected an http:// or https:// URL";
    for (const char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return "URL contains whitespace or a control character";
    }
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) return std::string(kExpected);
    const std::string scheme = lower(url.substr(0, sep));
    if (scheme != "http" && scheme != "https") {
        if (!scheme.empty() && scheme.size() <= 16 && is_plain_key(scheme))
            return std::string(kExpected) + ", got scheme " + quote(scheme);
        return std::string(kExpected);
    }
    std::string_view authority = url.substr(sep + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    std::string_view host;
    std::optional<std::string_view> port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return "URL has an unclosed '[' in its host";
        host = authority.substr(1, close - 1);
        if (!parse_ipv6(host)) return "URL host in brackets is not an IPv6 address";
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return "URL has characters after its IPv6 host";
            port = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        const bool host_chars_ok = std::all_of(host.begin(), host.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
        });
        if (!host_chars_ok) return "URL host has a character a host name cannot have";
    }
    if (host.empty()) return "URL has an empty host";
    unsigned value = 0;
    if (port && !parse_port(*port, 1, value)) return "URL port must be a number from 1 to 65535";
    return "";
}

/// EIP-55: a mixed-case address must carry its checksum.
bool eip55_ok(std::string_view hex40, const crypto::Address& address) {
    const bool has_upper =
        std::any_of(hex40.begin(), hex40.end(), [](char c) { return c >= 'A' && c <= 'F'; });
    const bool has_lower =
        std::any_of(hex40.begin(), hex40.end(), [](char c) { return c >= 'a' && c <= 'f'; });
    if (!has_upper || !has_lower) return true;
    const std::string lowered = address.hex().substr(2);
    const auto hash = crypto::keccak256(
        crypto::ByteView(reinterpret_cast<const std::uint8_t*>(lowered.data()), lowered.size()));
    for (std::size_t i = 0; i < 40; ++i) {
        const char c = hex40[i];
        if (c >= '0' && c <= '9') continue;
        const auto byte = static_cast<unsigned>(hash[i / 2]);
        const unsigned nibble = (i % 2 == 0) ? (byte >> 4u) : (byte & 0x0fu);
        const bool upper = c >= 'A' && c <= 'F';
        if (upper != (nibble >= 8)) return false;
    }
    return true;
}

// ---- the checker ----

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

class Checker {
public:
    explicit Checker(fs::path base_dir) : base_dir_(std::move(base_dir)) {}

    std::vector<ConfigIssue> issues;

    void error(std::string path, std::string message) {
        issues.push_back(ConfigIssue{std::move(path), std::move(message)});
    }

    void check(const json& root, Config& c);

private:
    static const json* get(const json& obj, std::string_view key) {
        const auto it = obj.find(std::string(key));
        return it == obj.end() ? nullptr : &*it;
    }

    const json* need(const json& obj, const std::string& path, std::string_view key) {
        const json* v = get(obj, key);
        if (v == nullptr) error(child(path, key), "required key is missing");
        return v;
    }

    bool object(const json& v, const std::string& path) {
        if (v.is_object()) return true;
        error(path, "expected an object, got " + type_name(v));
        return false;
    }

    void check_keys(const json& obj, const std::string& path,
                    std::span<const std::string_view> allowed) {
        for (const auto& [key, value] : obj.items()) {
            if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
            std::string message = "unknown key (expected one of: " + join(allowed) + ")";
            std::string_view best;
            std::size_t best_distance = 3;
            for (const auto candidate : allowed) {
                const auto d = edit_distance(key, candidate);
                if (d < best_distance && d < candidate.size()) {
                    best = candidate;
                    best_distance = d;
                }
            }
            if (!best.empty()) message += "; did you mean '" + std::string(best) + "'?";
            error(child(path, key), std::move(message));
        }
    }

    std::optional<std::uint64_t> u64(const json& v, const std::string& path, Range r = {}) {
        if (v.is_number_unsigned()) {
            const auto x = v.get<std::uint64_t>();
            if (x < r.min || x > r.max) {
                error(path, range_text(r) + ", got " + std::to_string(x));
                return std::nullopt;
            }
            return x;
        }
        if (v.is_number_integer()) {  // negative
            if (r.min == 0 && r.max == kU64Max)
                error(path,
                      "expected an unsigned integer, got " + std::to_string(v.get<std::int64_t>()));
            else
                error(path, range_text(r) + ", got " + std::to_string(v.get<std::int64_t>()));
            return std::nullopt;
        }
        if (v.is_number_float()) {
            const double d = v.get<double>();
            if (d >= 18446744073709551616.0)
                error(path, "number too large (at most " + std::to_string(r.max) + ")");
            else if (d == std::trunc(d))
                error(path, "expected an unsigned integer, got " + format_double(d) +
                                " written with a fraction or an exponent; write a plain integer");
            else
                error(path, "expected an unsigned integer, got the fractional number " +
                                format_double(d));
            return std::nullopt;
        }
        error(path, "expected an unsigned integer, got " + type_name(v));
        return std::nullopt;
    }

    std::optional<double> number(const json& v, const std::string& path, double min, double max) {
        if (!v.is_number()) {
            error(path, "expected a number, got " + type_name(v));
            return std::nullopt;
        }
        const double d = v.get<double>();
        if (!(d >= min && d <= max)) {
            error(path, "must be between " + format_double(min) + " and " + format_double(max) +
                            ", got " + format_double(d));
            return std::nullopt;
        }
        return d;
    }

    std::optional<bool> boolean(const json& v, const std::string& path) {
        if (v.is_boolean()) return v.get<bool>();
        error(path, "expected true or false, got " + type_name(v));
        return std::nullopt;
    }

    std::optional<std::string> string(const json& v, const std::string& path) {
        if (!v.is_string()) {
            error(path, "expected a string, got " + type_name(v));
            return std::nullopt;
        }
        return v.get<std::string>();
    }

    std::optional<std::string> chain_ref(const json& v, const std::string& path) {
        auto s = string(v, path);
        if (s && s->empty()) {
            error(path, "expected a chain name, got an empty string");
            return std::nullopt;
        }
        return s;
    }

    std::optional<crypto::Address> address(const json& v, const std::string& path) {
        constexpr std::string_view kForm = "0x and 40 hex digits";
        if (!v.is_string()) {
            error(path, "expected an address (" + std::string(kForm) + "), got " + type_name(v));
            return std::nullopt;
        }
        // Never echo the value: a private key pasted here by mistake must not reach a log.
        const auto& s = v.get_ref<const std::string&>();
        if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
            error(path, "not an address (expected " + std::string(kForm) + "): no 0x prefix");
            return std::nullopt;
        }
        const std::string_view digits = std::string_view(s).substr(2);
        if (!std::all_of(digits.begin(), digits.end(), is_hex_digit)) {
            error(path, "not an address (expected " + std::string(kForm) +
                            "): it has a character that is not a hex digit");
            return std::nullopt;
        }
        if (digits.size() != 40) {
            error(path, "not an address (expected " + std::string(kForm) + "), got " +
                            std::to_string(digits.size()) + " hex digits");
            return std::nullopt;
        }
        auto parsed = crypto::Address::from_hex(s);
        if (!parsed) {
            error(path, "not an address (expected " + std::string(kForm) + ")");
            return std::nullopt;
        }
        if (parsed->is_zero()) {
            error(path, "the zero address is not allowed");
            return std::nullopt;
        }
        if (!eip55_ok(digits, *parsed)) {
            error(path,
                  "mixed-case address fails its EIP-55 checksum (a typo?); check it or write it "
                  "in lower case");
            return std::nullopt;
        }
        return *parsed;
    }

    std::optional<std::string> url(const json& v, const std::string& path) {
        if (!v.is_string()) {
            error(path, "expected an http:// or https:// URL, got " + type_name(v));
            return std::nullopt;
        }
        const auto& s = v.get_ref<const std::string&>();
        if (auto problem = url_problem(s); !problem.empty()) {
            error(path, std::move(problem));
            return std::nullopt;
        }
        return s;
    }

    std::optional<fs::path> file_path(const json& v, const std::string& path) {
        auto s = string(v, path);
        if (!s) return std::nullopt;
        if (s->empty()) {
            error(path, "expected a file path, got an empty string");
            return std::nullopt;
        }
        if (s->find('\0') != std::string::npos) {
            error(path, "a file path cannot contain a NUL character");
            return std::nullopt;
        }
        fs::path p(*s);
        if (p.is_relative()) p = base_dir_ / p;
        return p.lexically_normal();
    }

    std::optional<std::string> env_name(const json& v, const std::string& path, bool allow_empty) {
        auto s = string(v, path);
        if (!s) return std::nullopt;
        if (s->empty() && allow_empty) return s;
        // Never echo the value: it may be the secret itself.
        if (looks_like_private_key(*s)) {
            error(path,
                  "this looks like a private key, not the name of an environment variable; put "
                  "the key in a variable and write the variable's name here");
            return std::nullopt;
        }
        if (!is_env_name(*s)) {
            error(path,
                  "not an environment variable name (letters, digits and '_', not starting with "
                  "a digit)");
            return std::nullopt;
        }
        return s;
    }

    /// Reads obj[key] with `read` into `out` when the key is present and the value is good.
    template <class T, class Read>
    void optional_field(const json& obj, const std::string& path, std::string_view key, T& out,
                        Read read) {
        if (const json* v = get(obj, key))
            if (auto x = read(*v, child(path, key))) out = static_cast<T>(*x);
    }

    auto in(Range r) {
        return [this, r](const json& v, const std::string& p) { return u64(v, p, r); };
    }
    auto real(double min, double max) {
        return [this, min, max](const json& v, const std::string& p) {
            return number(v, p, min, max);
        };
    }
    auto flag() {
        return [this](const json& v, const std::string& p) { return boolean(v, p); };
    }

    void check_api(const json& v, ApiConfig& api);
    void check_chain(const json& v, const std::string& path, ChainConfig& chain, ChainInfo& info);
    void check_gas(const json& v, const std::string& path, GasPolicy& gas);
    void check_route(const json& v, const std::string& path, RouteConfig& route, RouteRef& ref);
    void check_validator_set(const json& v, const std::string& path, ValidatorSetConfig& set,
                             std::optional<std::string>& source);
    void check_key(const json& v, const std::string& path, KeySource& key);
    void check_retry(const json& v, storage::BackoffPolicy& retry);
    void check_limits(const json& v, LimitsConfig& limits);

    // Cross references.
    const ChainInfo* known_chain(const std::string& name, const std::string& path);

    fs::path base_dir_;
    std::vector<ChainInfo> chains_;
};

void Checker::check_api(const json& v, ApiConfig& api) {
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
    const json* listen = get(v, "listen");
    if (listen == nullptr) return;
    const std::string lpath = child(path, "listen");
    auto text = string(*listen, lpath);
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

void Checker::check_gas(const json& v, const std::string& path, GasPolicy& gas) {
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

void Checker::check_chain(const json& v, const std::string& path, ChainConfig& chain,
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
    if (const json* rpc = need(v, path, "rpc")) {
        const std::string rpath = child(path, "rpc");
        if (!rpc->is_array()) {
            error(rpath, "expected an array of URLs, got " + type_name(*rpc));
        } else if (rpc->empty()) {
            error(rpath, "at least one URL is required");
        } else {
            for (std::size_t i = 0; i < rpc->size(); ++i) {
                auto u = url((*rpc)[i], index(rpath, i));
                if (!u) continue;
                const auto same = std::find(chain.rpc.begin(), chain.rpc.end(), *u);
                if (same != chain.rpc.end())
                    error(index(rpath, i),
                          "same URL as an earlier entry of " + rpath + "; list each endpoint once");
                else
                    chain.rpc.push_back(std::move(*u));
            }
        }
    }
    if (const json* conf = get(v, "confirmations")) {
        const std::string cpath = child(path, "confirmations");
        if (conf->is_string()) {
            if (conf->get_ref<const std::string&>() == "finalized") {
                chain.finalized = true;
                chain.confirmations = 0;
            } else {
                error(cpath, "expected an integer 0..1000 or the string \"finalized\", got " +
                                 quote(conf->get_ref<const std::string&>()));
            }
        } else if (conf->is_number()) {
            if (auto x = u64(*conf, cpath, kConfirmations)) chain.confirmations = *x;
        } else {
            error(cpath, "expected an integer 0..1000 or the string \"finalized\", got " +
                             type_name(*conf));
        }
    }
    optional_field(v, path, "poll_interval_ms", chain.poll_interval_ms, in(kPollIntervalMs));
    optional_field(v, path, "max_log_range", chain.max_log_range, in(kMaxLogRange));
    optional_field(v, path, "rpc_timeout_ms", chain.rpc_timeout_ms, in(kRpcTimeoutMs));
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

void Checker::check_route(const json& v, const std::string& path, RouteConfig& route,
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

void Checker::check_validator_set(const json& v, const std::string& path, ValidatorSetConfig& set,
                                  std::optional<std::string>& source) {
    if (!object(v, path)) return;
    check_keys(v, path, kValidatorSetKeys);
    if (const json* s = need(v, path, "source")) source = chain_ref(*s, child(path, "source"));
    if (source) set.source = *source;
    optional_field(v, path, "pin", set.pin, flag());
    std::optional<std::size_t> count;
    if (const json* list = need(v, path, "validators")) {
        const std::string lpath = child(path, "validators");
        if (!list->is_array()) {
            error(lpath,
                  "expected an array of {\"address\", \"url\"} objects, got " + type_name(*list));
        } else if (list->empty()) {
            error(lpath, "at least one validator is required");
        } else {
            count = list->size();
            std::map<crypto::Address, std::size_t> seen;
            for (std::size_t i = 0; i < list->size(); ++i) {
                const std::string epath = index(lpath, i);
                const json& e = (*list)[i];
                if (!object(e, epath)) continue;
                check_keys(e, epath, kValidatorKeys);
                ValidatorEndpoint endpoint;
                bool ok = true;
                if (const json* a = need(e, epath, "address")) {
                    const std::string apath = child(epath, "address");
                    if (auto addr = address(*a, apath)) {
                        endpoint.address = *addr;
                        if (const auto [it, fresh] = seen.emplace(*addr, i); !fresh)
                            error(apath, "duplicate validator address (same as " +
                                             index(lpath, it->second) + ")");
                    } else {
                        ok = false;
                    }
                } else {
                    ok = false;
                }
                if (const json* u = need(e, epath, "url")) {
                    if (auto x = url(*u, child(epath, "url")))
                        endpoint.url = *x;
                    else
                        ok = false;
                } else {
                    ok = false;
                }
                if (ok) set.validators.push_back(std::move(endpoint));
            }
        }
    }
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

void Checker::check_key(const json& v, const std::string& path, KeySource& key) {
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

void Checker::check_retry(const json& v, storage::BackoffPolicy& retry) {
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

void Checker::check_limits(const json& v, LimitsConfig& limits) {
    const std::string path = "limits";
    if (!object(v, path)) return;
    check_keys(v, path, kLimitsKeys);
    optional_field(v, path, "max_body_bytes", limits.max_body_bytes, in(kMaxBodyBytes));
    optional_field(v, path, "attestation_timeout_ms", limits.attestation_timeout_ms,
                   in(kAttestationTimeoutMs));
    optional_field(v, path, "attestation_batch", limits.attestation_batch, in(kAttestationBatch));
}

const ChainInfo* Checker::known_chain(const std::string& name, const std::string& path) {
    for (const auto& info : chains_)
        if (info.named && info.name == name) return &info;
    std::string names;
    for (const auto& info : chains_) {
        if (!info.named) continue;
        if (!names.empty()) names += ", ";
        names += info.name;
    }
    error(path, "unknown chain " + quote(name) +
                    (names.empty() ? " (no chains are defined)" : " (chains are: " + names + ")"));
    return nullptr;
}

std::size_t chain_index(const std::vector<ChainInfo>& chains, const ChainInfo* info) {
    return static_cast<std::size_t>(info - chains.data());
}

void Checker::check(const json& root, Config& c) {
    if (!root.is_object()) {
        error("", "the config must be a JSON object, got " + type_name(root));
        return;
    }
    check_keys(root, "", kRootKeys);

    if (const json* db = need(root, "", "database"))
        if (auto p = file_path(*db, "database")) c.database = *p;

    c.api.admin_token_env = std::string(kDefaultAdminTokenEnv);
    if (const json* api = get(root, "api")) check_api(*api, c.api);

    if (const json* chains = need(root, "", "chains")) {
        if (!chains->is_array()) {
            error("chains", "expected an array of chains, got " + type_name(*chains));
        } else if (chains->empty()) {
            error("chains", "at least one chain is required");
        } else {
            std::map<std::string, std::size_t> names;
            std::map<std::uint64_t, std::size_t> ids;
            for (std::size_t i = 0; i < chains->size(); ++i) {
                const std::string path = index("chains", i);
                ChainConfig chain;
                ChainInfo info;
                check_chain((*chains)[i], path, chain, info);
                if (info.named) {
                    if (const auto [it, fresh] = names.emplace(info.name, i); !fresh) {
                        error(child(path, "name"), "duplicate chain name " + quote(info.name) +
                                                       " (also " + index("chains", it->second) +
                                                       ")");
                        info.named = false;  // references resolve to the first one
                    }
                }
                if (info.id) {
                    const auto id = crypto::to_u64(*info.id);
                    if (const auto [it, fresh] = ids.emplace(id, i); !fresh)
                        error(child(path, "chain_id"), "duplicate chain id " + std::to_string(id) +
                                                           " (also " + index("chains", it->second) +
                                                           ")");
                }
                c.chains.push_back(std::move(chain));
                chains_.push_back(std::move(info));
            }
        }
    }

    std::vector<RouteRef> route_refs;
    if (const json* routes = get(root, "routes")) {
        if (!routes->is_array()) {
            error("routes", "expected an array of routes, got " + type_name(*routes));
        } else {
            for (std::size_t i = 0; i < routes->size(); ++i) {
                RouteConfig route;
                RouteRef ref;
                check_route((*routes)[i], index("routes", i), route, ref);
                c.routes.push_back(std::move(route));
                route_refs.push_back(std::move(ref));
            }
        }
    }

    std::vector<std::optional<std::string>> set_sources;
    if (const json* sets = get(root, "validator_sets")) {
        if (!sets->is_array()) {
            error("validator_sets", "expected an array of validator sets, got " + type_name(*sets));
        } else {
            for (std::size_t i = 0; i < sets->size(); ++i) {
                ValidatorSetConfig set;
                std::optional<std::string> source;
                check_validator_set((*sets)[i], index("validator_sets", i), set, source);
                c.validator_sets.push_back(std::move(set));
                set_sources.push_back(std::move(source));
            }
        }
    }

    if (const json* r = get(root, "relayer")) {
        c.relayer.emplace();
        if (object(*r, "relayer")) {
            check_keys(*r, "relayer", kRelayerKeys);
            if (const json* key = need(*r, "relayer", "key"))
                check_key(*key, "relayer.key", c.relayer->key);
        }
    }

    std::optional<std::string> validator_chain;
    if (const json* v = get(root, "validator")) {
        c.validator.emplace();
        if (object(*v, "validator")) {
            check_keys(*v, "validator", kValidatorSectionKeys);
            if (const json* ch = need(*v, "validator", "chain"))
                validator_chain = chain_ref(*ch, "validator.chain");
            if (validator_chain) c.validator->chain = *validator_chain;
            if (const json* key = need(*v, "validator", "key"))
                check_key(*key, "validator.key", c.validator->key);
        }
    }

    if (const json* retry = get(root, "retry")) check_retry(*retry, c.retry);
    if (const json* limits = get(root, "limits")) check_limits(*limits, c.limits);

    // ---- cross references ----
    const auto outbox_hint = [&](const ChainInfo* info) {
        return "chain " + quote(info->name) + " has no outbox; set " +
               child(index("chains", chain_index(chains_, info)), "outbox");
    };

    std::map<std::string, std::size_t> set_index;  // source name → first validator set
    for (std::size_t i = 0; i < set_sources.size(); ++i) {
        if (!set_sources[i]) continue;
        const std::string path = child(index("validator_sets", i), "source");
        const ChainInfo* info = known_chain(*set_sources[i], path);
        if (info == nullptr) continue;
        if (info->id) c.validator_sets[i].src = *info->id;
        if (const auto [it, fresh] = set_index.emplace(*set_sources[i], i); !fresh)
            error(path, "duplicate validator set for chain " + quote(*set_sources[i]) + " (also " +
                            index("validator_sets", it->second) + ")");
    }

    std::map<std::pair<std::string, std::string>, std::size_t> route_index;
    for (std::size_t i = 0; i < route_refs.size(); ++i) {
        const RouteRef& ref = route_refs[i];
        const std::string path = index("routes", i);
        const ChainInfo* from = ref.from ? known_chain(*ref.from, child(path, "from")) : nullptr;
        const ChainInfo* to = ref.to ? known_chain(*ref.to, child(path, "to")) : nullptr;
        if (from != nullptr && from->id) c.routes[i].src = *from->id;
        if (to != nullptr && to->id) c.routes[i].dst = *to->id;
        if (ref.from && ref.to && *ref.from == *ref.to) {
            error(child(path, "to"), "same chain as from (" + quote(*ref.to) +
                                         "); a route joins two different chains");
            continue;
        }
        if (ref.from && ref.to) {
            if (const auto [it, fresh] = route_index.emplace(std::pair(*ref.from, *ref.to), i);
                !fresh)
                error(path, "duplicate route " + *ref.from + "->" + *ref.to + " (also " +
                                index("routes", it->second) + ")");
        }
        if (from != nullptr) {
            if (!from->has_outbox) error(child(path, "from"), outbox_hint(from));
            if (set_index.find(from->name) == set_index.end())
                error(child(path, "from"), "no validator set for source chain " +
                                               quote(from->name) + "; add one to validator_sets");
        }
        if (to != nullptr && !to->has_inbox)
            error(child(path, "to"), "chain " + quote(to->name) + " has no inbox; set " +
                                         child(index("chains", chain_index(chains_, to)), "inbox"));
    }

    if (validator_chain) {
        if (const ChainInfo* info = known_chain(*validator_chain, "validator.chain")) {
            if (info->id) c.validator->chain_id = *info->id;
            if (!info->has_outbox) error("validator.chain", outbox_hint(info));
        }
    }

    if (!c.relayer && !c.validator)
        error("",
              "the node has no role: add a \"relayer\" section (relay packets), a \"validator\" "
              "section (attest packets), or both");
    if (c.relayer && route_refs.empty())
        error("relayer", "a relaying node needs at least one route in \"routes\"");
}

// ---- JSON syntax errors and duplicate keys ----

/// 1-based line and column (in UTF-8 characters) of byte offset `offset`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    std::size_t column = 1;
    for (std::size_t i = line_start; i < offset; ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0u) != 0x80u) ++column;
    return {line, column};
}

/// nlohmann's explanation without its prefix and without "last read: '…'", which would echo
/// file content (possibly an RPC URL with an API key).
std::string syntax_detail(std::string_view what) {
    if (const auto at = what.find("parse error"); at != std::string_view::npos) {
        what.remove_prefix(at);
        if (const auto colon = what.find(": "); colon != std::string_view::npos)
            what.remove_prefix(colon + 2);
    }
    for (const std::string_view prefix :
         {"syntax error while parsing value - ", "syntax error while parsing object key - ",
          "syntax error while parsing object separator - ", "syntax error while parsing object - ",
          "syntax error while parsing array - "}) {
        if (what.substr(0, prefix.size()) == prefix) {
            what.remove_prefix(prefix.size());
            break;
        }
    }
    std::string out(what);
    if (const auto last = out.find("; last read: '"); last != std::string::npos) {
        const auto expected = out.rfind("; expected ");
        std::string tail = (expected != std::string::npos && expected > last) ? out.substr(expected)
                                                                              : std::string();
        out = out.substr(0, last) + tail;
    }
    return out;
}

/// Tracks the path while nlohmann parses, to report keys that appear twice in one object
/// (nlohmann keeps the last one silently).
class DuplicateKeys {
public:
    explicit DuplicateKeys(std::vector<ConfigIssue>& issues) : issues_(issues) {}

    bool on_event(json::parse_event_t event, const json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (!frames_.empty() && frames_.back().array) ++frames_.back().next;
                frames_.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
                break;
            case json::parse_event_t::key: {
                if (frames_.empty() || !parsed.is_string()) break;
                const auto& key = parsed.get_ref<const std::string&>();
                if (!frames_.back().keys.insert(key).second)
                    issues_.push_back(ConfigIssue{
                        child(container_path(), key),
                        "duplicate key (only the last one would count); write each key once"});
                frames_.back().key = key;
                break;
            }
            case json::parse_event_t::value:
                if (!frames_.empty() && frames_.back().array) ++frames_.back().next;
                break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                if (!frames_.empty()) frames_.pop_back();
                break;
        }
        return true;
    }

private:
    struct Frame {
        bool array = false;
        std::size_t next = 0;  // arrays: index of the next element
        std::string key;       // objects: the current key
        std::set<std::string> keys;
    };

    std::string container_path() const {
        std::string path;
        for (std::size_t i = 0; i + 1 < frames_.size(); ++i)
            path =
                frames_[i].array ? index(path, frames_[i].next - 1) : child(path, frames_[i].key);
        return path;
    }

    std::vector<ConfigIssue>& issues_;
    std::vector<Frame> frames_;
};

}  // namespace

const ChainConfig* Config::find_chain(std::string_view name) const noexcept {
    for (const auto& chain : chains)
        if (chain.name == name) return &chain;
    return nullptr;
}

const ChainConfig* Config::find_chain(crypto::ChainId id) const noexcept {
    for (const auto& chain : chains)
        if (chain.chain_id == id) return &chain;
    return nullptr;
}

const ValidatorSetConfig* Config::find_validator_set(crypto::ChainId src) const noexcept {
    for (const auto& set : validator_sets)
        if (set.src == src) return &set;
    return nullptr;
}

bool operator==(const Config& a, const Config& b) {
    const auto retry_equal = [](const storage::BackoffPolicy& x, const storage::BackoffPolicy& y) {
        return x.initial_delay_ms == y.initial_delay_ms && x.multiplier == y.multiplier &&
               x.max_delay_ms == y.max_delay_ms && x.jitter == y.jitter &&
               x.max_attempts == y.max_attempts;
    };
    return a.file == b.file && a.database == b.database && a.api == b.api && a.chains == b.chains &&
           a.routes == b.routes && a.validator_sets == b.validator_sets && a.relayer == b.relayer &&
           a.validator == b.validator && retry_equal(a.retry, b.retry) && a.limits == b.limits;
}

std::string ConfigErrors::to_string(std::string_view file) const {
    std::string out;
    for (const auto& issue : issues) {
        out += file;
        out += ": ";
        if (!issue.path.empty()) {
            out += issue.path;
            out += ": ";
        }
        out += issue.message;
        out += '\n';
    }
    return out;
}

void throw_exception_from_error(const ConfigErrors& e, const boost::source_location&) {
    throw std::runtime_error(e.to_string("config"));
}

boost::system::result<Config, ConfigErrors> parse_config(std::string_view text,
                                                         const std::filesystem::path& base_dir) {
    ConfigErrors errors;
    json root;
    try {
        DuplicateKeys duplicates(errors.issues);
        root = json::parse(
            text.begin(), text.end(),
            [&duplicates](int, json::parse_event_t event, json& parsed) {
                return duplicates.on_event(event, parsed);
            },
            /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // e.byte counts the characters read, the offending one included.
        const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
        const auto [line, column] = line_column(text, offset);
        const bool blank = std::all_of(text.begin(), text.end(), [](char c) {
            return c == ' ' || c == '\t' || c == '\n' || c == '\r';
        });
        ConfigIssue issue;
        issue.line = line;
        issue.column = column;
        issue.message = "JSON syntax error at line " + std::to_string(line) + ", column " +
                        std::to_string(column) + ": " +
                        (blank ? std::string("the file is empty") : syntax_detail(e.what()));
        errors.issues.assign(1, std::move(issue));
        return errors;
    } catch (const json::exception& e) {
        errors.issues.assign(1,
                             ConfigIssue{"", "cannot parse the JSON: " + syntax_detail(e.what())});
        return errors;
    }

    Config config;
    Checker checker(base_dir);
    checker.check(root, config);
    errors.issues.insert(errors.issues.end(), std::make_move_iterator(checker.issues.begin()),
                         std::make_move_iterator(checker.issues.end()));
    if (!errors.issues.empty()) return errors;
    return config;
}

boost::system::result<Config, ConfigErrors> load_config(const std::filesystem::path& file) {
    const auto fail = [](std::string message) {
        return ConfigErrors{{ConfigIssue{"", std::move(message)}}};
    };
    std::error_code ec;
    fs::path full = fs::absolute(file, ec);
    if (ec) return fail("cannot resolve the path: " + ec.message());
    full = full.lexically_normal();
    if (fs::is_directory(full, ec)) return fail("cannot read: it is a directory");

    struct Closer {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    const std::unique_ptr<std::FILE, Closer> f(std::fopen(full.c_str(), "rb"));
    if (!f) return fail("cannot read: " + std::generic_category().message(errno));
    std::string text;
    std::array<char, 65536> buf{};
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
        text.append(buf.data(), n);
        if (text.size() > kMaxConfigBytes)
            return fail("the file is larger than " + std::to_string(kMaxConfigBytes / 1024 / 1024) +
                        " MiB; is it really a config file?");
        if (n < buf.size()) {
            if (std::ferror(f.get()) != 0) return fail("cannot read: I/O error");
            break;
        }
    }

    auto parsed = parse_config(text, full.parent_path());
    if (!parsed) return parsed;
    parsed->file = full;
    return parsed;
}

std::string to_json_text(const Config& c) {
    using ojson = nlohmann::ordered_json;
    const auto key_json = [](const KeySource& key) {
        ojson k = ojson::object();
        if (!key.env.empty()) k["env"] = key.env;
        if (!key.keystore.empty()) k["keystore"] = key.keystore.string();
        if (!key.password_file.empty()) k["password_file"] = key.password_file.string();
        return k;
    };

    ojson root = ojson::object();
    root["database"] = c.database.string();
    const bool v6 = c.api.host.find(':') != std::string::npos;
    root["api"] = {
        {"listen", (v6 ? "[" + c.api.host + "]" : c.api.host) + ":" + std::to_string(c.api.port)},
        {"allow_non_loopback", c.api.allow_non_loopback},
        {"admin_token_env", c.api.admin_token_env},
        {"rate_limit_per_s", c.api.rate_limit_per_s},
        {"rate_limit_burst", c.api.rate_limit_burst}};

    ojson chains = ojson::array();
    for (const auto& chain : c.chains) {
        ojson j = ojson::object();
        j["name"] = chain.name;
        j["chain_id"] = crypto::to_u64(chain.chain_id);
        j["rpc"] = chain.rpc;
        if (chain.finalized)
            j["confirmations"] = "finalized";
        else
            j["confirmations"] = chain.confirmations;
        j["poll_interval_ms"] = chain.poll_interval_ms;
        j["max_log_range"] = chain.max_log_range;
        j["rpc_timeout_ms"] = chain.rpc_timeout_ms;
        j["start_block"] = chain.start_block;
        if (chain.outbox) j["outbox"] = chain.outbox->hex();
        if (chain.inbox) j["inbox"] = chain.inbox->hex();
        const GasPolicy& g = chain.gas;
        j["gas"] = {
            {"fee_multiplier", g.fee_multiplier},
            {"priority_fee_wei", g.priority_fee_wei ? ojson(*g.priority_fee_wei) : ojson(nullptr)},
            {"max_fee_wei", g.max_fee_wei},
            {"gas_margin", g.gas_margin},
            {"replace_after_ms", g.replace_after_ms},
            {"fee_bump_percent", g.fee_bump_percent},
            {"max_in_flight", g.max_in_flight}};
        chains.push_back(std::move(j));
    }
    root["chains"] = std::move(chains);

    ojson routes = ojson::array();
    for (const auto& r : c.routes)
        routes.push_back(
            {{"from", r.from}, {"to", r.to}, {"ordered", r.ordered}, {"batch_size", r.batch_size}});
    root["routes"] = std::move(routes);

    ojson sets = ojson::array();
    for (const auto& s : c.validator_sets) {
        ojson validators = ojson::array();
        for (const auto& v : s.validators)
            validators.push_back({{"address", v.address.hex()}, {"url", v.url}});
        sets.push_back({{"source", s.source},
                        {"threshold", s.threshold},
                        {"pin", s.pin},
                        {"validators", std::move(validators)}});
    }
    root["validator_sets"] = std::move(sets);

    if (c.relayer) root["relayer"] = {{"key", key_json(c.relayer->key)}};
    if (c.validator)
        root["validator"] = {{"chain", c.validator->chain}, {"key", key_json(c.validator->key)}};
    root["retry"] = {{"initial_delay_ms", c.retry.initial_delay_ms},
                     {"multiplier", c.retry.multiplier},
                     {"max_delay_ms", c.retry.max_delay_ms},
                     {"jitter", c.retry.jitter},
                     {"max_attempts", c.retry.max_attempts}};
    root["limits"] = {{"max_body_bytes", c.limits.max_body_bytes},
                      {"attestation_timeout_ms", c.limits.attestation_timeout_ms},
                      {"attestation_batch", c.limits.attestation_batch}};
    return root.dump(2) + "\n";
}

}  // namespace ferry::relayer

// The generic half of the config loader: checks JSON values for their type, range and keys and
// collects every problem with its JSON path, so that one run reports them all. It knows value
// kinds (numbers, addresses, URLs, file paths, environment variable names), not Ferry's keys.
#pragma once

#include "crypto/types.hpp"
#include "relayer/config.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::relayer::config_json {

using nlohmann::json;

inline constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

/// Inclusive bounds of an unsigned integer.
struct Range {
    std::uint64_t min = 0;
    std::uint64_t max = kU64Max;
};

/// The JSON path of obj[key] under `path`: "a.b", or a["k y"] for a key that is not plain.
std::string child(const std::string& path, std::string_view key);
/// The JSON path of array[i] under `path`: "a[3]".
std::string index(const std::string& path, std::size_t i);
/// Quotes a (non-secret) value for a message: cut short, control bytes replaced.
std::string quote(std::string_view text);
/// "null", "boolean", "number", "string", "array" or "object".
std::string type_name(const json& v);

/// Checks values and records problems in `issues`, in the order found. Every reader returns
/// nullopt after recording why the value is bad; none throws on bad input.
class JsonChecker {
public:
    /// Relative file paths resolve against `base_dir`.
    explicit JsonChecker(std::filesystem::path base_dir) : base_dir_(std::move(base_dir)) {}

    std::vector<ConfigIssue> issues;

    void error(std::string path, std::string message);

    /// obj[key], or nullptr when absent.
    static const json* get(const json& obj, std::string_view key);
    /// obj[key]; when absent, records "required key is missing" and returns nullptr.
    const json* need(const json& obj, const std::string& path, std::string_view key);
    /// Whether `v` is an object; records the problem when it is not.
    bool object(const json& v, const std::string& path);
    /// Records each key of `obj` not in `allowed`, with a "did you mean" for a near miss.
    void check_keys(const json& obj, const std::string& path,
                    std::span<const std::string_view> allowed);

    std::optional<std::uint64_t> u64(const json& v, const std::string& path, Range r = {});
    std::optional<double> number(const json& v, const std::string& path, double min, double max);
    std::optional<bool> boolean(const json& v, const std::string& path);
    std::optional<std::string> string(const json& v, const std::string& path);
    /// A non-zero address, EIP-55 checked when mixed-case. Never echoes the value.
    std::optional<crypto::Address> address(const json& v, const std::string& path);
    /// An http(s) URL (chains::parse_http_url). Never echoes the value.
    std::optional<std::string> url(const json& v, const std::string& path);
    /// A file path, resolved against the base directory and normalised lexically.
    std::optional<std::filesystem::path> file_path(const json& v, const std::string& path);
    /// The name of an environment variable (empty allowed when `allow_empty`). A value that
    /// looks like a private key is refused without being echoed.
    std::optional<std::string> env_name(const json& v, const std::string& path, bool allow_empty);

    /// Reads obj[key] with `read` into `out` when the key is present and the value is good.
    template <class T, class Read>
    void optional_field(const json& obj, const std::string& path, std::string_view key, T& out,
                        Read read) {
        if (const json* v = get(obj, key))
            if (auto x = read(*v, child(path, key))) out = static_cast<T>(*x);
    }

    /// Readers for optional_field.
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

private:
    std::filesystem::path base_dir_;
};

}  // namespace ferry::relayer::config_json

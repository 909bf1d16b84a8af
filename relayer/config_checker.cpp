#include "relayer/config_checker.hpp"

#include "chains/url.hpp"
#include "crypto/quote.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

namespace ferry::relayer::config_json {
namespace {

namespace fs = std::filesystem;

bool is_plain_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
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

/// The allowed key nearest to `key` when it is a likely typo, else "".
std::string_view nearest_key(std::string_view key, std::span<const std::string_view> allowed) {
    std::string_view best;
    std::size_t best_distance = 3;
    for (const auto candidate : allowed) {
        const auto d = edit_distance(key, candidate);
        if (d < best_distance && d < candidate.size()) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
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

/// Why a string is not an address, or "" when its form is right (0x and 40 hex digits).
std::string address_form_problem(std::string_view s) {
    const std::string form = "not an address (expected 0x and 40 hex digits)";
    if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return form + ": no 0x prefix";
    const std::string_view digits = s.substr(2);
    if (!std::all_of(digits.begin(), digits.end(), is_hex_digit))
        return form + ": it has a character that is not a hex digit";
    if (digits.size() != 40) return form + ", got " + std::to_string(digits.size()) + " hex digits";
    return "";
}

}  // namespace

std::string child(const std::string& path, std::string_view key) {
    if (!is_plain_key(key))
        return path + "[" +
               json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

std::string quote(std::string_view text) { return crypto::quote_input(text, 64); }

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

void JsonChecker::error(std::string path, std::string message) {
    issues.push_back(ConfigIssue{std::move(path), std::move(message)});
}

const json* JsonChecker::get(const json& obj, std::string_view key) {
    const auto it = obj.find(std::string(key));
    return it == obj.end() ? nullptr : &*it;
}

const json* JsonChecker::need(const json& obj, const std::string& path, std::string_view key) {
    const json* v = get(obj, key);
    if (v == nullptr) error(child(path, key), "required key is missing");
    return v;
}

bool JsonChecker::object(const json& v, const std::string& path) {
    if (v.is_object()) return true;
    error(path, "expected an object, got " + type_name(v));
    return false;
}

void JsonChecker::check_keys(const json& obj, const std::string& path,
                             std::span<const std::string_view> allowed) {
    for (const auto& [key, value] : obj.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
        std::string message = "unknown key (expected one of: " + join(allowed) + ")";
        if (const auto best = nearest_key(key, allowed); !best.empty())
            message += "; did you mean '" + std::string(best) + "'?";
        error(child(path, key), std::move(message));
    }
}

std::optional<std::uint64_t> JsonChecker::u64(const json& v, const std::string& path, Range r) {
    if (v.is_number_unsigned()) {
        const auto x = v.get<std::uint64_t>();
        if (x >= r.min && x <= r.max) return x;
        error(path, range_text(r) + ", got " + std::to_string(x));
    } else if (v.is_number_integer()) {  // negative
        const std::string got = ", got " + std::to_string(v.get<std::int64_t>());
        if (r.min == 0 && r.max == kU64Max)
            error(path, "expected an unsigned integer" + got);
        else
            error(path, range_text(r) + got);
    } else if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d >= 18446744073709551616.0)
            error(path, "number too large (at most " + std::to_string(r.max) + ")");
        else if (d == std::trunc(d))
            error(path, "expected an unsigned integer, got " + format_double(d) +
                            " written with a fraction or an exponent; write a plain integer");
        else
            error(path,
                  "expected an unsigned integer, got the fractional number " + format_double(d));
    } else {
        error(path, "expected an unsigned integer, got " + type_name(v));
    }
    return std::nullopt;
}

std::optional<double> JsonChecker::number(const json& v, const std::string& path, double min,
                                          double max) {
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

std::optional<bool> JsonChecker::boolean(const json& v, const std::string& path) {
    if (v.is_boolean()) return v.get<bool>();
    error(path, "expected true or false, got " + type_name(v));
    return std::nullopt;
}

std::optional<std::string> JsonChecker::string(const json& v, const std::string& path) {
    if (!v.is_string()) {
        error(path, "expected a string, got " + type_name(v));
        return std::nullopt;
    }
    return v.get<std::string>();
}

std::optional<crypto::Address> JsonChecker::address(const json& v, const std::string& path) {
    if (!v.is_string()) {
        error(path, "expected an address (0x and 40 hex digits), got " + type_name(v));
        return std::nullopt;
    }
    // Never echo the value: a private key pasted here by mistake must not reach a log.
    const auto& s = v.get_ref<const std::string&>();
    if (auto problem = address_form_problem(s); !problem.empty()) {
        error(path, std::move(problem));
        return std::nullopt;
    }
    auto parsed = crypto::Address::from_hex(s);
    if (!parsed) {
        error(path, "not an address (expected 0x and 40 hex digits)");
        return std::nullopt;
    }
    if (parsed->is_zero()) {
        error(path, "the zero address is not allowed");
        return std::nullopt;
    }
    if (!crypto::eip55_ok(std::string_view(s).substr(2), *parsed)) {
        error(path,
              "mixed-case address fails its EIP-55 checksum (a typo?); check it or write it "
              "in lower case");
        return std::nullopt;
    }
    return *parsed;
}

std::optional<std::string> JsonChecker::url(const json& v, const std::string& path) {
    if (!v.is_string()) {
        error(path, "expected an http:// or https:// URL, got " + type_name(v));
        return std::nullopt;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (const auto parsed = chains::parse_http_url(s); !parsed) {
        error(path, parsed.error().message());
        return std::nullopt;
    }
    return s;
}

std::optional<fs::path> JsonChecker::file_path(const json& v, const std::string& path) {
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

std::optional<std::string> JsonChecker::env_name(const json& v, const std::string& path,
                                                 bool allow_empty) {
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

}  // namespace ferry::relayer::config_json

#include "chains/url.hpp"

#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace ferry::chains {
namespace {

using Result = boost::system::result<HttpUrl, UrlProblem>;

constexpr std::size_t kMaxShownScheme = 16;

bool is_control_or_space(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
}

bool is_plain(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool is_host_name_char(char c) { return is_plain(c) || c == '.' || c == '~' || c == '%'; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

UrlProblem problem(UrlError code) { return UrlProblem{code, {}}; }

/// A port written in the URL: 1..65535, digits only.
bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || s.size() > 5 || ec != std::errc{} || end != s.data() + s.size() ||
        value == 0 || value > 65535)
        return false;
    out = static_cast<std::uint16_t>(value);
    return true;
}

/// Names what is wrong in the authority of a URL Boost.URL refused: bracket, host or port.
/// `bad_character` when the authority looks fine (then the fault is in the path or query).
UrlError diagnose_authority(std::string_view authority) {
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    std::string_view host = authority;
    std::string_view port;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return UrlError::unclosed_bracket;
        if (!boost::urls::parse_ipv6_address(authority.substr(1, close - 1)))
            return UrlError::bad_ipv6;
        const auto after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return UrlError::after_ipv6;
        has_port = !after.empty();
        if (has_port) port = after.substr(1);
        host = {};
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        has_port = true;
    }
    if (!std::all_of(host.begin(), host.end(), is_host_name_char)) return UrlError::bad_host;
    std::uint16_t ignored = 0;
    if (has_port && !parse_port(port, ignored)) return UrlError::bad_port;
    return UrlError::bad_character;
}

/// The checks that need no URL grammar: emptiness, control bytes, the scheme.
std::optional<UrlProblem> check_text(std::string_view text) {
    if (text.empty()) return problem(UrlError::empty);
    if (std::any_of(text.begin(), text.end(), is_control_or_space))
        return problem(UrlError::control_character);
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) return problem(UrlError::not_a_url);
    const std::string scheme = lower(text.substr(0, sep));
    if (scheme == "http" || scheme == "https") return std::nullopt;
    UrlProblem bad = problem(UrlError::bad_scheme);
    if (!scheme.empty() && scheme.size() <= kMaxShownScheme &&
        std::all_of(scheme.begin(), scheme.end(), is_plain))
        bad.scheme = scheme;
    return bad;
}

/// The parts of a URL Boost.URL accepted, with Ferry's rules on host and port.
Result take_apart(const boost::urls::url_view& u, std::string_view text) {
    HttpUrl out;
    out.tls = lower(u.scheme()) == "https";
    switch (u.host_type()) {
        case boost::urls::host_type::ipv6:
            out.host = std::string(u.encoded_host_address());
            break;
        case boost::urls::host_type::ipvfuture:
            return problem(UrlError::bad_ipv6);
        default:
            out.host = std::string(u.encoded_host());
            if (!std::all_of(out.host.begin(), out.host.end(), is_host_name_char))
                return problem(UrlError::bad_host);
    }
    if (out.host.empty()) return problem(UrlError::empty_host);
    out.has_port = u.has_port();
    if (out.has_port && !parse_port(u.port(), out.port)) return problem(UrlError::bad_port);
    if (!out.has_port) out.port = out.tls ? 443 : 80;
    const std::string_view target = u.encoded_target();
    if (target.empty() || target.front() != '/') out.target.push_back('/');
    out.target += target;
    if (u.has_userinfo()) out.userinfo = u.userinfo();
    out.redacted = redact_url(text);
    return out;
}

}  // namespace

std::string UrlProblem::message() const {
    constexpr std::string_view kExpected = "not a URL (expected http:// or https://)";
    switch (code) {
        case UrlError::empty:
            return "empty string; expected an http:// or https:// URL";
        case UrlError::control_character:
            return "URL contains whitespace or a control character";
        case UrlError::not_a_url:
            return std::string(kExpected);
        case UrlError::bad_scheme:
            if (scheme.empty()) return std::string(kExpected);
            return std::string(kExpected) + ", got scheme '" + scheme + "'";
        case UrlError::unclosed_bracket:
            return "URL has an unclosed '[' in its host";
        case UrlError::bad_ipv6:
            return "URL host in brackets is not an IPv6 address";
        case UrlError::after_ipv6:
            return "URL has characters after its IPv6 host";
        case UrlError::bad_host:
            return "URL host has a character a host name cannot have";
        case UrlError::empty_host:
            return "URL has an empty host";
        case UrlError::bad_port:
            return "URL port must be a number from 1 to 65535";
        case UrlError::bad_character:
            return "URL has a character a URL cannot have in its path or query";
    }
    return "not a valid URL";
}

Result parse_http_url(std::string_view text) {
    if (auto bad = check_text(text)) return *bad;
    const auto parsed = boost::urls::parse_uri(text);
    // Boost.URL 1.81 takes "http://h:8x" as port 8 and path "x"; after an authority the path
    // must start with '/' (RFC 3986 path-abempty), so such a URL is refused here.
    const bool path_ok =
        parsed && (parsed->encoded_path().empty() || parsed->encoded_path().front() == '/');
    if (!path_ok) {
        std::string_view authority = text.substr(text.find("://") + 3);
        return problem(diagnose_authority(authority.substr(0, authority.find_first_of("/?#"))));
    }
    return take_apart(*parsed, text);
}

std::string redact_url(std::string_view url) {
    std::string_view scheme;
    if (const auto at = url.find("://"); at != std::string_view::npos) {
        scheme = url.substr(0, at);
        url.remove_prefix(at + 3);
    }
    const auto end_of_authority = url.find_first_of("/?#");
    std::string_view authority = url.substr(0, end_of_authority);
    const bool has_rest =
        end_of_authority != std::string_view::npos && url.substr(end_of_authority) != "/";
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    std::string out;
    if (!scheme.empty()) out = std::string(scheme) + "://";
    out += authority;
    if (has_rest) out += "/...";
    return out;
}

void throw_exception_from_error(const UrlProblem& e, const boost::source_location&) {
    throw std::invalid_argument(e.message());
}

}  // namespace ferry::chains

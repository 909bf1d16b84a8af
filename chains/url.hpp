// HTTP(S) endpoint URLs: the one parser for RPC endpoints, validator APIs and the node API, and
// the redaction that keeps API keys and passwords a URL may carry out of messages and logs.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::chains {

/// An http:// or https:// URL taken apart: http[s]://[user:password@]host[:port][/path][?query].
struct HttpUrl {
    bool tls = false;        ///< https
    std::string host;        ///< without brackets for an IPv6 literal
    std::uint16_t port = 0;  ///< the URL's port, else 80 (http) or 443 (https)
    bool has_port = false;   ///< the URL names its port
    std::string target;      ///< path and query (no fragment), at least "/"
    std::string userinfo;    ///< "user:password", percent-decoded; empty when the URL has none
    std::string redacted;    ///< redact_url() of the URL, for logs and errors
};

/// Why a text is not an acceptable http(s) URL.
enum class UrlError {
    empty,              ///< the text is empty
    control_character,  ///< whitespace or a control byte anywhere
    not_a_url,          ///< no "scheme://"
    bad_scheme,         ///< a scheme other than http or https
    unclosed_bracket,   ///< "[" without "]" in the host
    bad_ipv6,           ///< the bracketed host is not an IPv6 address
    after_ipv6,         ///< something other than ":port" after "]"
    bad_host,           ///< a character a host name cannot have
    empty_host,         ///< nothing between "//" and the port or path
    bad_port,           ///< a port that is not a number from 1 to 65535
    bad_character,      ///< a character a URL cannot have, in its path, query or fragment
};

/// A UrlError with what a message may show of the URL: only its scheme, and only when the
/// scheme is short and plain (letters, digits, '_', '-'). Never the rest of the URL.
struct UrlProblem {
    UrlError code = UrlError::not_a_url;
    std::string scheme;

    /// One phrase a user can act on, e.g. "URL has an empty host". Quotes nothing but `scheme`.
    std::string message() const;
};

/// Parses an http:// or https:// URL (scheme case-insensitive, RFC 3986 syntax, Boost.URL).
/// Never throws on bad input.
boost::system::result<HttpUrl, UrlProblem> parse_http_url(std::string_view text);

/// The URL without what may be secret: "scheme://host[:port]", then "/..." when it has a path
/// other than "/", a query or a fragment. Works on any text, URL or not.
std::string redact_url(std::string_view url);

/// For boost::system::result<HttpUrl, UrlProblem>::value(): throws std::invalid_argument.
[[noreturn]] void throw_exception_from_error(const UrlProblem& e,
                                             const boost::source_location& loc);

}  // namespace ferry::chains

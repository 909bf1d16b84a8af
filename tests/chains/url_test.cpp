// parse_http_url takes http(s) URLs apart, names what is wrong with bad ones, and never lets a
// secret of the URL into a message.
#include "chains/url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using ferry::chains::HttpUrl;
using ferry::chains::parse_http_url;
using ferry::chains::redact_url;
using ferry::chains::UrlError;

UrlError error_of(std::string_view url) {
    const auto parsed = parse_http_url(url);
    EXPECT_FALSE(parsed) << url;
    return parsed ? UrlError::bad_character : parsed.error().code;
}

TEST(url, http_with_default_port) {
    const auto u = parse_http_url("http://127.0.0.1");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->tls);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, 80);
    EXPECT_FALSE(u->has_port);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->userinfo, "");
    EXPECT_EQ(u->redacted, "http://127.0.0.1");
}

TEST(url, https_with_default_port_and_upper_case_scheme) {
    const auto u = parse_http_url("HTTPS://node.example/v3/abc");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "node.example");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/v3/abc");
}

TEST(url, explicit_port_path_and_query_without_fragment) {
    const auto u = parse_http_url("http://localhost:8545/rpc?key=1#frag");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 8545);
    EXPECT_TRUE(u->has_port);
    EXPECT_EQ(u->target, "/rpc?key=1");
    const auto query_only = parse_http_url("http://h?x=1");
    ASSERT_TRUE(query_only);
    EXPECT_EQ(query_only->target, "/?x=1");
}

TEST(url, ipv6_literal_loses_its_brackets) {
    const auto u = parse_http_url("http://[::1]:8645");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 8645);
    const auto no_port = parse_http_url("https://[2001:db8::7]/");
    ASSERT_TRUE(no_port);
    EXPECT_EQ(no_port->host, "2001:db8::7");
    EXPECT_EQ(no_port->port, 443);
}

TEST(url, userinfo_is_decoded_and_redacted) {
    const auto u = parse_http_url("https://user:p%40ss@[::1]:8545/v3/SECRET?apikey=SECRET");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->userinfo, "user:p@ss");
    EXPECT_EQ(u->redacted, "https://[::1]:8545/...");
    EXPECT_EQ(u->redacted.find("SECRET"), std::string::npos);
    EXPECT_EQ(u->redacted.find("user"), std::string::npos);
}

TEST(url, redaction_drops_userinfo_path_and_query) {
    EXPECT_EQ(redact_url("https://user:secret@node.example:8545/v3/KEY?apikey=x"),
              "https://node.example:8545/...");
    EXPECT_EQ(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    EXPECT_EQ(redact_url("http://127.0.0.1:8545/"), "http://127.0.0.1:8545");
    EXPECT_EQ(redact_url("http://node?key=abc"), "http://node/...");
    EXPECT_EQ(redact_url("not a url/KEY"), "not a url/...");
}

TEST(url, other_schemes_are_refused_and_named_when_plain) {
    EXPECT_EQ(error_of("ftp://127.0.0.1/"), UrlError::bad_scheme);
    const auto ws = parse_http_url("wss://host/SECRET");
    ASSERT_FALSE(ws);
    EXPECT_EQ(ws.error().message(), "not a URL (expected http:// or https://), got scheme 'wss'");
    const auto odd = parse_http_url("a/b://host");
    ASSERT_FALSE(odd);
    EXPECT_EQ(odd.error().message(), "not a URL (expected http:// or https://)");
    EXPECT_EQ(error_of("127.0.0.1:8545"), UrlError::not_a_url);
    EXPECT_EQ(error_of("localhost:8545"), UrlError::not_a_url);
}

TEST(url, bad_hosts_and_ports_are_named) {
    EXPECT_EQ(error_of(""), UrlError::empty);
    EXPECT_EQ(error_of("http://h/a b"), UrlError::control_character);
    EXPECT_EQ(error_of("http://h/\x01"), UrlError::control_character);
    EXPECT_EQ(error_of("http://:8545/"), UrlError::empty_host);
    EXPECT_EQ(error_of("http://"), UrlError::empty_host);
    EXPECT_EQ(error_of("http://h:0"), UrlError::bad_port);
    EXPECT_EQ(error_of("http://h:65536"), UrlError::bad_port);
    EXPECT_EQ(error_of("http://h:99999/KEY"), UrlError::bad_port);
    EXPECT_EQ(error_of("http://h:8x"), UrlError::bad_port);
    EXPECT_EQ(error_of("http://h:"), UrlError::bad_port);
    EXPECT_EQ(error_of("http://[::1"), UrlError::unclosed_bracket);
    EXPECT_EQ(error_of("http://[::g]:80"), UrlError::bad_ipv6);
    EXPECT_EQ(error_of("http://[v1.x]:80"), UrlError::bad_ipv6);
    EXPECT_EQ(error_of("http://[::1]x:80"), UrlError::after_ipv6);
    EXPECT_EQ(error_of("http://ho^st/"), UrlError::bad_host);
    EXPECT_EQ(error_of("http://ho!st/"), UrlError::bad_host);
}

TEST(url, garbage_is_refused_without_echo) {
    for (const std::string_view text :
         {"http://h/pa|th?KEY", "http://h/%zzKEY", "https://KEY@@h", "://", "http:///KEY"}) {
        const auto parsed = parse_http_url(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_EQ(parsed.error().message().find("KEY"), std::string::npos) << text;
    }
}

TEST(url, value_of_a_failed_result_throws) {
    EXPECT_THROW((void)parse_http_url("ftp://x").value(), std::invalid_argument);
}

}  // namespace

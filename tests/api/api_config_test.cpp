// The API's config keys (docs/config.md, `api`): the per-client rate limit's defaults, ranges and
// types, reported at their JSON paths, and written back by to_json_text.
#include "relayer/config.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using namespace ferry::relayer;
using nlohmann::json;

/// A complete relayer config: alpha → beta, 1-of-1.
json minimal() {
    return json{{"database", "ferry.db"},
                {"chains",
                 {{{"name", "alpha"},
                   {"chain_id", 4301},
                   {"rpc", {"http://127.0.0.1:8545"}},
                   {"outbox", "0x5fbdb2315678afecb367f032d93f642f64180aa3"}},
                  {{"name", "beta"},
                   {"chain_id", 4302},
                   {"rpc", {"http://127.0.0.1:8546"}},
                   {"inbox", "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"}}}},
                {"routes", {{{"from", "alpha"}, {"to", "beta"}}}},
                {"validator_sets",
                 {{{"source", "alpha"},
                   {"threshold", 1},
                   {"validators",
                    {{{"address", "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"},
                      {"url", "http://127.0.0.1:9101"}}}}}}},
                {"relayer", {{"key", {{"env", "FERRY_RELAYER_KEY"}}}}}};
}

/// The issues of a config that must be refused, as "path: message" lines.
std::vector<std::string> issues_of(const json& config) {
    auto r = parse_config(config.dump(), "/srv/ferry");
    EXPECT_FALSE(r) << config.dump();
    std::vector<std::string> out;
    if (!r)
        for (const auto& i : r.error().issues) out.push_back(i.path + ": " + i.message);
    return out;
}

bool has(const std::vector<std::string>& issues, const std::string& text) {
    return std::any_of(issues.begin(), issues.end(),
                       [&](const std::string& i) { return i.find(text) != std::string::npos; });
}

TEST(ApiConfig, rate_limit_defaults_are_generous) {
    auto c = parse_config(minimal().dump(), "/srv/ferry");
    ASSERT_TRUE(c) << c.error().to_string("t.json");
    EXPECT_EQ(c->api.rate_limit_per_s, 20000u);
    EXPECT_EQ(c->api.rate_limit_burst, 40000u);
}

TEST(ApiConfig, rate_limit_keys_are_read_and_written_back) {
    json j = minimal();
    j["api"] = {{"rate_limit_per_s", 5}, {"rate_limit_burst", 20}};
    auto c = parse_config(j.dump(), "/srv/ferry");
    ASSERT_TRUE(c) << c.error().to_string("t.json");
    EXPECT_EQ(c->api.rate_limit_per_s, 5u);
    EXPECT_EQ(c->api.rate_limit_burst, 20u);
    const json written = json::parse(to_json_text(*c));
    EXPECT_EQ(written["api"]["rate_limit_per_s"], 5);
    EXPECT_EQ(written["api"]["rate_limit_burst"], 20);
    auto again = parse_config(to_json_text(*c), "/srv/ferry");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->api, c->api);

    j["api"] = {{"rate_limit_per_s", 0}};  // 0 turns the limit off
    c = parse_config(j.dump(), "/srv/ferry");
    ASSERT_TRUE(c) << c.error().to_string("t.json");
    EXPECT_EQ(c->api.rate_limit_per_s, 0u);
}

TEST(ApiConfig, bad_rate_limits_are_reported_at_their_paths) {
    json j = minimal();
    j["api"] = {{"rate_limit_per_s", 1000001}, {"rate_limit_burst", 0}};
    auto issues = issues_of(j);
    EXPECT_TRUE(has(issues, "api.rate_limit_per_s")) << ::testing::PrintToString(issues);
    EXPECT_TRUE(has(issues, "1000001")) << ::testing::PrintToString(issues);
    EXPECT_TRUE(has(issues, "api.rate_limit_burst")) << ::testing::PrintToString(issues);

    j["api"] = {{"rate_limit_per_s", "fast"}, {"rate_limit_burst", 2.5}};
    issues = issues_of(j);
    EXPECT_TRUE(has(issues, "api.rate_limit_per_s: expected an unsigned integer, got string"))
        << ::testing::PrintToString(issues);
    EXPECT_TRUE(has(issues,
                    "api.rate_limit_burst: expected an unsigned integer, got the "
                    "fractional number 2.5"))
        << ::testing::PrintToString(issues);

    j["api"] = {{"rate_limit_per_s", -1}};
    issues = issues_of(j);
    EXPECT_TRUE(has(issues, "api.rate_limit_per_s")) << ::testing::PrintToString(issues);

    j["api"] = {{"rate_limit", 5}};
    issues = issues_of(j);
    EXPECT_TRUE(has(issues, "api.rate_limit")) << ::testing::PrintToString(issues);
}

}  // namespace

// Proves the config loader of docs/config.md: the examples in configs/ parse and round-trip,
// defaults apply, and each broken config is reported at its JSON path, all problems together.
#include "relayer/config.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace ferry::relayer;
using ferry::crypto::Address;
using ferry::crypto::ChainId;
using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kConfigsDir = FERRY_CONFIGS_DIR;
const fs::path kBase = "/srv/ferry";

constexpr const char* kOutbox = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
constexpr const char* kInbox = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
constexpr const char* kValidator1 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
constexpr const char* kValidator2 = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/// The smallest complete relayer config: alpha → beta, 2-of-2 validators.
json minimal() {
    return json{{"database", "ferry.db"},
                {"chains",
                 {{{"name", "alpha"},
                   {"chain_id", 4301},
                   {"rpc", {"http://127.0.0.1:8545"}},
                   {"outbox", kOutbox}},
                  {{"name", "beta"},
                   {"chain_id", 4302},
                   {"rpc", {"http://127.0.0.1:8546"}},
                   {"inbox", kInbox}}}},
                {"routes", {{{"from", "alpha"}, {"to", "beta"}}}},
                {"validator_sets",
                 {{{"source", "alpha"},
                   {"threshold", 2},
                   {"validators",
                    {{{"address", kValidator1}, {"url", "http://127.0.0.1:9101"}},
                     {{"address", kValidator2}, {"url", "http://127.0.0.1:9102"}}}}}}},
                {"relayer", {{"key", {{"env", "FERRY_RELAYER_KEY"}}}}}};
}

std::string dump_issues(const ConfigErrors& e) { return e.to_string("test.json"); }

Config parse_ok(const std::string& text, const fs::path& base = kBase) {
    auto r = parse_config(text, base);
    if (!r) ADD_FAILURE() << dump_issues(r.error());
    return r ? *r : Config{};
}

std::vector<ConfigIssue> parse_issues(const std::string& text) {
    auto r = parse_config(text, kBase);
    if (r) {
        ADD_FAILURE() << "config was accepted:\n" << text;
        return {};
    }
    return r.error().issues;
}

bool has_issue(const std::vector<ConfigIssue>& issues, const std::string& path,
               const std::string& fragment) {
    return std::any_of(issues.begin(), issues.end(), [&](const ConfigIssue& i) {
        return i.path == path && i.message.find(fragment) != std::string::npos;
    });
}

std::string describe(const std::vector<ConfigIssue>& issues) {
    return ConfigErrors{issues}.to_string("test.json");
}

std::vector<fs::path> example_files() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(kConfigsDir))
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

TEST(config_examples, every_example_in_configs_parses) {
    const auto files = example_files();
    ASSERT_GE(files.size(), 3u);
    for (const auto& file : files) {
        SCOPED_TRACE(file.string());
        auto r = load_config(file);
        ASSERT_TRUE(r) << r.error().to_string(file.string());
        EXPECT_EQ(r->file, fs::absolute(file).lexically_normal());
        EXPECT_TRUE(r->database.is_absolute());
    }
}

TEST(config_examples, devnet_example_has_alpha_and_beta_both_ways) {
    auto r = load_config(kConfigsDir / "devnet.example.json");
    ASSERT_TRUE(r) << r.error().to_string("devnet.example.json");
    const Config& c = *r;
    ASSERT_EQ(c.chains.size(), 2u);
    EXPECT_EQ(c.chains[0].name, "alpha");
    EXPECT_EQ(c.chains[0].chain_id, ChainId{4301});
    EXPECT_EQ(c.chains[1].name, "beta");
    EXPECT_EQ(c.chains[1].chain_id, ChainId{4302});
    EXPECT_EQ(c.database, kConfigsDir / "devnet-relayer.db");
    ASSERT_EQ(c.routes.size(), 2u);
    EXPECT_EQ(c.routes[0].src, ChainId{4301});
    EXPECT_EQ(c.routes[0].dst, ChainId{4302});
    EXPECT_TRUE(c.routes[0].ordered);
    EXPECT_FALSE(c.routes[1].ordered);
    EXPECT_EQ(c.routes[1].batch_size, 20u);
    ASSERT_NE(c.find_validator_set(ChainId{4302}), nullptr);
    EXPECT_EQ(c.find_validator_set(ChainId{4302})->threshold, 2u);
    EXPECT_EQ(c.find_validator_set(ChainId{4302})->validators.size(), 3u);
    EXPECT_EQ(c.chains[1].gas.max_in_flight, 2u);
    ASSERT_TRUE(c.relayer);
    EXPECT_EQ(c.relayer->key.env, "FERRY_RELAYER_KEY");
    EXPECT_FALSE(c.validator);
}

TEST(config_examples, validator_example_is_a_validator_only_node) {
    auto r = load_config(kConfigsDir / "validator.example.json");
    ASSERT_TRUE(r) << r.error().to_string("validator.example.json");
    EXPECT_FALSE(r->relayer);
    ASSERT_TRUE(r->validator);
    EXPECT_EQ(r->validator->chain, "alpha");
    EXPECT_EQ(r->validator->chain_id, ChainId{4301});
    EXPECT_EQ(r->validator->key.env, "FERRY_VALIDATOR_KEY");
    EXPECT_TRUE(r->routes.empty());
    EXPECT_EQ(r->api.port, 9101);
}

TEST(config_examples, testnet_sample_uses_finalized_and_a_keystore) {
    auto r = load_config(kConfigsDir / "sample-testnets.json");
    ASSERT_TRUE(r) << r.error().to_string("sample-testnets.json");
    const ChainConfig* sepolia = r->find_chain("sepolia");
    const ChainConfig* holesky = r->find_chain(ChainId{17000});
    ASSERT_NE(sepolia, nullptr);
    ASSERT_NE(holesky, nullptr);
    EXPECT_EQ(sepolia->chain_id, ChainId{11155111});
    EXPECT_TRUE(sepolia->finalized);
    EXPECT_FALSE(holesky->finalized);
    EXPECT_EQ(holesky->confirmations, 12u);
    EXPECT_FALSE(sepolia->gas.priority_fee_wei.has_value());
    EXPECT_EQ(holesky->gas.priority_fee_wei, 1'500'000'000u);
    EXPECT_EQ(holesky->gas.fee_multiplier, 2.0);  // default kept beside the given keys
    ASSERT_TRUE(r->relayer);
    EXPECT_TRUE(r->relayer->key.env.empty());
    EXPECT_EQ(r->relayer->key.keystore, kConfigsDir / "keys/relayer.json");
    EXPECT_EQ(r->relayer->key.password_file, kConfigsDir / "keys/relayer.pass");
    EXPECT_EQ(r->database, fs::path("/var/lib/ferry/testnets.db"));
    EXPECT_TRUE(r->validator_sets[0].pin);
    EXPECT_FALSE(r->validator_sets[1].pin);
}

TEST(config_round_trip, examples_survive_to_json_text_and_back) {
    for (const auto& file : example_files()) {
        SCOPED_TRACE(file.string());
        auto first = load_config(file);
        ASSERT_TRUE(first) << first.error().to_string(file.string());
        const std::string text = to_json_text(*first);
        // Resolved paths are absolute, so another base directory changes nothing.
        auto second = parse_config(text, "/somewhere/else");
        ASSERT_TRUE(second) << second.error().to_string("to_json_text") << text;
        EXPECT_TRUE(second->file.empty());
        second->file = first->file;
        EXPECT_TRUE(*second == *first);
        EXPECT_EQ(to_json_text(*second), text);
        // Field by field, where a mistake in operator== could hide one.
        ASSERT_EQ(second->chains.size(), first->chains.size());
        for (std::size_t i = 0; i < first->chains.size(); ++i) {
            EXPECT_EQ(second->chains[i].rpc, first->chains[i].rpc);
            EXPECT_EQ(second->chains[i].finalized, first->chains[i].finalized);
            EXPECT_EQ(second->chains[i].outbox, first->chains[i].outbox);
            EXPECT_EQ(second->chains[i].gas, first->chains[i].gas);
        }
        EXPECT_EQ(second->validator_sets, first->validator_sets);
        EXPECT_EQ(second->retry.max_delay_ms, first->retry.max_delay_ms);
        EXPECT_EQ(second->retry.jitter, first->retry.jitter);
        EXPECT_EQ(second->api, first->api);
        EXPECT_EQ(second->limits, first->limits);
    }
}

TEST(config_round_trip, a_changed_field_breaks_equality) {
    Config a = parse_ok(minimal().dump());
    Config b = a;
    EXPECT_TRUE(a == b);
    b.retry.jitter = 0.5;
    EXPECT_FALSE(a == b);
    b = a;
    b.chains[1].gas.max_in_flight = 9;
    EXPECT_FALSE(a == b);
    EXPECT_NE(to_json_text(a), to_json_text(b));
}

TEST(config_defaults, omitted_keys_take_the_spec_defaults) {
    const Config c = parse_ok(minimal().dump());
    EXPECT_EQ(c.database, kBase / "ferry.db");
    EXPECT_TRUE(c.file.empty());
    EXPECT_EQ(c.api.host, "127.0.0.1");
    EXPECT_EQ(c.api.port, 8645);
    EXPECT_FALSE(c.api.allow_non_loopback);
    EXPECT_EQ(c.api.admin_token_env, "FERRY_ADMIN_TOKEN");

    ASSERT_EQ(c.chains.size(), 2u);
    const ChainConfig& alpha = c.chains[0];
    EXPECT_FALSE(alpha.finalized);
    EXPECT_EQ(alpha.confirmations, 1u);
    EXPECT_EQ(alpha.poll_interval_ms, 1000u);
    EXPECT_EQ(alpha.max_log_range, 2000u);
    EXPECT_EQ(alpha.rpc_timeout_ms, 10'000u);
    EXPECT_EQ(alpha.start_block, 0u);
    ASSERT_TRUE(alpha.outbox);
    EXPECT_EQ(alpha.outbox->hex(), kOutbox);
    EXPECT_FALSE(alpha.inbox);
    EXPECT_EQ(alpha.gas.fee_multiplier, 2.0);
    EXPECT_FALSE(alpha.gas.priority_fee_wei);
    EXPECT_EQ(alpha.gas.max_fee_wei, 500'000'000'000u);
    EXPECT_EQ(alpha.gas.gas_margin, 1.2);
    EXPECT_EQ(alpha.gas.replace_after_ms, 15'000u);
    EXPECT_EQ(alpha.gas.fee_bump_percent, 25u);
    EXPECT_EQ(alpha.gas.max_in_flight, 16u);

    ASSERT_EQ(c.routes.size(), 1u);
    EXPECT_EQ(c.routes[0].from, "alpha");
    EXPECT_EQ(c.routes[0].src, ChainId{4301});
    EXPECT_EQ(c.routes[0].dst, ChainId{4302});
    EXPECT_TRUE(c.routes[0].ordered);
    EXPECT_EQ(c.routes[0].batch_size, 50u);

    ASSERT_EQ(c.validator_sets.size(), 1u);
    EXPECT_EQ(c.validator_sets[0].src, ChainId{4301});
    EXPECT_FALSE(c.validator_sets[0].pin);
    EXPECT_EQ(c.validator_sets[0].threshold, 2u);
    EXPECT_EQ(c.validator_sets[0].validators[1].url, "http://127.0.0.1:9102");
    EXPECT_EQ(c.validator_sets[0].validators[0].address,
              *Address::from_hex("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"));

    EXPECT_EQ(c.retry.initial_delay_ms, 5'000);
    EXPECT_EQ(c.retry.multiplier, 2.0);
    EXPECT_EQ(c.retry.max_delay_ms, 600'000);
    EXPECT_EQ(c.retry.jitter, 0.2);
    EXPECT_EQ(c.retry.max_attempts, 8u);
    EXPECT_EQ(c.limits.max_body_bytes, 32768u);
    EXPECT_EQ(c.limits.attestation_timeout_ms, 5000u);
    EXPECT_EQ(c.limits.attestation_batch, 200u);

    EXPECT_EQ(c.find_chain("beta"), &c.chains[1]);
    EXPECT_EQ(c.find_chain(ChainId{4301}), &c.chains[0]);
    EXPECT_EQ(c.find_chain("gamma"), nullptr);
    EXPECT_EQ(c.find_validator_set(ChainId{4302}), nullptr);
}

TEST(config_values, confirmations_accepts_finalized) {
    json j = minimal();
    j["chains"][0]["confirmations"] = "finalized";
    j["chains"][1]["confirmations"] = 0;
    const Config c = parse_ok(j.dump());
    EXPECT_TRUE(c.chains[0].finalized);
    EXPECT_EQ(c.chains[0].confirmations, 0u);
    EXPECT_FALSE(c.chains[1].finalized);
    EXPECT_EQ(c.chains[1].confirmations, 0u);
    const json out = json::parse(to_json_text(c));
    EXPECT_EQ(out["chains"][0]["confirmations"], "finalized");
    EXPECT_EQ(out["chains"][1]["confirmations"], 0);
}

TEST(config_values, relative_paths_resolve_against_the_base_directory) {
    json j = minimal();
    j["database"] = "../data/./ferry.db";
    j["relayer"]["key"] = {{"keystore", "keys/relayer.json"},
                           {"password_file", "/etc/ferry/relayer.pass"}};
    const Config c = parse_ok(j.dump(), "/srv/ferry/conf");
    EXPECT_EQ(c.database, fs::path("/srv/ferry/data/ferry.db"));
    EXPECT_EQ(c.relayer->key.keystore, fs::path("/srv/ferry/conf/keys/relayer.json"));
    EXPECT_EQ(c.relayer->key.password_file, fs::path("/etc/ferry/relayer.pass"));
}

TEST(config_values, listen_accepts_ipv6_localhost_and_opted_in_public_addresses) {
    json j = minimal();
    j["api"] = {{"listen", "[::1]:0"}};
    Config c = parse_ok(j.dump());
    EXPECT_EQ(c.api.host, "::1");
    EXPECT_EQ(c.api.port, 0);
    EXPECT_NE(to_json_text(c).find("\"[::1]:0\""), std::string::npos);
    EXPECT_TRUE(parse_ok(to_json_text(c)) == c);

    j["api"] = {{"listen", "localhost:9000"}, {"admin_token_env", ""}};
    c = parse_ok(j.dump());
    EXPECT_EQ(c.api.host, "localhost");
    EXPECT_EQ(c.api.port, 9000);
    EXPECT_EQ(c.api.admin_token_env, "");

    j["api"] = {{"listen", "127.8.9.10:65535"}};
    EXPECT_EQ(parse_ok(j.dump()).api.host, "127.8.9.10");

    j["api"] = {{"listen", "0.0.0.0:8645"}, {"allow_non_loopback", true}};
    c = parse_ok(j.dump());
    EXPECT_EQ(c.api.host, "0.0.0.0");
    EXPECT_TRUE(c.api.allow_non_loopback);
}

TEST(config_values, a_validator_only_node_needs_no_routes) {
    json j = minimal();
    j.erase("routes");
    j.erase("relayer");
    j["validator"] = {{"chain", "alpha"}, {"key", {{"env", "FERRY_VALIDATOR_KEY"}}}};
    const Config c = parse_ok(j.dump());
    EXPECT_FALSE(c.relayer);
    ASSERT_TRUE(c.validator);
    EXPECT_EQ(c.validator->chain_id, ChainId{4301});
}

TEST(config_text, comments_are_accepted) {
    const std::string text = R"(// leading line comment
{
  /* block
     comment */
  "database": "ferry.db", // trailing comment
  "chains": [ { "name": "alpha", "chain_id": 4301, /* inline */ "rpc": ["http://127.0.0.1:8545"],
                "outbox": "0x5fbdb2315678afecb367f032d93f642f64180aa3" } ],
  "validator": { "chain": "alpha", "key": { "env": "FERRY_VALIDATOR_KEY" } }
}
// and at the end
)";
    const Config c = parse_ok(text);
    EXPECT_EQ(c.chains.at(0).name, "alpha");
}

TEST(config_text, syntax_error_reports_line_and_column) {
    // Line 3 is `  "chains": [ }`: the '}' is its 15th character.
    const std::string text = "{\n  \"database\": \"ferry.db\",\n  \"chains\": [ }\n}\n";
    const auto issues = parse_issues(text);
    ASSERT_EQ(issues.size(), 1u) << describe(issues);
    EXPECT_EQ(issues[0].path, "");
    EXPECT_EQ(issues[0].line, 3u);
    EXPECT_EQ(issues[0].column, 15u);
    EXPECT_NE(issues[0].message.find("JSON syntax error at line 3, column 15"), std::string::npos)
        << issues[0].message;
    EXPECT_NE(issues[0].message.find("unexpected '}'"), std::string::npos) << issues[0].message;
}

TEST(config_text, columns_count_characters_not_bytes) {
    const auto issues = parse_issues("{\"n\u00e9\": 1,\n \"\u00e9\u00e9\": ?}");
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_EQ(issues[0].line, 2u);
    EXPECT_EQ(issues[0].column, 8u) << issues[0].message;
}

TEST(config_text, trailing_garbage_is_a_syntax_error) {
    const std::string text = minimal().dump(2) + "\n  xyz";
    const auto issues = parse_issues(text);
    ASSERT_EQ(issues.size(), 1u) << describe(issues);
    EXPECT_GT(issues[0].line, 1u);
    EXPECT_EQ(issues[0].column, 3u);
    EXPECT_NE(issues[0].message.find("JSON syntax error"), std::string::npos);
}

TEST(config_text, empty_and_non_object_documents_are_rejected) {
    auto issues = parse_issues("  \n");
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].message.find("the file is empty"), std::string::npos);
    issues = parse_issues("[1, 2]");
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_EQ(issues[0].path, "");
    EXPECT_NE(issues[0].message.find("must be a JSON object, got array"), std::string::npos);
}

TEST(config_text, syntax_errors_do_not_echo_file_content) {
    // An unterminated string holding an API key: nlohmann's "last read" would quote it.
    const std::string text = "{\"chains\": [{\"rpc\": [\"https://x.invalid/v2/SECRETAPIKEY\n\"]}]}";
    const auto issues = parse_issues(text);
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_EQ(issues[0].message.find("SECRETAPIKEY"), std::string::npos) << issues[0].message;
    EXPECT_EQ(issues[0].line, 1u);
}

TEST(config_text, keys_written_twice_are_reported_with_their_path) {
    json j = minimal();
    std::string text = j.dump();
    const std::string needle = "\"chain_id\":4302";
    const auto at = text.find(needle);
    ASSERT_NE(at, std::string::npos);
    text.insert(at, "\"chain_id\":4303,");
    const auto issues = parse_issues(text);
    ASSERT_EQ(issues.size(), 1u) << describe(issues);
    EXPECT_EQ(issues[0].path, "chains[1].chain_id");
    EXPECT_NE(issues[0].message.find("duplicate key"), std::string::npos);
}

TEST(config_errors, all_problems_are_reported_together) {
    json j = minimal();
    j["chains"][0]["rcp"] = "http://x";
    j["chains"][1]["chain_id"] = "4302";
    j["routes"][0]["batch_size"] = 0;
    j["retry"] = {{"jitter", 2}};
    j["api"] = {{"listen", "0.0.0.0:1"}};
    const auto issues = parse_issues(j.dump());
    EXPECT_EQ(issues.size(), 5u) << describe(issues);
    EXPECT_TRUE(has_issue(issues, "chains[0].rcp", "unknown key"));
    EXPECT_TRUE(
        has_issue(issues, "chains[1].chain_id", "expected an unsigned integer, got string"));
    EXPECT_TRUE(has_issue(issues, "routes[0].batch_size", "must be between 1 and 200, got 0"));
    EXPECT_TRUE(has_issue(issues, "retry.jitter", "must be between 0 and 1, got 2"));
    EXPECT_TRUE(has_issue(issues, "api.listen", "api.allow_non_loopback"));
}

TEST(config_errors, to_string_prints_one_line_per_issue) {
    ConfigErrors e{{ConfigIssue{"chains[0].name", "bad"}, ConfigIssue{"", "no role"}}};
    EXPECT_EQ(e.to_string("f.json"), "f.json: chains[0].name: bad\nf.json: no role\n");
}

TEST(config_errors, value_of_a_failed_result_throws) {
    auto r = parse_config("{}", kBase);
    ASSERT_FALSE(r);
    EXPECT_THROW((void)r.value(), std::runtime_error);
}

TEST(config_errors, rpc_urls_are_never_echoed) {
    json j = minimal();
    j["chains"][0]["rpc"] = {"https://user:SECRETPW@host.invalid:99999/v2/SECRETAPIKEY",
                             "https://host.invalid/v2/SECRETAPIKEY with space",
                             "wss://host.invalid/v2/SECRETAPIKEY"};
    const auto issues = parse_issues(j.dump());
    ASSERT_EQ(issues.size(), 3u) << describe(issues);
    EXPECT_TRUE(has_issue(issues, "chains[0].rpc[0]", "port must be a number from 1 to 65535"));
    EXPECT_TRUE(has_issue(issues, "chains[0].rpc[1]", "whitespace"));
    EXPECT_TRUE(has_issue(issues, "chains[0].rpc[2]", "got scheme 'wss'"));
    const std::string all = describe(issues);
    EXPECT_EQ(all.find("SECRET"), std::string::npos) << all;
}

TEST(config_errors, a_private_key_in_place_of_a_name_is_not_echoed) {
    const std::string key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    json j = minimal();
    j["relayer"]["key"]["env"] = key;
    j["chains"][0]["outbox"] = key;
    const auto issues = parse_issues(j.dump());
    ASSERT_EQ(issues.size(), 2u) << describe(issues);
    EXPECT_TRUE(has_issue(issues, "relayer.key.env", "looks like a private key"));
    EXPECT_TRUE(has_issue(issues, "chains[0].outbox", "0x and 40 hex digits"));
    EXPECT_EQ(describe(issues).find(key.substr(2, 16)), std::string::npos) << describe(issues);
}

TEST(config_errors, load_config_reports_an_unreadable_file) {
    const fs::path missing = fs::temp_directory_path() / "ferry-config-test-missing.json";
    fs::remove(missing);
    auto r = load_config(missing);
    ASSERT_FALSE(r);
    ASSERT_EQ(r.error().issues.size(), 1u);
    EXPECT_EQ(r.error().issues[0].path, "");
    EXPECT_NE(r.error().issues[0].message.find("cannot read"), std::string::npos);
    EXPECT_EQ(r.error().to_string("x.json").rfind("x.json: cannot read", 0), 0u);
}

TEST(config_errors, load_config_reports_schema_errors_of_a_real_file) {
    const fs::path dir = fs::temp_directory_path() / "ferry-config-test";
    fs::create_directories(dir);
    const fs::path file = dir / "broken.json";
    {
        json j = minimal();
        j["chains"][1]["rpc"] = json::array();
        std::ofstream(file) << "// broken on purpose\n" << j.dump(2);
    }
    auto r = load_config(file);
    fs::remove_all(dir);
    ASSERT_FALSE(r);
    ASSERT_EQ(r.error().issues.size(), 1u) << r.error().to_string(file.string());
    EXPECT_EQ(r.error().to_string(file.string()),
              file.string() + ": chains[1].rpc: at least one URL is required\n");
}

// ---- the table of broken configs ----

struct Broken {
    const char* name;
    std::function<void(json&)> mutate;
    const char* path;
    const char* fragment;
    std::size_t issue_count = 1;
};

std::vector<Broken> broken_configs() {
    return {
        {"unknown chain key", [](json& j) { j["chains"][0]["rcp"] = j["chains"][0]["rpc"]; },
         "chains[0].rcp", "unknown key (expected one of: name, chain_id, rpc, confirmations"},
        {"typo gets a suggestion", [](json& j) { j["chains"][0]["rcp"] = 1; }, "chains[0].rcp",
         "did you mean 'rpc'?"},
        {"unknown root key", [](json& j) { j["chain"] = json::array(); }, "chain",
         "did you mean 'chains'?"},
        {"chain id as string", [](json& j) { j["chains"][0]["chain_id"] = "4301"; },
         "chains[0].chain_id", "expected an unsigned integer, got string"},
        {"chain id zero", [](json& j) { j["chains"][1]["chain_id"] = 0; }, "chains[1].chain_id",
         "must be at least 1, got 0"},
        {"chain id negative", [](json& j) { j["chains"][1]["chain_id"] = -7; },
         "chains[1].chain_id", "must be at least 1, got -7"},
        {"chain id fractional", [](json& j) { j["chains"][1]["chain_id"] = 1.5; },
         "chains[1].chain_id", "expected an unsigned integer, got the fractional number 1.5"},
        {"chain id written as a float", [](json& j) { j["chains"][1]["chain_id"] = 4302.0; },
         "chains[1].chain_id", "got 4302 written with a fraction or an exponent"},
        {"chain id too large", [](json& j) { j["chains"][1]["chain_id"] = 1e20; },
         "chains[1].chain_id", "number too large"},
        {"chain id missing", [](json& j) { j["chains"][1].erase("chain_id"); },
         "chains[1].chain_id", "required key is missing"},
        {"chain name with capitals", [](json& j) { j["chains"][1]["name"] = "Beta"; },
         "chains[1].name", "must be 1 to 32 characters from a-z, 0-9, '_' and '-', got 'Beta'", 2},
        {"chain name too long", [](json& j) { j["chains"][1]["name"] = std::string(33, 'b'); },
         "chains[1].name", "must be 1 to 32 characters", 2},
        {"duplicate chain name", [](json& j) { j["chains"][1]["name"] = "alpha"; },
         "chains[1].name", "duplicate chain name 'alpha' (also chains[0])", 2},
        {"duplicate chain id", [](json& j) { j["chains"][1]["chain_id"] = 4301; },
         "chains[1].chain_id", "duplicate chain id 4301 (also chains[0])"},
        {"no chains", [](json& j) { j["chains"] = json::array(); }, "chains",
         "at least one chain is required", 4},
        {"chains not an array", [](json& j) { j["chains"] = json::object(); }, "chains",
         "expected an array of chains, got object", 4},
        {"chain not an object", [](json& j) { j["chains"][1] = "beta"; }, "chains[1]",
         "expected an object, got string", 2},
        {"rpc not http", [](json& j) { j["chains"][1]["rpc"][0] = "ftp://127.0.0.1/"; },
         "chains[1].rpc[0]", "not a URL (expected http:// or https://)"},
        {"rpc without scheme", [](json& j) { j["chains"][1]["rpc"][0] = "127.0.0.1:8545"; },
         "chains[1].rpc[0]", "not a URL (expected http:// or https://)"},
        {"rpc empty host", [](json& j) { j["chains"][1]["rpc"][0] = "http://:8545/"; },
         "chains[1].rpc[0]", "URL has an empty host"},
        {"rpc port zero", [](json& j) { j["chains"][1]["rpc"][0] = "http://127.0.0.1:0"; },
         "chains[1].rpc[0]", "URL port must be a number from 1 to 65535"},
        {"rpc bad ipv6", [](json& j) { j["chains"][1]["rpc"][0] = "http://[::g]:80"; },
         "chains[1].rpc[0]", "not an IPv6 address"},
        {"rpc listed twice",
         [](json& j) { j["chains"][1]["rpc"].push_back("http://127.0.0.1:8546"); },
         "chains[1].rpc[1]", "same URL as an earlier entry"},
        {"rpc not an array", [](json& j) { j["chains"][1]["rpc"] = "http://127.0.0.1:8546"; },
         "chains[1].rpc", "expected an array of URLs, got string"},
        {"confirmations bad string", [](json& j) { j["chains"][0]["confirmations"] = "safe"; },
         "chains[0].confirmations", "expected an integer 0..1000 or the string \"finalized\""},
        {"confirmations too high", [](json& j) { j["chains"][0]["confirmations"] = 1001; },
         "chains[0].confirmations", "must be between 0 and 1000, got 1001"},
        {"poll interval too short", [](json& j) { j["chains"][0]["poll_interval_ms"] = 10; },
         "chains[0].poll_interval_ms", "must be between 50 and 600000, got 10"},
        {"log range zero", [](json& j) { j["chains"][0]["max_log_range"] = 0; },
         "chains[0].max_log_range", "must be between 1 and 100000, got 0"},
        {"rpc timeout boolean", [](json& j) { j["chains"][0]["rpc_timeout_ms"] = true; },
         "chains[0].rpc_timeout_ms", "expected an unsigned integer, got boolean"},
        {"start block negative", [](json& j) { j["chains"][0]["start_block"] = -1; },
         "chains[0].start_block", "expected an unsigned integer, got -1"},
        {"outbox too short", [](json& j) { j["chains"][0]["outbox"] = "0x1234"; },
         "chains[0].outbox", "not an address (expected 0x and 40 hex digits), got 4 hex digits"},
        {"outbox without 0x",
         [](json& j) { j["chains"][0]["outbox"] = std::string(kOutbox).substr(2); },
         "chains[0].outbox", "0x and 40 hex digits"},
        {"outbox bad digit",
         [](json& j) { j["chains"][0]["outbox"] = "0x5fbdb2315678afecb367f032d93f642f64180azz"; },
         "chains[0].outbox", "not a hex digit"},
        {"inbox is a number", [](json& j) { j["chains"][1]["inbox"] = 5; }, "chains[1].inbox",
         "expected an address (0x and 40 hex digits), got number"},
        {"outbox zero", [](json& j) { j["chains"][0]["outbox"] = "0x" + std::string(40, '0'); },
         "chains[0].outbox", "the zero address is not allowed"},
        {"bad EIP-55 checksum",
         [](json& j) {
             j["validator_sets"][0]["validators"][0]["address"] =
                 "0x3c44CdDdB6a900fa2b585dd299e03d12FA4293BC";
         },
         "validator_sets[0].validators[0].address", "EIP-55 checksum"},
        {"gas multiplier too high", [](json& j) { j["chains"][1]["gas"]["fee_multiplier"] = 11; },
         "chains[1].gas.fee_multiplier", "must be between 1 and 10, got 11"},
        {"gas margin as string", [](json& j) { j["chains"][1]["gas"]["gas_margin"] = "1.2"; },
         "chains[1].gas.gas_margin", "expected a number, got string"},
        {"fee bump too small", [](json& j) { j["chains"][1]["gas"]["fee_bump_percent"] = 5; },
         "chains[1].gas.fee_bump_percent", "must be between 10 and 500, got 5"},
        {"too many in flight", [](json& j) { j["chains"][1]["gas"]["max_in_flight"] = 65; },
         "chains[1].gas.max_in_flight", "must be between 1 and 64, got 65"},
        {"tip above the cap",
         [](json& j) {
             j["chains"][1]["gas"] = {{"priority_fee_wei", 10}, {"max_fee_wei", 9}};
         },
         "chains[1].gas.priority_fee_wei", "must not exceed max_fee_wei (9), got 10"},
        {"unknown gas key", [](json& j) { j["chains"][1]["gas"]["max_fee"] = 1; },
         "chains[1].gas.max_fee", "unknown key (expected one of: fee_multiplier"},
        {"route from unknown chain", [](json& j) { j["routes"][0]["from"] = "gamma"; },
         "routes[0].from", "unknown chain 'gamma' (chains are: alpha, beta)"},
        {"route to unknown chain", [](json& j) { j["routes"][0]["to"] = "gamma"; }, "routes[0].to",
         "unknown chain 'gamma' (chains are: alpha, beta)"},
        {"route to itself", [](json& j) { j["routes"][0]["to"] = "alpha"; }, "routes[0].to",
         "same chain as from ('alpha'); a route joins two different chains"},
        {"duplicate route",
         [](json& j) {
             const json copy = j["routes"][0];
             j["routes"].push_back(copy);
         },
         "routes[1]", "duplicate route alpha->beta (also routes[0])"},
        {"route source without outbox", [](json& j) { j["chains"][0].erase("outbox"); },
         "routes[0].from", "chain 'alpha' has no outbox; set chains[0].outbox"},
        {"route destination without inbox", [](json& j) { j["chains"][1].erase("inbox"); },
         "routes[0].to", "chain 'beta' has no inbox; set chains[1].inbox"},
        {"route source without validator set", [](json& j) { j["validator_sets"] = json::array(); },
         "routes[0].from", "no validator set for source chain 'alpha'; add one to validator_sets"},
        {"batch size too big", [](json& j) { j["routes"][0]["batch_size"] = 201; },
         "routes[0].batch_size", "must be between 1 and 200, got 201"},
        {"ordered not a boolean", [](json& j) { j["routes"][0]["ordered"] = "yes"; },
         "routes[0].ordered", "expected true or false, got string"},
        {"route missing to", [](json& j) { j["routes"][0].erase("to"); }, "routes[0].to",
         "required key is missing"},
        {"threshold above the validator count",
         [](json& j) { j["validator_sets"][0]["threshold"] = 3; }, "validator_sets[0].threshold",
         "must be between 1 and 2, got 3"},
        {"threshold zero", [](json& j) { j["validator_sets"][0]["threshold"] = 0; },
         "validator_sets[0].threshold", "must be between 1 and 2, got 0"},
        {"duplicate validator address",
         [](json& j) {
             j["validator_sets"][0]["validators"][1]["address"] =
                 "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
         },
         "validator_sets[0].validators[1].address",
         "duplicate validator address (same as validator_sets[0].validators[0])"},
        {"validator url not http",
         [](json& j) { j["validator_sets"][0]["validators"][0]["url"] = "127.0.0.1:9101"; },
         "validator_sets[0].validators[0].url", "not a URL (expected http:// or https://)"},
        {"no validators", [](json& j) { j["validator_sets"][0]["validators"] = json::array(); },
         "validator_sets[0].validators", "at least one validator is required"},
        {"validator set for unknown chain",
         [](json& j) { j["validator_sets"][0]["source"] = "gamma"; }, "validator_sets[0].source",
         "unknown chain 'gamma' (chains are: alpha, beta)", 2},
        {"duplicate validator set",
         [](json& j) {
             const json copy = j["validator_sets"][0];
             j["validator_sets"].push_back(copy);
         },
         "validator_sets[1].source",
         "duplicate validator set for chain 'alpha' (also validator_sets[0])"},
        {"key with env and keystore",
         [](json& j) {
             j["relayer"]["key"]["keystore"] = "k.json";
             j["relayer"]["key"]["password_file"] = "k.pass";
         },
         "relayer.key", "set exactly one of env or keystore, not both"},
        {"key with neither", [](json& j) { j["relayer"]["key"] = json::object(); }, "relayer.key",
         "set env"},
        {"keystore without password file",
         [](json& j) {
             j["relayer"]["key"] = {{"keystore", "k.json"}};
         },
         "relayer.key.password_file", "required with keystore"},
        {"password file with env", [](json& j) { j["relayer"]["key"]["password_file"] = "k.pass"; },
         "relayer.key.password_file", "only goes with keystore"},
        {"env not a variable name", [](json& j) { j["relayer"]["key"]["env"] = "MY-KEY"; },
         "relayer.key.env", "not an environment variable name"},
        {"relayer without routes", [](json& j) { j["routes"] = json::array(); }, "relayer",
         "a relaying node needs at least one route"},
        {"relayer without key", [](json& j) { j["relayer"] = json::object(); }, "relayer.key",
         "required key is missing"},
        {"no role", [](json& j) { j.erase("relayer"); }, "", "the node has no role"},
        {"validator chain unknown",
         [](json& j) {
             j["validator"] = {{"chain", "gamma"}, {"key", {{"env", "FERRY_VALIDATOR_KEY"}}}};
         },
         "validator.chain", "unknown chain 'gamma' (chains are: alpha, beta)"},
        {"validator chain without outbox",
         [](json& j) {
             j["validator"] = {{"chain", "beta"}, {"key", {{"env", "FERRY_VALIDATOR_KEY"}}}};
         },
         "validator.chain", "chain 'beta' has no outbox; set chains[1].outbox"},
        {"listen on a public address",
         [](json& j) {
             j["api"] = {{"listen", "0.0.0.0:8645"}};
         },
         "api.listen", "'0.0.0.0' is not a loopback address; set api.allow_non_loopback to true"},
        {"listen on a public ipv6 address",
         [](json& j) {
             j["api"] = {{"listen", "[2001:db8::1]:8645"}};
         },
         "api.listen", "set api.allow_non_loopback to true"},
        {"listen without port",
         [](json& j) {
             j["api"] = {{"listen", "127.0.0.1"}};
         },
         "api.listen", "expected \"host:port\""},
        {"listen on a host name",
         [](json& j) {
             j["api"] = {{"listen", "example.com:80"}};
         },
         "api.listen", "expected \"host:port\""},
        {"listen with a leading zero",
         [](json& j) {
             j["api"] = {{"listen", "127.0.0.01:80"}};
         },
         "api.listen", "expected \"host:port\""},
        {"listen port too large",
         [](json& j) {
             j["api"] = {{"listen", "127.0.0.1:65536"}};
         },
         "api.listen", "port must be a number from 0 to 65535"},
        {"admin token env bad",
         [](json& j) {
             j["api"] = {{"admin_token_env", "1TOKEN"}};
         },
         "api.admin_token_env", "not an environment variable name"},
        {"database missing", [](json& j) { j.erase("database"); }, "database",
         "required key is missing"},
        {"database empty", [](json& j) { j["database"] = ""; }, "database",
         "expected a file path, got an empty string"},
        {"retry max below initial",
         [](json& j) {
             j["retry"] = {{"initial_delay_ms", 5000}, {"max_delay_ms", 1000}};
         },
         "retry.max_delay_ms", "must be at least retry.initial_delay_ms (5000), got 1000"},
        {"retry multiplier below one",
         [](json& j) {
             j["retry"] = {{"multiplier", 0.5}};
         },
         "retry.multiplier", "must be between 1 and 10, got 0.5"},
        {"retry attempts zero",
         [](json& j) {
             j["retry"] = {{"max_attempts", 0}};
         },
         "retry.max_attempts", "must be between 1 and 1000, got 0"},
        {"body limit too big",
         [](json& j) {
             j["limits"] = {{"max_body_bytes", 2000000}};
         },
         "limits.max_body_bytes", "must be between 0 and 1048576, got 2000000"},
        {"attestation batch zero",
         [](json& j) {
             j["limits"] = {{"attestation_batch", 0}};
         },
         "limits.attestation_batch", "must be between 1 and 1000, got 0"},
        {"limits not an object", [](json& j) { j["limits"] = 5; }, "limits",
         "expected an object, got number"},
    };
}

TEST(config_errors, each_broken_config_names_its_path) {
    const auto cases = broken_configs();
    ASSERT_GE(cases.size(), 25u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        json j = minimal();
        c.mutate(j);
        const auto issues = parse_issues(j.dump());
        EXPECT_TRUE(has_issue(issues, c.path, c.fragment))
            << "expected '" << c.path << ": ..." << c.fragment << "...', got:\n"
            << describe(issues);
        EXPECT_EQ(issues.size(), c.issue_count) << describe(issues);
    }
}

}  // namespace

TEST(config_errors, a_quorum_needs_as_many_endpoints) {
    json j = minimal();
    j["chains"][0]["rpc"] = {"http://127.0.0.1:8545", "http://127.0.0.1:8546"};
    j["chains"][0]["quorum"] = 3;
    j["chains"][1]["quorum"] = 0;
    const auto issues = parse_issues(j.dump());
    ASSERT_EQ(issues.size(), 2u) << describe(issues);
    EXPECT_TRUE(has_issue(issues, "chains[0].quorum", "must be between 1 and 2, got 3"));
    EXPECT_TRUE(has_issue(issues, "chains[1].quorum", "got 0"));

    j["chains"][0]["quorum"] = 2;
    j["chains"][1].erase("quorum");
    auto config = parse_config(j.dump(), kBase);
    ASSERT_TRUE(config) << describe(config.error().issues);
    EXPECT_EQ(config->chains[0].quorum, 2u);
    EXPECT_EQ(config->chains[1].quorum, 1u);  // default: one answer, with fallback
}

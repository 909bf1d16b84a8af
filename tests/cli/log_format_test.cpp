// Proves --log-format json gives one JSON object per line {ts, level, msg, fields...} with a
// packet's id, route and nonce as fields, that text stays readable, and that a real
// `ferry start --log-format json` writes only JSON lines to stderr with no secret in them.
#include "devnet/process.hpp"
#include "relayer/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using ferry::relayer::LogFormat;
using ferry::relayer::setup_logging;
using nlohmann::json;

constexpr const char* kId = "0x5e1f0000000000000000000000000000000000000000000000000000000000aa";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

TEST(log_format, json_lines_carry_the_packet_fields) {
    std::ostringstream out;
    setup_logging("debug", LogFormat::json,
                  std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true));
    spdlog::info("submitter beta: packet delivered id={} route={} nonce={} tx={}", kId,
                 "4301->4302", 7, "0xabc");
    spdlog::warn("attestor 4301->4302: waiting: validators unreachable: \"x\" route=4301->4302");
    spdlog::debug("plain line with no fields");
    spdlog::trace("not shown at debug");
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 3u) << out.str();

    const json first = json::parse(lines[0]);
    EXPECT_EQ(first["level"], "info");
    EXPECT_EQ(first["msg"], "submitter beta: packet delivered");
    EXPECT_EQ(first["id"], kId);
    EXPECT_EQ(first["route"], "4301->4302");
    EXPECT_EQ(first["nonce"], 7);  // a number, not a string
    EXPECT_EQ(first["tx"], "0xabc");
    const std::string ts = first["ts"];
    ASSERT_EQ(ts.size(), 24u) << ts;  // 2024-05-01T12:00:00.123Z
    EXPECT_EQ(ts[10], 'T');
    EXPECT_EQ(ts.back(), 'Z');
    EXPECT_EQ(lines[0].rfind("{\"ts\":\"", 0), 0u) << lines[0];  // ts, level, msg come first
    EXPECT_LT(lines[0].find("\"level\""), lines[0].find("\"msg\""));
    EXPECT_LT(lines[0].find("\"msg\""), lines[0].find("\"id\""));

    const json second = json::parse(lines[1]);
    EXPECT_EQ(second["level"], "warning");
    EXPECT_EQ(second["msg"], "attestor 4301->4302: waiting: validators unreachable: \"x\"");
    EXPECT_EQ(second["route"], "4301->4302");

    const json third = json::parse(lines[2]);
    EXPECT_EQ(third["msg"], "plain line with no fields");
    EXPECT_EQ(third.size(), 3u);
}

TEST(log_format, text_lines_keep_the_message_as_written) {
    std::ostringstream out;
    setup_logging("info", LogFormat::text,
                  std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true));
    spdlog::info("validator: packet signed id={} route=1->2 nonce=3", kId);
    spdlog::debug("hidden");
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find(" info validator: packet signed id=" + std::string(kId) +
                            " route=1->2 nonce=3"),
              std::string::npos)
        << lines[0];
}

TEST(log_format, fields_are_only_the_trailing_key_value_tokens) {
    const auto f = ferry::relayer::split_log_fields("error a=b in the middle x=1 y_2=z ");
    EXPECT_EQ(f.text, "error a=b in the middle");
    ASSERT_EQ(f.fields.size(), 2u);
    EXPECT_EQ(f.fields[0], (std::pair<std::string, std::string>{"x", "1"}));
    EXPECT_EQ(f.fields[1], (std::pair<std::string, std::string>{"y_2", "z"}));
    EXPECT_TRUE(ferry::relayer::split_log_fields("no fields here").fields.empty());
    // Reserved names do not overwrite ts/level/msg; invalid UTF-8 still gives valid JSON.
    const json j = json::parse(ferry::relayer::format_json_log_line(
        std::chrono::system_clock::time_point{}, "info", "bad \xff byte level=9 msg=x"));
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["field_level"], 9);
    EXPECT_EQ(j["field_msg"], "x");
    EXPECT_EQ(j["ts"], "1970-01-01T00:00:00.000Z");
}

TEST(log_format, ferry_start_writes_json_lines) {
    namespace fs = std::filesystem;
    const auto dir = fs::temp_directory_path() / ("ferry-log-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    std::ofstream(dir / "node.json") << R"({
      "database": "v.db",
      "api": {"listen": "127.0.0.1:0"},
      "chains": [{"name": "alpha", "chain_id": 4301, "rpc": ["http://127.0.0.1:9"],
                  "outbox": "0x5fbdb2315678afecb367f032d93f642f64180aa3"}],
      "validator": {"chain": "alpha", "key": {"env": "FERRY_TEST_LOG_KEY"}}
    })";
    ferry::devnet::SpawnOptions spawn;
    spawn.executable = FERRY_BINARY;
    spawn.args = {"start",       "-c",   (dir / "node.json").string(), "--log-format", "json",
                  "--log-level", "debug"};
    spawn.env = {"FERRY_TEST_LOG_KEY=" + key};
    spawn.log_file = dir / "ferry.log";
    auto child = ferry::devnet::ChildProcess::spawn(spawn);
    ASSERT_TRUE(child) << child.error().message;
    auto listening = child->wait_for_line("ferry: listening on", std::chrono::seconds(30));
    ASSERT_TRUE(listening) << listening.error().message;
    auto unreachable = child->wait_for_line("not reachable yet", std::chrono::seconds(30));
    EXPECT_TRUE(unreachable) << child->output_tail();
    const auto status = child->terminate();
    EXPECT_TRUE(status.success()) << status.to_string() << child->output_tail();

    const std::string output = child->output();
    std::size_t json_lines = 0;
    for (const auto& line : lines_of(output)) {
        if (line.rfind("ferry: listening on ", 0) == 0) continue;  // stdout, for scripts
        const json j = json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
        EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
        ++json_lines;
    }
    EXPECT_GE(json_lines, 2u) << output;
    EXPECT_EQ(output.find(key.substr(2)), std::string::npos) << "the key leaked into the log";
    fs::remove_all(dir);
}

}  // namespace

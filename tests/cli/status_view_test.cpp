// Proves `ferry status`, `ferry packets` and `ferry packet` render fixed API answers exactly as
// the golden files under tests/cli/golden/ (FERRY_UPDATE_GOLDEN=1 rewrites them), and that the
// renderers survive odd input.
#include "cli/status_view.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace {

using ferry::cli::humanize_seconds;
using ferry::cli::render_packet;
using ferry::cli::render_packets;
using ferry::cli::render_status;
using nlohmann::json;

std::string golden_path(const std::string& name) {
    return std::string(FERRY_CLI_GOLDEN_DIR) + "/" + name;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json fixture(const std::string& name) {
    const std::string text = read_file(golden_path(name));
    EXPECT_FALSE(text.empty()) << "missing fixture " << name;
    return json::parse(text);
}

/// Compares `actual` with the golden file `name`, or rewrites it when FERRY_UPDATE_GOLDEN=1.
void expect_golden(const std::string& name, const std::string& actual) {
    const char* update = std::getenv("FERRY_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(golden_path(name), std::ios::binary) << actual;
        return;
    }
    const std::string expected = read_file(golden_path(name));
    ASSERT_FALSE(expected.empty()) << "missing golden file " << golden_path(name)
                                   << " (run with FERRY_UPDATE_GOLDEN=1 to create it)";
    EXPECT_EQ(actual, expected) << "rendering differs from " << golden_path(name)
                                << "\n--- actual ---\n"
                                << actual;
}

TEST(status_view, status_matches_golden) {
    expect_golden("status.txt", render_status(fixture("status.json")));
}

TEST(status_view, healthy_status_matches_golden) {
    expect_golden("status_ok.txt", render_status(fixture("status_ok.json")));
}

TEST(status_view, packets_matches_golden) {
    expect_golden("packets.txt", render_packets(fixture("packets.json")));
}

TEST(status_view, packet_matches_golden) {
    expect_golden("packet.txt", render_packet(fixture("packet.json")));
}

TEST(status_view, status_lists_what_is_stuck_and_why) {
    const std::string text = render_status(fixture("status.json"));
    // Header: version, uptime, roles.
    EXPECT_EQ(text.rfind("ferry 0.4.0  |  up 2h 3m  |  roles: relayer, validator\n", 0), 0u);
    const auto attention = text.find("ATTENTION\n");
    ASSERT_NE(attention, std::string::npos);
    const std::string tail = text.substr(attention);
    EXPECT_NE(tail.find("route beta->alpha: 3 dead packets"), std::string::npos);
    EXPECT_NE(tail.find("chain beta: RPC unreachable: eth_blockNumber: connection refused"),
              std::string::npos);
    EXPECT_NE(tail.find("chain beta: relayer wallet"), std::string::npos);
    EXPECT_NE(tail.find("route beta->alpha: waiting: validators unreachable"), std::string::npos);
    EXPECT_EQ(tail.find("chain alpha"), std::string::npos);  // alpha is fine
    EXPECT_EQ(tail.find("alpha->beta"), std::string::npos);
}

TEST(status_view, low_balance_threshold_is_an_option) {
    ferry::cli::StatusViewOptions options;
    options.low_balance_eth = 0.01;
    const std::string text = render_status(fixture("status.json"), options);
    EXPECT_EQ(text.find("relayer wallet"), std::string::npos);
}

TEST(status_view, humanizes_durations) {
    EXPECT_EQ(humanize_seconds(0), "0s");
    EXPECT_EQ(humanize_seconds(59.9), "59s");
    EXPECT_EQ(humanize_seconds(125), "2m 5s");
    EXPECT_EQ(humanize_seconds(3720), "1h 2m");
    EXPECT_EQ(humanize_seconds(3 * 86400 + 4 * 3600 + 5), "3d 4h");
    EXPECT_EQ(humanize_seconds(-1), "-");
}

TEST(status_view, survives_odd_input) {
    for (const char* text :
         {"null", "[]", "{}", "{\"chains\": 5, \"routes\": {\"a\": 1}}",
          "{\"chains\": [null, 1, {\"name\": 7, \"head\": -5, \"wallet\": {\"balance_eth\": "
          "\"x\"}}],"
          " \"routes\": [{\"counts\": {\"dead\": -3}, \"waiting\": \"a\\nb\\u001b[31m\"}]}",
          "{\"packets\": [1, null, {\"id\": [1]}], \"next_cursor\": 5}",
          "{\"attestations\": 1, \"receipt\": 7, \"expiry\": \"soon\"}"}) {
        const json j = json::parse(text);
        const std::string s = render_status(j) + render_packets(j) + render_packet(j);
        EXPECT_FALSE(s.empty());
        EXPECT_EQ(s.find('\x1b'), std::string::npos) << "control bytes must not reach a terminal";
    }
}

}  // namespace

// Fuzzes the config file parser (relayer/config.hpp). Properties: parse_config never crashes
// or throws, and reports at least one issue with a message when it refuses a text; a config it
// accepts writes (to_json_text) a text that parses back to the same Config, from any base
// directory since the paths are then absolute, and that text is stable.
#include "fuzz_check.hpp"
#include "relayer/config.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace {

constexpr const char* kFuzzTarget = "config_fuzz";

using namespace ferry;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::filesystem::path base = "/fuzz/base";
    const auto config = relayer::parse_config(text, base);
    if (!config) {
        FUZZ_CHECK(!config.error().issues.empty(), "parse_config failed without an issue", "");
        for (const auto& issue : config.error().issues)
            FUZZ_CHECK(!issue.message.empty(), "an issue without a message", issue.path);
        FUZZ_CHECK(!config.error().to_string("fuzz.json").empty(), "empty error text", "");
        return 0;
    }
    FUZZ_CHECK(config->file.empty(), "parse_config set Config::file", config->file.string());
    const std::string written = relayer::to_json_text(*config);
    const auto again = relayer::parse_config(written, "/elsewhere");
    FUZZ_CHECK(again.has_value(), "to_json_text wrote a config parse_config refuses",
               again ? std::string() : again.error().to_string("written") + written);
    FUZZ_CHECK(*again == *config, "parse_config(to_json_text(c)) != c", written);
    FUZZ_CHECK(relayer::to_json_text(*again) == written, "to_json_text is not stable", written);
    return 0;
}

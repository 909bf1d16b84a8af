// The text layer of the config loader: reading the file, JSON with comments, keys written
// twice, the position of a syntax error, and the canonical writer.
#pragma once

#include "relayer/config.hpp"

#include <nlohmann/json.hpp>

#include <boost/system/result.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::relayer::config_json {

/// Parses JSON that may hold comments. Each key written twice in one object adds an issue to
/// `issues` (nlohmann would keep the last silently). A syntax error replaces `issues` with one
/// issue carrying its line and column and gives nullopt. Messages never quote the text.
std::optional<nlohmann::json> parse_json_text(std::string_view text,
                                              std::vector<ConfigIssue>& issues);

/// The whole of `file` (an absolute path), at most 4 MiB. A directory, an unreadable or an
/// oversized file gives one issue with path "".
boost::system::result<std::string, ConfigErrors> read_config_text(
    const std::filesystem::path& file);

}  // namespace ferry::relayer::config_json

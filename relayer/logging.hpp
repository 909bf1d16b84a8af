// The node's log set-up: one line per event on stderr, as text or as JSON objects.
//
// Structured fields: a log message may end in `key=value` tokens (no spaces in the value), for
// example "submitter beta: packet delivered id=0x12.. route=alpha->beta nonce=7". Text output
// shows the line as written; JSON output gives {"ts", "level", "msg", <key>: <value>...} with
// the trailing tokens moved out of "msg" into fields (all-digit values become numbers). Every
// log line about one packet carries id=, route= and nonce=; about a batch, route= and nonces=.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spdlog::sinks {
class sink;
}

namespace ferry::crypto {
template <std::size_t N>
struct FixedBytes;
}
namespace ferry::storage {
class Queue;
struct PacketRecord;
}  // namespace ferry::storage

namespace ferry::relayer {

enum class LogFormat { text, json };

/// "text" or "json"; nullopt otherwise.
std::optional<LogFormat> parse_log_format(std::string_view name);

/// A message split into its text and its trailing key=value fields (in order of appearance).
struct LogFields {
    std::string text;
    std::vector<std::pair<std::string, std::string>> fields;
};
LogFields split_log_fields(std::string_view message);

/// One JSON log line (without the newline) for a message logged at `level` ("info", "warn"...)
/// at `when`: {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"...",fields...}.
/// Fields named ts, level or msg are kept under "field_<name>". Invalid UTF-8 is replaced.
std::string format_json_log_line(std::chrono::system_clock::time_point when, std::string_view level,
                                 std::string_view message);

/// Makes the default spdlog logger ("ferry") write to stderr — or to `sink` when given (tests)
/// — at `level` (trace, debug, info, warn, error, critical, off) in `format`. Replaces a
/// previous set-up. An unknown level name means "info".
void setup_logging(std::string_view level, LogFormat format,
                   std::shared_ptr<spdlog::sinks::sink> sink = nullptr);

/// "id=0x.. route=1->2 nonce=7": the fields of a log line about one packet.
std::string packet_fields(const storage::PacketRecord& packet);
/// The same for a packet known by its id: looked up in `queue`; "id=0x.." alone when it is not
/// there (or the read fails).
std::string packet_fields(storage::Queue& queue, const crypto::FixedBytes<32>& id);

}  // namespace ferry::relayer

#include "relayer/logging.hpp"

#include "storage/queue.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace ferry::relayer {
namespace {

bool is_key(std::string_view key) {
    if (key.empty() || key.size() > 32) return false;
    if (!(key.front() >= 'a' && key.front() <= 'z')) return false;
    for (char c : key) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

/// "2024-05-01T12:00:00.123Z"
std::string utc_timestamp(std::chrono::system_clock::time_point when) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buffer[80];
    const auto frac = static_cast<int>(ms.count() % 1000);
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac < 0 ? 0 : frac);
    return buffer;
}

nlohmann::json field_value(const std::string& value) {
    if (value.size() <= 19 && value.find_first_not_of("0123456789") == std::string::npos &&
        !(value.size() > 1 && value.front() == '0')) {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec == std::errc() && end == value.data() + value.size()) return n;
    }
    return value;
}

class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto level = spdlog::level::to_string_view(msg.level);
        std::string line =
            format_json_log_line(msg.time, std::string_view(level.data(), level.size()),
                                 std::string_view(msg.payload.data(), msg.payload.size()));
        line += '\n';
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) {
    if (name == "text") return LogFormat::text;
    if (name == "json") return LogFormat::json;
    return std::nullopt;
}

LogFields split_log_fields(std::string_view message) {
    LogFields out;
    std::string_view rest = message;
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    // Walk back over trailing "key=value" tokens.
    while (!rest.empty()) {
        const auto space = rest.rfind(' ');
        const std::string_view token =
            space == std::string_view::npos ? rest : rest.substr(space + 1);
        const auto eq = token.find('=');
        if (eq == std::string_view::npos || eq + 1 >= token.size() || !is_key(token.substr(0, eq)))
            break;
        out.fields.emplace_back(std::string(token.substr(0, eq)),
                                std::string(token.substr(eq + 1)));
        rest = space == std::string_view::npos ? std::string_view() : rest.substr(0, space);
        while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    }
    std::reverse(out.fields.begin(), out.fields.end());
    out.text = std::string(rest);
    return out;
}

std::string format_json_log_line(std::chrono::system_clock::time_point when, std::string_view level,
                                 std::string_view message) {
    auto parts = split_log_fields(message);
    nlohmann::ordered_json line;
    line["ts"] = utc_timestamp(when);
    line["level"] = std::string(level);
    line["msg"] = std::move(parts.text);
    for (auto& [key, value] : parts.fields) {
        const std::string name =
            key == "ts" || key == "level" || key == "msg" ? "field_" + key : key;
        if (!line.contains(name)) line[name] = field_value(value);
    }
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void setup_logging(std::string_view level, LogFormat format,
                   std::shared_ptr<spdlog::sinks::sink> sink) {
    if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("ferry", std::move(sink));
    if (format == LogFormat::json) {
        logger->set_formatter(std::make_unique<JsonFormatter>());
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") lvl = spdlog::level::info;
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

std::string packet_fields(const storage::PacketRecord& packet) {
    return "id=" + packet.id.hex() + " route=" + storage::route_name(packet.route) +
           " nonce=" + std::to_string(crypto::to_u64(packet.nonce));
}

std::string packet_fields(storage::Queue& queue, const crypto::FixedBytes<32>& id) {
    auto record = queue.packet(id);
    if (record && *record) return packet_fields(**record);
    return "id=" + id.hex();
}

}  // namespace ferry::relayer

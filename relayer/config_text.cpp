#include "relayer/config_text.hpp"

#include "relayer/config_checker.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

namespace ferry::relayer {
namespace config_json {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;

/// 1-based line and column (in UTF-8 characters) of byte offset `offset`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    std::size_t column = 1;
    for (std::size_t i = line_start; i < offset; ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0u) != 0x80u) ++column;
    return {line, column};
}

/// nlohmann's explanation without its prefix and without "last read: '…'", which would echo
/// file content (possibly an RPC URL with an API key).
std::string syntax_detail(std::string_view what) {
    if (const auto at = what.find("parse error"); at != std::string_view::npos) {
        what.remove_prefix(at);
        if (const auto colon = what.find(": "); colon != std::string_view::npos)
            what.remove_prefix(colon + 2);
    }
    for (const std::string_view prefix :
         {"syntax error while parsing value - ", "syntax error while parsing object key - ",
          "syntax error while parsing object separator - ", "syntax error while parsing object - ",
          "syntax error while parsing array - "}) {
        if (what.substr(0, prefix.size()) == prefix) {
            what.remove_prefix(prefix.size());
            break;
        }
    }
    std::string out(what);
    if (const auto last = out.find("; last read: '"); last != std::string::npos) {
        const auto expected = out.rfind("; expected ");
        std::string tail = (expected != std::string::npos && expected > last) ? out.substr(expected)
                                                                              : std::string();
        out = out.substr(0, last) + tail;
    }
    return out;
}

/// Tracks the path while nlohmann parses, to report keys that appear twice in one object
/// (nlohmann keeps the last one silently).
class DuplicateKeys {
public:
    explicit DuplicateKeys(std::vector<ConfigIssue>& issues) : issues_(issues) {}

    bool on_event(json::parse_event_t event, const json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (!frames_.empty() && frames_.back().array) ++frames_.back().next;
                frames_.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
                break;
            case json::parse_event_t::key: {
                if (frames_.empty() || !parsed.is_string()) break;
                const auto& key = parsed.get_ref<const std::string&>();
                if (!frames_.back().keys.insert(key).second)
                    issues_.push_back(ConfigIssue{
                        child(container_path(), key),
                        "duplicate key (only the last one would count); write each key once"});
                frames_.back().key = key;
                break;
            }
            case json::parse_event_t::value:
                if (!frames_.empty() && frames_.back().array) ++frames_.back().next;
                break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                if (!frames_.empty()) frames_.pop_back();
                break;
        }
        return true;
    }

private:
    struct Frame {
        bool array = false;
        std::size_t next = 0;  // arrays: index of the next element
        std::string key;       // objects: the current key
        std::set<std::string> keys;
    };

    std::string container_path() const {
        std::string path;
        for (std::size_t i = 0; i + 1 < frames_.size(); ++i)
            path =
                frames_[i].array ? index(path, frames_[i].next - 1) : child(path, frames_[i].key);
        return path;
    }

    std::vector<ConfigIssue>& issues_;
    std::vector<Frame> frames_;
};

ConfigIssue syntax_issue(std::string_view text, const json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    const auto [line, column] = line_column(text, offset);
    const bool blank = std::all_of(text.begin(), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    });
    ConfigIssue issue;
    issue.line = line;
    issue.column = column;
    issue.message = "JSON syntax error at line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ": " +
                    (blank ? std::string("the file is empty") : syntax_detail(e.what()));
    return issue;
}

}  // namespace

std::optional<json> parse_json_text(std::string_view text, std::vector<ConfigIssue>& issues) {
    try {
        DuplicateKeys duplicates(issues);
        return json::parse(
            text.begin(), text.end(),
            [&duplicates](int, json::parse_event_t event, json& parsed) {
                return duplicates.on_event(event, parsed);
            },
            /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        issues.assign(1, syntax_issue(text, e));
    } catch (const json::exception& e) {
        issues.assign(1, ConfigIssue{"", "cannot parse the JSON: " + syntax_detail(e.what())});
    }
    return std::nullopt;
}

boost::system::result<std::string, ConfigErrors> read_config_text(const fs::path& file) {
    const auto fail = [](std::string message) {
        return ConfigErrors{{ConfigIssue{"", std::move(message)}}};
    };
    std::error_code ec;
    if (fs::is_directory(file, ec)) return fail("cannot read: it is a directory");
    struct Closer {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    const std::unique_ptr<std::FILE, Closer> f(std::fopen(file.c_str(), "rb"));
    if (!f) return fail("cannot read: " + std::generic_category().message(errno));
    std::string text;
    std::array<char, 65536> buf{};
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
        text.append(buf.data(), n);
        if (text.size() > kMaxConfigBytes)
            return fail("the file is larger than " + std::to_string(kMaxConfigBytes / 1024 / 1024) +
                        " MiB; is it really a config file?");
        if (n < buf.size()) {
            if (std::ferror(f.get()) != 0) return fail("cannot read: I/O error");
            break;
        }
    }
    return text;
}

}  // namespace config_json

namespace {

using ojson = nlohmann::ordered_json;

ojson key_json(const KeySource& key) {
    ojson k = ojson::object();
    if (!key.env.empty()) k["env"] = key.env;
    if (!key.keystore.empty()) k["keystore"] = key.keystore.string();
    if (!key.password_file.empty()) k["password_file"] = key.password_file.string();
    return k;
}

ojson gas_json(const GasPolicy& g) {
    return {{"fee_multiplier", g.fee_multiplier},
            {"priority_fee_wei", g.priority_fee_wei ? ojson(*g.priority_fee_wei) : ojson(nullptr)},
            {"max_fee_wei", g.max_fee_wei},
            {"gas_margin", g.gas_margin},
            {"replace_after_ms", g.replace_after_ms},
            {"fee_bump_percent", g.fee_bump_percent},
            {"max_in_flight", g.max_in_flight}};
}

ojson chain_json(const ChainConfig& chain) {
    ojson j = ojson::object();
    j["name"] = chain.name;
    j["chain_id"] = crypto::to_u64(chain.chain_id);
    j["rpc"] = chain.rpc;
    if (chain.finalized)
        j["confirmations"] = "finalized";
    else
        j["confirmations"] = chain.confirmations;
    j["poll_interval_ms"] = chain.poll_interval_ms;
    j["max_log_range"] = chain.max_log_range;
    j["rpc_timeout_ms"] = chain.rpc_timeout_ms;
    j["start_block"] = chain.start_block;
    if (chain.outbox) j["outbox"] = chain.outbox->hex();
    if (chain.inbox) j["inbox"] = chain.inbox->hex();
    j["gas"] = gas_json(chain.gas);
    return j;
}

ojson validator_set_json(const ValidatorSetConfig& s) {
    ojson validators = ojson::array();
    for (const auto& v : s.validators)
        validators.push_back({{"address", v.address.hex()}, {"url", v.url}});
    return {{"source", s.source},
            {"threshold", s.threshold},
            {"pin", s.pin},
            {"validators", std::move(validators)}};
}

}  // namespace

std::string to_json_text(const Config& c) {
    ojson root = ojson::object();
    root["database"] = c.database.string();
    const bool v6 = c.api.host.find(':') != std::string::npos;
    root["api"] = {
        {"listen", (v6 ? "[" + c.api.host + "]" : c.api.host) + ":" + std::to_string(c.api.port)},
        {"allow_non_loopback", c.api.allow_non_loopback},
        {"admin_token_env", c.api.admin_token_env},
        {"rate_limit_per_s", c.api.rate_limit_per_s},
        {"rate_limit_burst", c.api.rate_limit_burst}};
    ojson chains = ojson::array();
    for (const auto& chain : c.chains) chains.push_back(chain_json(chain));
    root["chains"] = std::move(chains);
    ojson routes = ojson::array();
    for (const auto& r : c.routes)
        routes.push_back(
            {{"from", r.from}, {"to", r.to}, {"ordered", r.ordered}, {"batch_size", r.batch_size}});
    root["routes"] = std::move(routes);
    ojson sets = ojson::array();
    for (const auto& s : c.validator_sets) sets.push_back(validator_set_json(s));
    root["validator_sets"] = std::move(sets);
    if (c.relayer) root["relayer"] = {{"key", key_json(c.relayer->key)}};
    if (c.validator)
        root["validator"] = {{"chain", c.validator->chain}, {"key", key_json(c.validator->key)}};
    root["retry"] = {{"initial_delay_ms", c.retry.initial_delay_ms},
                     {"multiplier", c.retry.multiplier},
                     {"max_delay_ms", c.retry.max_delay_ms},
                     {"jitter", c.retry.jitter},
                     {"max_attempts", c.retry.max_attempts}};
    root["limits"] = {{"max_body_bytes", c.limits.max_body_bytes},
                      {"attestation_timeout_ms", c.limits.attestation_timeout_ms},
                      {"attestation_batch", c.limits.attestation_batch}};
    return root.dump(2) + "\n";
}

}  // namespace ferry::relayer

#include "relayer/config.hpp"

#include "relayer/config_schema.hpp"
#include "relayer/config_text.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <system_error>
#include <utility>

// The config in order: each section (config_sections.cpp), then the references between
// sections, then the entry points. Value checks are config_checker's, text is config_text's.
namespace ferry::relayer {
namespace config_json {
namespace {

std::size_t chain_index(const std::vector<ChainInfo>& chains, const ChainInfo* info) {
    return static_cast<std::size_t>(info - chains.data());
}

}  // namespace

const ChainInfo* ConfigChecker::known_chain(const std::string& name, const std::string& path) {
    for (const auto& info : chains_)
        if (info.named && info.name == name) return &info;
    std::string names;
    for (const auto& info : chains_) {
        if (!info.named) continue;
        if (!names.empty()) names += ", ";
        names += info.name;
    }
    error(path, "unknown chain " + quote(name) +
                    (names.empty() ? " (no chains are defined)" : " (chains are: " + names + ")"));
    return nullptr;
}

std::string ConfigChecker::outbox_hint(const ChainInfo* info) const {
    return "chain " + quote(info->name) + " has no outbox; set " +
           child(index("chains", chain_index(chains_, info)), "outbox");
}

void ConfigChecker::check(const json& root, Config& c) {
    if (!root.is_object()) {
        error("", "the config must be a JSON object, got " + type_name(root));
        return;
    }
    check_keys(root, "", kRootKeys);
    if (const json* db = need(root, "", "database"))
        if (auto p = file_path(*db, "database")) c.database = *p;
    c.api.admin_token_env = std::string(kDefaultAdminTokenEnv);
    if (const json* api = get(root, "api")) check_api(*api, c.api);
    if (const json* chains = need(root, "", "chains")) check_chains(*chains, c);
    if (const json* routes = get(root, "routes")) check_routes(*routes, c);
    if (const json* sets = get(root, "validator_sets")) check_validator_sets(*sets, c);
    if (const json* r = get(root, "relayer")) check_relayer(*r, c);
    if (const json* v = get(root, "validator")) check_validator(*v, c);
    if (const json* retry = get(root, "retry")) check_retry(*retry, c.retry);
    if (const json* limits = get(root, "limits")) check_limits(*limits, c.limits);

    resolve_validator_sets(c);
    resolve_routes(c);
    resolve_validator(c);
    check_roles(c);
}

void ConfigChecker::resolve_validator_sets(Config& c) {
    for (std::size_t i = 0; i < set_sources_.size(); ++i) {
        if (!set_sources_[i]) continue;
        const std::string path = child(index("validator_sets", i), "source");
        const ChainInfo* info = known_chain(*set_sources_[i], path);
        if (info == nullptr) continue;
        if (info->id) c.validator_sets[i].src = *info->id;
        if (const auto [it, fresh] = set_index_.emplace(*set_sources_[i], i); !fresh)
            error(path, "duplicate validator set for chain " + quote(*set_sources_[i]) + " (also " +
                            index("validator_sets", it->second) + ")");
    }
}

void ConfigChecker::resolve_routes(Config& c) {
    for (std::size_t i = 0; i < route_refs_.size(); ++i) resolve_route(i, c);
}

void ConfigChecker::resolve_route(std::size_t i, Config& c) {
    const RouteRef& ref = route_refs_[i];
    const std::string path = index("routes", i);
    const ChainInfo* from = ref.from ? known_chain(*ref.from, child(path, "from")) : nullptr;
    const ChainInfo* to = ref.to ? known_chain(*ref.to, child(path, "to")) : nullptr;
    if (from != nullptr && from->id) c.routes[i].src = *from->id;
    if (to != nullptr && to->id) c.routes[i].dst = *to->id;
    if (ref.from && ref.to && *ref.from == *ref.to)
        return error(child(path, "to"), "same chain as from (" + quote(*ref.to) +
                                            "); a route joins two different chains");
    if (ref.from && ref.to) {
        if (const auto [it, fresh] = route_index_.emplace(std::pair(*ref.from, *ref.to), i); !fresh)
            error(path, "duplicate route " + *ref.from + "->" + *ref.to + " (also " +
                            index("routes", it->second) + ")");
    }
    if (from != nullptr) {
        if (!from->has_outbox) error(child(path, "from"), outbox_hint(from));
        if (set_index_.find(from->name) == set_index_.end())
            error(child(path, "from"), "no validator set for source chain " + quote(from->name) +
                                           "; add one to validator_sets");
    }
    if (to != nullptr && !to->has_inbox)
        error(child(path, "to"), "chain " + quote(to->name) + " has no inbox; set " +
                                     child(index("chains", chain_index(chains_, to)), "inbox"));
}

void ConfigChecker::resolve_validator(Config& c) {
    if (!validator_chain_) return;
    if (const ChainInfo* info = known_chain(*validator_chain_, "validator.chain")) {
        if (info->id) c.validator->chain_id = *info->id;
        if (!info->has_outbox) error("validator.chain", outbox_hint(info));
    }
}

void ConfigChecker::check_roles(const Config& c) {
    if (!c.relayer && !c.validator)
        error("",
              "the node has no role: add a \"relayer\" section (relay packets), a \"validator\" "
              "section (attest packets), or both");
    if (c.relayer && route_refs_.empty())
        error("relayer", "a relaying node needs at least one route in \"routes\"");
}

}  // namespace config_json

using namespace config_json;
namespace fs = std::filesystem;

const ChainConfig* Config::find_chain(std::string_view name) const noexcept {
    for (const auto& chain : chains)
        if (chain.name == name) return &chain;
    return nullptr;
}

const ChainConfig* Config::find_chain(crypto::ChainId id) const noexcept {
    for (const auto& chain : chains)
        if (chain.chain_id == id) return &chain;
    return nullptr;
}

const ValidatorSetConfig* Config::find_validator_set(crypto::ChainId src) const noexcept {
    for (const auto& set : validator_sets)
        if (set.src == src) return &set;
    return nullptr;
}

bool operator==(const Config& a, const Config& b) {
    const auto retry_equal = [](const storage::BackoffPolicy& x, const storage::BackoffPolicy& y) {
        return x.initial_delay_ms == y.initial_delay_ms && x.multiplier == y.multiplier &&
               x.max_delay_ms == y.max_delay_ms && x.jitter == y.jitter &&
               x.max_attempts == y.max_attempts;
    };
    return a.file == b.file && a.database == b.database && a.api == b.api && a.chains == b.chains &&
           a.routes == b.routes && a.validator_sets == b.validator_sets && a.relayer == b.relayer &&
           a.validator == b.validator && retry_equal(a.retry, b.retry) && a.limits == b.limits;
}

std::string ConfigErrors::to_string(std::string_view file) const {
    std::string out;
    for (const auto& issue : issues) {
        out += file;
        out += ": ";
        if (!issue.path.empty()) {
            out += issue.path;
            out += ": ";
        }
        out += issue.message;
        out += '\n';
    }
    return out;
}

void throw_exception_from_error(const ConfigErrors& e, const boost::source_location&) {
    throw std::runtime_error(e.to_string("config"));
}

boost::system::result<Config, ConfigErrors> parse_config(std::string_view text,
                                                         const std::filesystem::path& base_dir) {
    ConfigErrors errors;
    const auto root = parse_json_text(text, errors.issues);
    if (!root) return errors;
    Config config;
    ConfigChecker checker(base_dir);
    checker.check(*root, config);
    errors.issues.insert(errors.issues.end(), std::make_move_iterator(checker.issues.begin()),
                         std::make_move_iterator(checker.issues.end()));
    if (!errors.issues.empty()) return errors;
    return config;
}

boost::system::result<Config, ConfigErrors> load_config(const std::filesystem::path& file) {
    std::error_code ec;
    fs::path full = fs::absolute(file, ec);
    if (ec) return ConfigErrors{{ConfigIssue{"", "cannot resolve the path: " + ec.message()}}};
    full = full.lexically_normal();
    auto text = read_config_text(full);
    if (!text) return text.error();
    auto parsed = parse_config(*text, full.parent_path());
    if (!parsed) return parsed;
    parsed->file = full;
    return parsed;
}

}  // namespace ferry::relayer

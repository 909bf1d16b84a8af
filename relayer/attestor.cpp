#include "relayer/attestor.hpp"

#include "crypto/eip191.hpp"
#include "crypto/secp256k1.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

namespace ferry::relayer {

namespace evm = chains::evm;
using chains::Task;
using nlohmann::json;

struct Attestor::Endpoint {
    crypto::Address address;
    std::string url;
    std::unique_ptr<evm::RpcClient> rpc;
    bool busy = false;
    std::string last_error;
};

namespace {

struct Answer {
    std::shared_ptr<Attestor::Endpoint> endpoint;
    evm::RpcResult<json> result;
};

/// Outcome of checking one validator's answer (runs on the thread pool).
struct Checked {
    std::vector<storage::Attestation> valid;
    std::map<std::string, std::uint64_t> refused;  // reason → count
    std::string error;                             // the answer as a whole was unusable
};

Checked check_answer(const crypto::Address& validator, const json& result,
                     const std::unordered_map<crypto::PacketId, crypto::Nonce>& wanted,
                     crypto::ChainId src, const crypto::Address& outbox) {
    Checked out;
    if (!result.is_object() || !result.contains("attestations") ||
        !result["attestations"].is_array()) {
        out.error = "answer has no attestations array";
        ++out.refused["malformed"];
        return out;
    }
    const auto& secp = crypto::Secp256k1Context::instance();
    for (const auto& item : result["attestations"]) {
        if (!item.is_object() || !item.contains("id") || !item["id"].is_string() ||
            !item.contains("signature") || !item["signature"].is_string()) {
            ++out.refused["malformed"];
            continue;
        }
        auto id = crypto::PacketId::from_hex(item["id"].get<std::string>());
        auto sig = crypto::Signature::from_hex(item["signature"].get<std::string>());
        if (!id || !sig) {
            ++out.refused["malformed"];
            continue;
        }
        if (wanted.count(*id) == 0) continue;  // not one we asked about (or not observed yet)
        const auto digest = crypto::attestation_digest(src, outbox, *id);
        auto signer = secp.recover_address(digest, *sig);
        if (!signer) {
            ++out.refused["invalid_signature"];
            continue;
        }
        if (*signer != validator) {
            ++out.refused["wrong_signer"];
            continue;
        }
        out.valid.push_back({*id, validator, *sig});
    }
    return out;
}

}  // namespace

struct Attestor::Fetch {
    explicit Fetch(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    std::size_t outstanding = 0;
    std::vector<Answer> answers;
    boost::asio::steady_timer timer;
};

Attestor::Attestor(const RouteConfig& route, const ValidatorSetConfig& validators,
                   ChainRuntime& dst, storage::Queue& queue, NodeCounters& counters,
                   RouteWaiting& waiting, const LimitsConfig& limits,
                   boost::asio::thread_pool& pool, std::function<void()> on_attested,
                   boost::asio::any_io_executor executor)
    : route_(&route),
      config_(&validators),
      dst_(&dst),
      queue_(&queue),
      counters_(&counters),
      waiting_(&waiting),
      limits_(limits),
      pool_(&pool),
      on_attested_(std::move(on_attested)),
      executor_(executor),
      wake_(executor) {
    for (const auto& v : validators.validators) {
        auto e = std::make_shared<Endpoint>();
        e->address = v.address;
        e->url = v.url;
        evm::RpcClientConfig rc;
        rc.endpoints = {v.url};
        rc.http.connect_timeout = std::chrono::milliseconds(limits.attestation_timeout_ms);
        rc.http.request_timeout = std::chrono::milliseconds(limits.attestation_timeout_ms);
        rc.http.max_response_bytes = 8 * 1024 * 1024;
        rc.max_consecutive_failures = 1'000'000;  // one endpoint: never demote it
        auto client = evm::RpcClient::create(executor, std::move(rc));
        if (client) {
            e->rpc = std::make_unique<evm::RpcClient>(std::move(*client));
        } else {
            e->last_error = client.error().message;
            spdlog::error("attestor {}: validator endpoint: {} route={} validator={}",
                          storage::route_name(this->route()), e->last_error,
                          storage::route_name(this->route()), v.address.hex());
        }
        endpoints_.push_back(std::move(e));
    }
}

Attestor::~Attestor() = default;

void Attestor::set_waiting(std::string why) {
    auto& slot = (*waiting_)[route()];
    if (!why.empty() && why != slot)
        spdlog::warn("attestor {}: waiting: {} route={}", storage::route_name(route()), why,
                     storage::route_name(route()));
    slot = std::move(why);
}

Task<bool> Attestor::load_validator_set() {
    if (set_ && std::chrono::steady_clock::now() - set_loaded_at_ < std::chrono::minutes(1))
        co_return true;
    const auto& inbox = dst_->config->inbox;
    auto returned = co_await dst_->chain->validator_set(*inbox, route_->src);
    if (!returned) {
        set_waiting("cannot read the validator set from the " + dst_->config->name +
                    " Inbox: " + describe(returned.error()));
        co_return set_.has_value();
    }
    auto set = std::move(*returned);
    if (!set) {
        set_waiting("the " + dst_->config->name + " Inbox answered validatorSet() with " +
                    set.error().message());
        co_return set_.has_value();
    }
    if (set->threshold == 0 || set->validators.empty()) {
        set_waiting("the " + dst_->config->name + " Inbox has no validator set for source " +
                    route_->from + " (configureSource was not called)");
        co_return false;
    }
    std::set<crypto::Address> on_chain(set->validators.begin(), set->validators.end());
    std::set<crypto::Address> configured;
    for (const auto& v : config_->validators) configured.insert(v.address);
    if (on_chain != configured || set->threshold != config_->threshold) {
        const std::string what = "validator set of " + route_->from + " in the " +
                                 dst_->config->name + " Inbox (" +
                                 std::to_string(set->validators.size()) +
                                 " validators, threshold " + std::to_string(set->threshold) +
                                 ") differs from the config (" + std::to_string(configured.size()) +
                                 ", threshold " + std::to_string(config_->threshold) + ")";
        if (config_->pin) {
            spdlog::error("attestor {}: {}; the set is pinned: not attesting route={}",
                          storage::route_name(route()), what, storage::route_name(route()));
            set_waiting(what + "; pinned in the config, so nothing is attested");
            set_.reset();
            co_return false;
        }
        spdlog::warn("attestor {}: {}; using the Inbox's set route={}",
                     storage::route_name(route()), what, storage::route_name(route()));
    }
    set_ = std::move(*set);
    set_loaded_at_ = std::chrono::steady_clock::now();
    co_return true;
}

Task<void> Attestor::run() {
    while (!wake_.closed()) {
        std::size_t n = 0;
        try {
            if (co_await load_validator_set()) n = co_await step();
        } catch (const std::exception& e) {
            spdlog::error("attestor {}: internal error: {}", storage::route_name(route()),
                          e.what());
        }
        // Packets still short of signatures: ask again soon (validators may lag a poll).
        if (n == 0)
            co_await wake_.wait(std::chrono::milliseconds(short_of_threshold_ ? 300 : 1000));
    }
}

/// One round over a window of observed packets: what is asked and what came back.
struct Attestor::Round {
    std::vector<storage::PacketRecord> packets;
    std::uint64_t first = 0;  ///< nonce window asked of the validators
    std::uint64_t last = 0;
    std::unordered_map<crypto::PacketId, crypto::Nonce> wanted;
    std::set<crypto::Address> members;
    std::size_t threshold = 0;
    crypto::Address outbox;
    std::unordered_map<crypto::PacketId, std::set<crypto::Address>> have;
    std::vector<storage::Attestation> valid;
    std::map<crypto::Address, std::string> unreachable;

    bool complete() const {
        if (have.size() < wanted.size()) return false;
        return std::all_of(have.begin(), have.end(),
                           [&](const auto& kv) { return kv.second.size() >= threshold; });
    }
};

Task<std::size_t> Attestor::step() {
    short_of_threshold_ = false;
    Round round;
    if (!read_observed(round)) co_return 0;
    auto fetch = ask_validators(round);
    co_await collect(round, *fetch);
    auto ready = commit(round);
    if (!ready) co_return 0;
    report_shortfall(round, ready->size());
    co_return ready->size();
}

bool Attestor::read_observed(Round& round) {
    const storage::Route r = route();
    storage::PacketFilter filter;
    filter.state = storage::PacketState::observed;
    filter.route = r;
    filter.limit = limits_.attestation_batch;
    auto page = queue_->list_packets(filter);
    if (!page) {
        spdlog::error("attestor {}: reading observed packets: {}", storage::route_name(r),
                      queue_->last_error());
        return false;
    }
    if (page->packets.empty()) {
        set_waiting({});
        return false;
    }
    round.packets = std::move(page->packets);
    round.first = crypto::to_u64(round.packets.front().nonce);
    round.last = std::min(crypto::to_u64(round.packets.back().nonce), round.first + 999);
    for (const auto& p : round.packets)
        if (crypto::to_u64(p.nonce) <= round.last) round.wanted.emplace(p.id, p.nonce);

    round.members = std::set<crypto::Address>(set_->validators.begin(), set_->validators.end());
    round.threshold = set_->threshold;
    round.outbox = set_->outbox;
    return true;
}

std::shared_ptr<Attestor::Fetch> Attestor::ask_validators(Round& round) {
    const storage::Route r = route();
    // Ask every member with an endpoint, concurrently; one request per validator at a time.
    auto fetch = std::make_shared<Fetch>(executor_);
    const json params = {{"src", crypto::to_u64(r.src)},
                         {"dst", crypto::to_u64(r.dst)},
                         {"from_nonce", round.first},
                         {"to_nonce", round.last}};
    for (const auto& e : endpoints_) {
        if (!e->rpc || e->busy || round.members.count(e->address) == 0) continue;
        e->busy = true;
        ++fetch->outstanding;
        boost::asio::co_spawn(
            executor_,
            [e, fetch, params]() -> Task<void> {
                std::string method = "ferry_getAttestations";
                json p = params;
                auto result = co_await e->rpc->request(std::move(method), std::move(p));
                e->busy = false;
                fetch->answers.push_back({e, std::move(result)});
                --fetch->outstanding;
                fetch->timer.cancel();
            },
            boost::asio::detached);
    }
    for (const auto& e : endpoints_)
        if (round.members.count(e->address) != 0 && !e->rpc)
            round.unreachable[e->address] = e->last_error;
    return fetch;
}

Task<void> Attestor::collect(Round& round, Fetch& fetch) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(limits_.attestation_timeout_ms + 500);
    for (;;) {
        co_await check_answers(round, fetch);
        if (round.complete() || fetch.outstanding == 0 ||
            std::chrono::steady_clock::now() >= deadline)
            break;
        fetch.timer.expires_at(deadline);
        boost::system::error_code ec;
        co_await fetch.timer.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
}

Task<void> Attestor::check_answers(Round& round, Fetch& fetch) {
    const storage::Route r = route();
    while (!fetch.answers.empty()) {
        Answer answer = std::move(fetch.answers.back());
        fetch.answers.pop_back();
        auto& e = *answer.endpoint;
        if (!answer.result) {
            e.last_error = describe(answer.result.error());
            round.unreachable[e.address] = e.last_error;
            ++counters_->attestations_refused["unreachable"];
            continue;
        }
        const crypto::Address validator = e.address;
        const json body = std::move(*answer.result);
        // Recovery runs on the pool. The lambda captures only trivially destructible values
        // (g++ 12 mishandles non-trivial temporaries inside a co_await expression).
        const json* body_ptr = &body;
        const auto* wanted_ptr = &round.wanted;
        const crypto::ChainId src = r.src;
        const crypto::Address outbox = round.outbox;
        auto work = [validator, body_ptr, wanted_ptr, src, outbox]() -> Task<Checked> {
            co_return check_answer(validator, *body_ptr, *wanted_ptr, src, outbox);
        };
        Checked checked =
            co_await boost::asio::co_spawn(pool_->get_executor(), work, boost::asio::use_awaitable);
        for (const auto& [reason, n] : checked.refused) {
            counters_->attestations_refused[reason] += n;
            spdlog::warn("attestor {}: refused {} signatures: {} route={} validator={} count={}",
                         storage::route_name(r), n, reason, storage::route_name(r), validator.hex(),
                         n);
        }
        e.last_error = checked.error;
        counters_->attestations_accepted += checked.valid.size();
        for (auto& a : checked.valid) {
            round.have[a.packet].insert(a.validator);
            round.valid.push_back(std::move(a));
        }
    }
}

std::optional<std::vector<crypto::PacketId>> Attestor::commit(const Round& round) {
    const storage::Route r = route();
    const auto now = now_ms();
    std::vector<crypto::PacketId> ready;
    for (const auto& p : round.packets) {
        const auto it = round.have.find(p.id);
        if (it != round.have.end() && it->second.size() >= round.threshold) ready.push_back(p.id);
    }
    if (!round.valid.empty()) {
        if (auto s = queue_->store_attestations(round.valid, now); !s) {
            spdlog::error("attestor {}: storing signatures: {}", storage::route_name(r),
                          queue_->last_error());
            return std::nullopt;
        }
    }
    if (!ready.empty()) {
        if (auto m = queue_->mark_attested(ready, now); !m) {
            spdlog::error("attestor {}: marking attested: {}", storage::route_name(r),
                          queue_->last_error());
            return std::nullopt;
        }
        for (const auto& id : ready)
            spdlog::debug("attestor {}: packet attested id={} route={} nonce={}",
                          storage::route_name(r), id.hex(), storage::route_name(r),
                          crypto::to_u64(round.wanted.at(id)));
        spdlog::info("attestor {}: {} packets attested route={} nonces={}..{} count={}",
                     storage::route_name(r), ready.size(), storage::route_name(r), round.first,
                     round.last, ready.size());
        on_attested_();
    }
    return ready;
}

void Attestor::report_shortfall(const Round& round, std::size_t ready) {
    if (ready >= round.wanted.size()) {
        set_waiting({});
        return;
    }
    short_of_threshold_ = true;
    std::string why = std::to_string(round.wanted.size() - ready) + " packets have fewer than " +
                      std::to_string(round.threshold) + " of " +
                      std::to_string(round.members.size()) + " validator signatures";
    for (const auto& [address, error] : round.unreachable)
        why += "; validator " + address.hex() + " unreachable: " + error;
    set_waiting(std::move(why));
}

}  // namespace ferry::relayer

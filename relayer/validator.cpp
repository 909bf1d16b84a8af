#include "relayer/validator.hpp"

#include "relayer/logging.hpp"

#include "crypto/eip191.hpp"
#include "crypto/secp256k1.hpp"

#include <spdlog/spdlog.h>

#include <limits>
#include <utility>

namespace ferry::relayer {

using api::MethodResult;
using api::RpcMethodError;

using chains::Task;
using nlohmann::json;

ValidatorRole::ValidatorRole(ChainRuntime& chain, storage::Queue& queue, NodeCounters& counters,
                             crypto::PrivateKey key, crypto::Address self, crypto::Address outbox,
                             boost::asio::any_io_executor executor)
    : chain_(&chain),
      queue_(&queue),
      counters_(&counters),
      key_(std::move(key)),
      self_(self),
      outbox_(outbox),
      wake_(std::move(executor)) {}

std::size_t ValidatorRole::sign_pending() {
    storage::PacketFilter filter;
    filter.state = storage::PacketState::observed;
    filter.limit = 500;
    auto page = queue_->list_packets(filter);
    if (!page) {
        spdlog::error("validator: reading observed packets: {}", queue_->last_error());
        return 0;
    }
    if (page->packets.empty()) return 0;
    const auto& secp = crypto::Secp256k1Context::instance();
    std::vector<storage::Attestation> signed_now;
    std::vector<crypto::PacketId> ids;
    signed_now.reserve(page->packets.size());
    for (const auto& p : page->packets) {
        // Only packets of our own Outbox reach this queue (the watcher filters by address).
        const auto digest = crypto::attestation_digest(p.route.src, outbox_, p.id);
        auto sig = secp.sign(digest, key_);
        if (!sig) {
            spdlog::error("validator: signing failed: {} {}", sig.error().message(),
                          packet_fields(p));
            continue;
        }
        signed_now.push_back({p.id, self_, *sig});
        ids.push_back(p.id);
    }
    const auto now = now_ms();
    if (auto r = queue_->store_attestations(signed_now, now); !r) {
        spdlog::error("validator: storing signatures: {}", queue_->last_error());
        return 0;
    }
    if (auto r = queue_->mark_attested(ids, now); !r) {
        spdlog::error("validator: marking signed: {}", queue_->last_error());
        return 0;
    }
    counters_->attestations_signed += ids.size();
    for (const auto& p : page->packets)
        spdlog::debug("validator: packet signed {}", packet_fields(p));
    spdlog::info("validator: signed {} packets route={} nonces={}..{} count={}", ids.size(),
                 storage::route_name(page->packets.front().route),
                 crypto::to_u64(page->packets.front().nonce),
                 crypto::to_u64(page->packets.back().nonce), ids.size());
    return ids.size();
}

Task<void> ValidatorRole::run() {
    while (!wake_.closed()) {
        std::size_t n = 0;
        try {
            n = sign_pending();
        } catch (const std::exception& e) {
            spdlog::error("validator: internal error: {}", e.what());
        }
        if (n == 0) co_await wake_.wait(std::chrono::milliseconds(1000));
    }
}

namespace {

RpcMethodError invalid_params(std::string message) {
    return RpcMethodError{-32602, std::move(message), nullptr};
}

std::optional<std::uint64_t> u64_param(const json& params, const char* key) {
    const auto it = params.find(key);
    if (it == params.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<std::uint64_t>();
}

}  // namespace

MethodResult ValidatorRole::get_attestations(const json& params) {
    if (!params.is_object())
        return invalid_params("params must be an object {dst, from_nonce, to_nonce}");
    const auto dst = u64_param(params, "dst");
    const auto from = u64_param(params, "from_nonce");
    const auto to = u64_param(params, "to_nonce");
    if (!dst || *dst == 0) return invalid_params("dst: expected a chain id (unsigned integer > 0)");
    if (!from || *from == 0) return invalid_params("from_nonce: expected an unsigned integer >= 1");
    if (!to || *to < *from)
        return invalid_params("to_nonce: expected an unsigned integer >= from_nonce");
    if (*to - *from >= kMaxAttestationSpan)
        return invalid_params("to_nonce - from_nonce + 1 must be at most " +
                              std::to_string(kMaxAttestationSpan));
    const crypto::ChainId src = chain_->config->chain_id;
    if (params.contains("src")) {
        const auto s = u64_param(params, "src");
        if (!s) return invalid_params("src: expected an unsigned integer");
        if (crypto::ChainId{*s} != src)
            return invalid_params("src: this validator attests chain " +
                                  std::to_string(crypto::to_u64(src)) + " only");
    }
    const storage::Route route{src, crypto::ChainId{*dst}};
    storage::PacketFilter filter;
    filter.route = route;
    filter.state = storage::PacketState::attested;
    filter.after =
        storage::PageKey{route, crypto::Nonce{*from - 1},
                         static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())};
    filter.limit = static_cast<std::size_t>(*to - *from + 1);
    auto page = queue_->list_packets(filter);
    if (!page) return RpcMethodError{-32603, "reading the validator's queue failed", nullptr};
    json list = json::array();
    for (const auto& p : page->packets) {
        if (crypto::to_u64(p.nonce) > *to) break;
        if (crypto::to_u64(p.nonce) < *from) continue;
        auto atts = queue_->attestations(p.id);
        if (!atts) return RpcMethodError{-32603, "reading signatures failed", nullptr};
        for (const auto& a : *atts) {
            if (a.validator != self_) continue;
            list.push_back({{"nonce", crypto::to_u64(p.nonce)},
                            {"id", p.id.hex()},
                            {"signature", a.signature.hex()}});
        }
    }
    json result = {{"validator", self_.hex()},
                   {"chain_id", crypto::to_u64(src)},
                   {"outbox", outbox_.hex()},
                   {"scanned_block", chain_->scanned_block.value_or(0)},
                   {"attestations", std::move(list)}};
    return result;
}

}  // namespace ferry::relayer

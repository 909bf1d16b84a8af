// The validator role (docs/design.md §1): its own watcher fills its own queue with the Outbox's
// confirmed packets; the signer signs each one's attestation digest (docs/design.md §2) and keeps
// the signature in that queue; ferry_getAttestations serves them by route and nonce range.
#pragma once

#include "api/api_server.hpp"
#include "relayer/runtime.hpp"

#include <nlohmann/json.hpp>

namespace ferry::relayer {

class ValidatorRole {
public:
    ValidatorRole(ChainRuntime& chain, storage::Queue& queue, NodeCounters& counters,
                  crypto::PrivateKey key, crypto::Address self, crypto::Address outbox,
                  boost::asio::any_io_executor executor);

    /// Signs newly observed packets until stop().
    chains::Task<void> run();
    void notify() noexcept { wake_.notify(); }
    void stop() noexcept { wake_.close(); }

    const crypto::Address& address() const noexcept { return self_; }

    /// ferry_getAttestations (see docs/api.md): params {dst, from_nonce, to_nonce[, src]}.
    api::MethodResult get_attestations(const nlohmann::json& params);

    /// Signs up to one page of observed packets (what run() repeats); returns how many.
    std::size_t sign_pending();

private:
    ChainRuntime* chain_;
    storage::Queue* queue_;
    NodeCounters* counters_;
    crypto::PrivateKey key_;
    crypto::Address self_;
    crypto::Address outbox_;
    Wakeup wake_;
};

/// Largest nonce span one ferry_getAttestations request may ask for.
inline constexpr std::uint64_t kMaxAttestationSpan = 1000;

}  // namespace ferry::relayer

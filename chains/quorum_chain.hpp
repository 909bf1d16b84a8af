// A chain read through several independent endpoints that must agree (docs/design.md §6,
// "RPC quorum"): what decides which packets exist — the head, block hashes and logs — is
// taken only when `quorum` endpoints say the same; everything else (calls, fees, nonces,
// receipts, sending) goes to one chain that falls back across the endpoints.
#pragma once

#include "chains/chain.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::chains {

/// One endpoint of a quorum and how often it was outvoted.
struct QuorumMember {
    std::string name;  ///< redacted URL, for logs and metrics
    std::unique_ptr<Chain> chain;
    /// Logs or block hashes it reported that the quorum refused, and logs the quorum accepted
    /// that it left out.
    std::uint64_t disagreements = 0;
    std::string last_disagreement;      ///< what the last one was, for logs and status
    std::optional<std::uint64_t> head;  ///< its last head, from head()
};

/// The quorum rules, with n members and quorum k (1 <= k <= n):
/// - head: the k-th highest head among the members that answered (at least k must answer);
/// - block(n): the header k members return with the same hash;
/// - logs: at least k members must answer; a log that k of them return is taken; a log fewer
///   return is refused once the members that did not answer for the whole range (an error, or
///   a last head below the range's end) could not lift it to k — then its reporters are
///   counted as disagreeing — and otherwise the whole answer waits (an error), so no packet is
///   dropped nor taken on too few words.
class QuorumChain final : public Chain {
public:
    /// `primary` serves every method the quorum does not decide; `members` are the endpoints
    /// one by one. Requires 1 <= quorum <= members.size().
    QuorumChain(std::unique_ptr<Chain> primary, std::vector<QuorumMember> members,
                std::size_t quorum);

    const std::vector<QuorumMember>& members() const noexcept { return members_; }
    std::size_t quorum() const noexcept { return quorum_; }

    Task<RequestResult<std::uint64_t>> chain_id() override;
    Task<RequestResult<std::uint64_t>> head() override;
    Task<RequestResult<std::optional<evm::BlockHeader>>> block(evm::BlockId id) override;
    Task<RequestResult<std::vector<evm::Log>>> logs(evm::LogFilter filter) override;

    Task<RequestResult<crypto::Bytes>> call(evm::CallRequest request) override;
    Task<RequestResult<crypto::Bytes>> call_at(evm::CallRequest request,
                                               std::uint64_t block) override;
    Task<RequestResult<std::uint64_t>> estimate_gas(evm::CallRequest request) override;
    Task<RequestResult<FeeQuote>> fee_quote(bool with_priority_fee) override;
    Task<RequestResult<std::uint64_t>> account_nonce(crypto::Address account, NonceAt at) override;
    Task<RequestResult<evm::U256>> balance(crypto::Address account) override;
    Task<RequestResult<crypto::Hash32>> send_raw(crypto::Bytes raw) override;
    Task<RequestResult<std::optional<evm::Receipt>>> receipt(crypto::Hash32 tx) override;
    Task<std::optional<std::uint64_t>> transaction_nonce(crypto::Hash32 tx) override;
    Task<ViewResult<crypto::Nonce>> next_inbound_nonce(crypto::Address inbox,
                                                       crypto::ChainId src) override;
    Task<ViewResult<bool>> delivered(crypto::Address inbox, crypto::PacketId id) override;
    Task<ViewResult<evm::ValidatorSet>> validator_set(crypto::Address inbox,
                                                      crypto::ChainId src) override;
    Task<ViewResult<std::uint64_t>> handle_gas_limit(crypto::Address inbox) override;

private:
    std::unique_ptr<Chain> primary_;
    std::vector<QuorumMember> members_;
    std::size_t quorum_;

    void disagree(std::size_t member, std::string what);
    /// The header of block `number` that `quorum_` members return with one hash.
    Task<RequestResult<std::optional<evm::BlockHeader>>> block_by_number(std::uint64_t number);
};

}  // namespace ferry::chains

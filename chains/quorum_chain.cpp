#include "chains/quorum_chain.hpp"

#include "chains/evm/rpc_error.hpp"
#include "crypto/hex.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace ferry::chains {
namespace {

using Code = evm::RpcError::Code;

RequestError quorum_error(std::string message) {
    return evm::make_rpc_error(Code::node_error, "quorum: " + std::move(message));
}

std::string log_name(const evm::Log& log) {
    return "log " + std::to_string(log.log_index) + " of block " +
           std::to_string(log.block_number) + " (tx " + log.tx_hash.hex() + ")";
}

}  // namespace

QuorumChain::QuorumChain(std::unique_ptr<Chain> primary, std::vector<QuorumMember> members,
                         std::size_t quorum)
    : primary_(std::move(primary)), members_(std::move(members)), quorum_(quorum) {
    if (!primary_ || quorum_ == 0 || quorum_ > members_.size())
        throw std::invalid_argument("QuorumChain: needs a primary and 1 <= quorum <= members");
}

void QuorumChain::disagree(std::size_t member, std::string what) {
    auto& m = members_[member];
    ++m.disagreements;
    m.last_disagreement = std::move(what);
}

Task<RequestResult<std::uint64_t>> QuorumChain::chain_id() { return primary_->chain_id(); }

Task<RequestResult<std::uint64_t>> QuorumChain::head() {
    std::vector<std::uint64_t> heads;
    std::string errors;
    for (auto& m : members_) {
        auto h = co_await m.chain->head();
        if (h) {
            heads.push_back(*h);
            m.head = *h;
        } else {
            errors += "; " + m.name + ": " + h.error().message;
        }
    }
    if (heads.size() < quorum_)
        co_return quorum_error(std::to_string(heads.size()) + " of " +
                               std::to_string(members_.size()) + " endpoints gave a head, " +
                               std::to_string(quorum_) + " needed" + errors);
    std::sort(heads.begin(), heads.end(), std::greater<>());
    co_return heads[quorum_ - 1];  // as far as `quorum_` endpoints have come
}

Task<RequestResult<std::optional<evm::BlockHeader>>> QuorumChain::block_by_number(
    std::uint64_t number) {
    std::vector<std::optional<evm::BlockHeader>> answers(members_.size());
    std::vector<bool> answered(members_.size(), false);
    std::size_t count = 0;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        auto b = co_await members_[i].chain->block(number);
        if (!b) continue;
        answered[i] = true;
        answers[i] = std::move(*b);
        ++count;
    }
    if (count < quorum_)
        co_return quorum_error(std::to_string(count) + " of " + std::to_string(members_.size()) +
                               " endpoints answered for block " + std::to_string(number));
    std::map<crypto::Hash32, std::size_t> votes;
    std::size_t absent = 0;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (!answered[i]) continue;
        if (answers[i]) {
            ++votes[answers[i]->hash];
        } else {
            ++absent;
        }
    }
    for (const auto& [hash, n] : votes) {
        if (n < quorum_) continue;
        std::optional<evm::BlockHeader> winner;
        for (std::size_t i = 0; i < members_.size(); ++i) {
            if (!answers[i]) continue;
            if (answers[i]->hash == hash) {
                if (!winner) winner = answers[i];
            } else {
                disagree(i, "block " + std::to_string(number) + " has hash " +
                                answers[i]->hash.hex() + ", the quorum says " + hash.hex());
            }
        }
        co_return winner;
    }
    if (absent >= quorum_) co_return std::optional<evm::BlockHeader>();
    co_return quorum_error("no " + std::to_string(quorum_) + " endpoints agree on block " +
                           std::to_string(number));
}

Task<RequestResult<std::optional<evm::BlockHeader>>> QuorumChain::block(evm::BlockId id) {
    if (const auto* number = std::get_if<std::uint64_t>(&id))
        co_return co_await block_by_number(*number);
    // A tag (latest, finalized, …): the k-th highest block the members name, then that block
    // by quorum.
    std::vector<std::uint64_t> numbers;
    for (auto& m : members_) {
        auto b = co_await m.chain->block(id);
        if (b && *b) numbers.push_back((*b)->number);
    }
    if (numbers.size() < quorum_)
        co_return quorum_error(std::to_string(numbers.size()) + " of " +
                               std::to_string(members_.size()) +
                               " endpoints named a block for the tag");
    std::sort(numbers.begin(), numbers.end(), std::greater<>());
    co_return co_await block_by_number(numbers[quorum_ - 1]);
}

Task<RequestResult<std::vector<evm::Log>>> QuorumChain::logs(evm::LogFilter filter) {
    using Key = std::tuple<std::uint64_t, std::uint64_t, crypto::Hash32>;
    struct Vote {
        evm::Log log;
        std::vector<std::size_t> members;
    };
    std::map<Key, std::vector<Vote>> votes;
    std::vector<bool> answered(members_.size(), false);
    std::size_t count = 0;
    std::string errors;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        auto got = co_await members_[i].chain->logs(filter);
        if (!got) {
            errors += "; " + members_[i].name + ": " + got.error().message;
            continue;
        }
        answered[i] = true;
        ++count;
        for (auto& log : *got) {
            auto& same_place = votes[Key{log.block_number, log.log_index, log.tx_hash}];
            auto it = std::find_if(same_place.begin(), same_place.end(),
                                   [&](const Vote& v) { return v.log == log; });
            if (it == same_place.end()) {
                same_place.push_back({std::move(log), {i}});
            } else if (std::find(it->members.begin(), it->members.end(), i) == it->members.end()) {
                it->members.push_back(i);
            }
        }
    }
    const std::string range =
        "blocks " + std::to_string(filter.from_block) + ".." + std::to_string(filter.to_block);
    if (count < quorum_)
        co_return quorum_error(std::to_string(count) + " of " + std::to_string(members_.size()) +
                               " endpoints answered eth_getLogs for " + range + ", " +
                               std::to_string(quorum_) + " needed" + errors);
    // Members that could not see the whole range cannot outvote a log in it.
    std::size_t silent = 0;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        const auto& h = members_[i].head;
        if (answered[i] && h && *h < filter.to_block) answered[i] = false;
        if (!answered[i]) ++silent;
    }
    std::vector<evm::Log> out;
    for (auto& [key, candidates] : votes) {
        for (auto& v : candidates) {
            if (v.members.size() >= quorum_) {
                for (std::size_t i = 0; i < members_.size(); ++i)
                    if (answered[i] &&
                        std::find(v.members.begin(), v.members.end(), i) == v.members.end())
                        disagree(i, "left out " + log_name(v.log));
                out.push_back(std::move(v.log));
            } else if (v.members.size() + silent >= quorum_) {
                // The endpoints that did not answer could still confirm it: wait for them.
                co_return quorum_error(log_name(v.log) + " is reported by " +
                                       std::to_string(v.members.size()) + " of " +
                                       std::to_string(members_.size()) + " endpoints, " +
                                       std::to_string(quorum_) + " needed" + errors);
            } else {
                for (const auto i : v.members)
                    disagree(i, "reported " + log_name(v.log) + " that no quorum confirms");
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const evm::Log& a, const evm::Log& b) {
        return std::tie(a.block_number, a.log_index) < std::tie(b.block_number, b.log_index);
    });
    co_return out;
}

// ---- the rest goes to the primary ----

Task<RequestResult<crypto::Bytes>> QuorumChain::call(evm::CallRequest request) {
    return primary_->call(std::move(request));
}
Task<RequestResult<crypto::Bytes>> QuorumChain::call_at(evm::CallRequest request,
                                                        std::uint64_t block) {
    return primary_->call_at(std::move(request), block);
}
Task<RequestResult<std::uint64_t>> QuorumChain::estimate_gas(evm::CallRequest request) {
    return primary_->estimate_gas(std::move(request));
}
Task<RequestResult<FeeQuote>> QuorumChain::fee_quote(bool with_priority_fee) {
    return primary_->fee_quote(with_priority_fee);
}
Task<RequestResult<std::uint64_t>> QuorumChain::account_nonce(crypto::Address account, NonceAt at) {
    return primary_->account_nonce(account, at);
}
Task<RequestResult<evm::U256>> QuorumChain::balance(crypto::Address account) {
    return primary_->balance(account);
}
Task<RequestResult<crypto::Hash32>> QuorumChain::send_raw(crypto::Bytes raw) {
    return primary_->send_raw(std::move(raw));
}
Task<RequestResult<std::optional<evm::Receipt>>> QuorumChain::receipt(crypto::Hash32 tx) {
    return primary_->receipt(tx);
}
Task<std::optional<std::uint64_t>> QuorumChain::transaction_nonce(crypto::Hash32 tx) {
    return primary_->transaction_nonce(tx);
}
Task<ViewResult<crypto::Nonce>> QuorumChain::next_inbound_nonce(crypto::Address inbox,
                                                                crypto::ChainId src) {
    return primary_->next_inbound_nonce(inbox, src);
}
Task<ViewResult<bool>> QuorumChain::delivered(crypto::Address inbox, crypto::PacketId id) {
    return primary_->delivered(inbox, id);
}
Task<ViewResult<evm::ValidatorSet>> QuorumChain::validator_set(crypto::Address inbox,
                                                               crypto::ChainId src) {
    return primary_->validator_set(inbox, src);
}
Task<ViewResult<std::uint64_t>> QuorumChain::handle_gas_limit(crypto::Address inbox) {
    return primary_->handle_gas_limit(inbox);
}

}  // namespace ferry::chains

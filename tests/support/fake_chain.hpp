// A scripted chains::Chain for stage unit tests: blocks with hashes, a head, logs (PacketSent
// built with the real ABI and packet encoders), receipts, Ferry's Inbox views, reorgs and
// injected RPC errors per method. Every answer is immediate; it records what was asked.
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/ferry_abi.hpp"
#include "chains/evm/packet.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferry::test {

namespace evm = chains::evm;

class FakeChain final : public chains::Chain {
public:
    explicit FakeChain(crypto::ChainId id) : id_(id) { set_head(0); }

    // ---- blocks ----

    /// Moves the head to `number`, creating the missing blocks (a head below the current one
    /// keeps the blocks above it readable, as a lagging endpoint would).
    void set_head(std::uint64_t number);
    std::uint64_t head_number() const noexcept { return head_; }
    /// Answers BlockTag::finalized with this block (nullopt: no finalized block).
    void set_finalized(std::optional<std::uint64_t> number) { finalized_ = number; }
    /// The hash of block `number` as the chain holds it now.
    crypto::Hash32 block_hash(std::uint64_t number) const;
    /// A reorg: blocks `from`.. get new hashes and their logs are dropped.
    void reorg_from(std::uint64_t from);
    void set_base_fee(std::optional<std::uint64_t> wei) { base_fee_ = wei; }

    // ---- logs ----

    /// Adds a log to block `log.block_number` (its block hash and index are filled in).
    void add_log(evm::Log log);
    /// The PacketSent log the Outbox at `outbox` emits for `packet`, at `block`.
    static evm::Log packet_sent_log(const evm::Packet& packet, const crypto::Address& outbox,
                                    std::uint64_t block);
    /// The PacketDelivered log the Inbox at `inbox` emits for `packet` (`success`: the
    /// recipient did not revert), at `block`.
    static evm::Log packet_delivered_log(const evm::Packet& packet, const crypto::Address& inbox,
                                         std::uint64_t block, bool success = true);
    /// A node that ignores the filter's addresses and topics (only the range is honoured).
    void ignore_log_filter(bool ignore) { ignore_filter_ = ignore; }

    // ---- accounts, receipts, views ----

    void set_account_nonce(const crypto::Address& a, std::uint64_t latest, std::uint64_t pending);
    /// The next request for the latest account nonce answers `latest` once, whatever the
    /// account (a count read just before a transaction was mined).
    void answer_next_latest_nonce(std::uint64_t latest) { stale_latest_.push_back(latest); }
    void set_balance(const crypto::Address& a, std::uint64_t wei);
    void set_receipt(const crypto::Hash32& tx, evm::Receipt receipt);
    void set_gas_estimate(std::uint64_t gas) { gas_estimate_ = gas; }
    // call() answers empty return data (the stages read the Inbox through the typed views);
    // transaction_nonce() always answers nullopt.
    void set_next_inbound_nonce(crypto::ChainId src, std::uint64_t nonce);
    void set_delivered(const crypto::PacketId& id, bool delivered);
    void set_validator_set(crypto::ChainId src, evm::ValidatorSet set);
    /// Inbox.handleGasLimit() (100 000 unless set).
    void set_handle_gas_limit(std::uint64_t gas) { handle_gas_limit_ = gas; }
    /// Block gas limit of every block (30 000 000 unless set).
    void set_block_gas_limit(std::uint64_t gas) { block_gas_limit_ = gas; }

    // ---- failures ----

    /// The next `times` requests of `method` ("head", "block", "logs", "call", "estimate_gas",
    /// "fee_quote", "account_nonce", "balance", "send_raw", "receipt", "chain_id", "call_at", and
    /// the views "next_inbound_nonce", "delivered", "validator_set", "handle_gas_limit") fail
    /// with `error`.
    void fail_next(const std::string& method, chains::RequestError error, int times = 1);
    /// fail_next() with an execution_reverted error carrying `reason`.
    void revert_next(const std::string& method, std::string reason, int times = 1);
    /// A transient connection failure, as an unreachable endpoint gives.
    static chains::RequestError unreachable();

    // ---- what was asked ----

    /// Called with each raw transaction as send_raw receives it, before it answers.
    void on_send_raw(std::function<void(const crypto::Bytes&)> hook) {
        on_send_raw_ = std::move(hook);
    }
    /// Raw transactions passed to send_raw, in order (also those that were failed).
    const std::vector<crypto::Bytes>& sent() const noexcept { return sent_; }
    /// The filters logs() was asked, in order.
    const std::vector<evm::LogFilter>& log_filters() const noexcept { return log_filters_; }
    /// Requests per method (as named for fail_next).
    std::size_t requests(const std::string& method) const;

    // ---- chains::Chain ----

    chains::Task<chains::RequestResult<std::uint64_t>> chain_id() override;
    chains::Task<chains::RequestResult<std::uint64_t>> head() override;
    chains::Task<chains::RequestResult<std::optional<evm::BlockHeader>>> block(
        evm::BlockId id) override;
    chains::Task<chains::RequestResult<std::vector<evm::Log>>> logs(evm::LogFilter filter) override;
    chains::Task<chains::RequestResult<crypto::Bytes>> call(evm::CallRequest request) override;
    chains::Task<chains::RequestResult<crypto::Bytes>> call_at(evm::CallRequest request,
                                                               std::uint64_t block) override;
    chains::Task<chains::RequestResult<std::uint64_t>> estimate_gas(
        evm::CallRequest request) override;
    chains::Task<chains::RequestResult<chains::FeeQuote>> fee_quote(
        bool with_priority_fee) override;
    chains::Task<chains::RequestResult<std::uint64_t>> account_nonce(crypto::Address account,
                                                                     chains::NonceAt at) override;
    chains::Task<chains::RequestResult<evm::U256>> balance(crypto::Address account) override;
    chains::Task<chains::RequestResult<crypto::Hash32>> send_raw(crypto::Bytes raw) override;
    chains::Task<chains::RequestResult<std::optional<evm::Receipt>>> receipt(
        crypto::Hash32 tx) override;
    chains::Task<std::optional<std::uint64_t>> transaction_nonce(crypto::Hash32 tx) override;
    chains::Task<chains::ViewResult<crypto::Nonce>> next_inbound_nonce(
        crypto::Address inbox, crypto::ChainId src) override;
    chains::Task<chains::ViewResult<bool>> delivered(crypto::Address inbox,
                                                     crypto::PacketId id) override;
    chains::Task<chains::ViewResult<evm::ValidatorSet>> validator_set(crypto::Address inbox,
                                                                      crypto::ChainId src) override;
    chains::Task<chains::ViewResult<std::uint64_t>> handle_gas_limit(
        crypto::Address inbox) override;

private:
    /// Counts the request; the scripted error when one is due.
    std::optional<chains::RequestError> take(const std::string& method);
    std::optional<evm::BlockHeader> header(std::uint64_t number) const;

    crypto::ChainId id_;
    std::uint64_t head_ = 0;
    std::optional<std::uint64_t> finalized_;
    std::map<std::uint64_t, std::uint32_t> block_version_;  // bumped by each reorg
    std::optional<std::uint64_t> base_fee_ = 1'000'000'000;
    std::vector<evm::Log> logs_;
    bool ignore_filter_ = false;
    std::map<crypto::Address, std::pair<std::uint64_t, std::uint64_t>> nonces_;
    std::deque<std::uint64_t> stale_latest_;
    std::map<crypto::Address, std::uint64_t> balances_;
    std::map<crypto::Hash32, evm::Receipt> receipts_;
    std::uint64_t gas_estimate_ = 200'000;
    std::uint64_t handle_gas_limit_ = 100'000;
    std::uint64_t block_gas_limit_ = 30'000'000;
    std::map<crypto::ChainId, std::uint64_t> next_inbound_;
    std::map<crypto::PacketId, bool> delivered_;
    std::map<crypto::ChainId, evm::ValidatorSet> validator_sets_;
    std::map<std::string, std::deque<chains::RequestError>> failures_;
    std::map<std::string, std::size_t> requests_;
    std::vector<crypto::Bytes> sent_;
    std::vector<evm::LogFilter> log_filters_;
    std::function<void(const crypto::Bytes&)> on_send_raw_;
};

}  // namespace ferry::test

#include "tests/support/fake_chain.hpp"

#include "chains/evm/abi.hpp"
#include "crypto/keccak.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace ferry::test {

using chains::RequestResult;
using chains::Task;
using chains::ViewResult;

namespace {

crypto::Hash32 word_of(std::uint64_t v) {
    crypto::Hash32 h;
    for (std::size_t i = 0; i < 8; ++i) h.bytes[31 - i] = static_cast<std::uint8_t>(v >> (8 * i));
    return h;
}

}  // namespace

// ---- blocks ----

void FakeChain::set_head(std::uint64_t number) {
    for (std::uint64_t n = 0; n <= number; ++n) block_version_.try_emplace(n, 0);
    head_ = number;
}

crypto::Hash32 FakeChain::block_hash(std::uint64_t number) const {
    crypto::Hash32 h = word_of(number);
    const auto it = block_version_.find(number);
    const std::uint32_t version = it == block_version_.end() ? 0 : it->second;
    h.bytes[0] = 0xb1;
    for (std::size_t i = 0; i < 4; ++i)
        h.bytes[1 + i] = static_cast<std::uint8_t>(version >> (8 * i));
    const auto chain = crypto::to_u64(id_);
    for (std::size_t i = 0; i < 8; ++i)
        h.bytes[8 + i] = static_cast<std::uint8_t>(chain >> (8 * i));
    return h;
}

void FakeChain::reorg_from(std::uint64_t from) {
    for (auto& [n, version] : block_version_)
        if (n >= from) ++version;
    std::erase_if(logs_, [&](const evm::Log& l) { return l.block_number >= from; });
}

std::optional<evm::BlockHeader> FakeChain::header(std::uint64_t number) const {
    if (block_version_.count(number) == 0) return std::nullopt;
    evm::BlockHeader h;
    h.number = number;
    h.hash = block_hash(number);
    if (number > 0) h.parent_hash = block_hash(number - 1);
    h.timestamp = 1'700'000'000 + number;
    h.gas_limit = block_gas_limit_;
    if (base_fee_) h.base_fee_per_gas = evm::U256::from_u64(*base_fee_);
    return h;
}

// ---- logs ----

void FakeChain::add_log(evm::Log log) {
    if (log.block_number > head_) set_head(log.block_number);
    log.block_hash = block_hash(log.block_number);
    log.log_index = static_cast<std::uint64_t>(
        std::count_if(logs_.begin(), logs_.end(),
                      [&](const evm::Log& l) { return l.block_number == log.block_number; }));
    logs_.push_back(std::move(log));
    std::stable_sort(logs_.begin(), logs_.end(), [](const evm::Log& a, const evm::Log& b) {
        return a.block_number < b.block_number;
    });
}

evm::Log FakeChain::packet_sent_log(const evm::Packet& packet, const crypto::Address& outbox,
                                    std::uint64_t block) {
    const crypto::Bytes encoded = evm::encode(packet);
    evm::Log log;
    log.address = outbox;
    log.topics = {evm::packet_sent_topic(), evm::packet_id(encoded),
                  word_of(crypto::to_u64(packet.dst_chain)), word_of(crypto::to_u64(packet.nonce))};
    log.data = evm::AbiEncoder().add_bytes(encoded).encode();
    log.block_number = block;
    log.tx_hash = crypto::keccak256(encoded);
    return log;
}

evm::Log FakeChain::packet_delivered_log(const evm::Packet& packet, const crypto::Address& inbox,
                                         std::uint64_t block, bool success) {
    const crypto::Bytes encoded = evm::encode(packet);
    evm::Log log;
    log.address = inbox;
    log.topics = {evm::packet_delivered_topic(), evm::packet_id(encoded),
                  word_of(crypto::to_u64(packet.src_chain)), word_of(crypto::to_u64(packet.nonce))};
    log.data = evm::AbiEncoder().add_bool(success).encode();
    log.block_number = block;
    return log;
}

// ---- accounts, receipts, views ----

void FakeChain::set_account_nonce(const crypto::Address& a, std::uint64_t latest,
                                  std::uint64_t pending) {
    nonces_[a] = {latest, pending};
}

void FakeChain::set_balance(const crypto::Address& a, std::uint64_t wei) { balances_[a] = wei; }

void FakeChain::set_receipt(const crypto::Hash32& tx, evm::Receipt receipt) {
    receipts_[tx] = std::move(receipt);
}

void FakeChain::set_next_inbound_nonce(crypto::ChainId src, std::uint64_t nonce) {
    next_inbound_[src] = nonce;
}

void FakeChain::set_delivered(const crypto::PacketId& id, bool delivered) {
    delivered_[id] = delivered;
}

void FakeChain::set_validator_set(crypto::ChainId src, evm::ValidatorSet set) {
    validator_sets_[src] = std::move(set);
}

// ---- failures ----

void FakeChain::fail_next(const std::string& method, chains::RequestError error, int times) {
    for (int i = 0; i < times; ++i) failures_[method].push_back(error);
}

void FakeChain::revert_next(const std::string& method, std::string reason, int times) {
    auto error = evm::make_rpc_error(evm::RpcError::Code::execution_reverted,
                                     "execution reverted: " + reason, "fake");
    error.revert_reason = std::move(reason);
    fail_next(method, std::move(error), times);
}

chains::RequestError FakeChain::unreachable() {
    return evm::make_rpc_error(evm::RpcError::Code::connection_failed, "connection refused",
                               "fake");
}

std::size_t FakeChain::requests(const std::string& method) const {
    const auto it = requests_.find(method);
    return it == requests_.end() ? 0 : it->second;
}

std::optional<chains::RequestError> FakeChain::take(const std::string& method) {
    ++requests_[method];
    auto it = failures_.find(method);
    if (it == failures_.end() || it->second.empty()) return std::nullopt;
    auto error = std::move(it->second.front());
    it->second.pop_front();
    return error;
}

// ---- chains::Chain ----

Task<RequestResult<std::uint64_t>> FakeChain::chain_id() {
    if (auto e = take("chain_id")) co_return *e;
    co_return crypto::to_u64(id_);
}

Task<RequestResult<std::uint64_t>> FakeChain::head() {
    if (auto e = take("head")) co_return *e;
    co_return head_;
}

Task<RequestResult<std::optional<evm::BlockHeader>>> FakeChain::block(evm::BlockId id) {
    if (auto e = take("block")) co_return *e;
    if (const auto* n = std::get_if<std::uint64_t>(&id)) co_return header(*n);
    switch (std::get<evm::BlockTag>(id)) {
        case evm::BlockTag::earliest:
            co_return header(0);
        case evm::BlockTag::finalized:
        case evm::BlockTag::safe:
            if (!finalized_) co_return std::optional<evm::BlockHeader>{};
            co_return header(*finalized_);
        case evm::BlockTag::latest:
        case evm::BlockTag::pending:
            break;
    }
    co_return header(head_);
}

Task<RequestResult<std::vector<evm::Log>>> FakeChain::logs(evm::LogFilter filter) {
    if (auto e = take("logs")) co_return *e;
    log_filters_.push_back(filter);
    auto wanted = [&](const evm::Log& l) {
        if (l.block_number < filter.from_block || l.block_number > filter.to_block) return false;
        if (ignore_filter_) return true;
        if (!filter.addresses.empty() && std::find(filter.addresses.begin(), filter.addresses.end(),
                                                   l.address) == filter.addresses.end())
            return false;
        for (std::size_t i = 0; i < filter.topics.size(); ++i) {
            const auto& accepted = filter.topics[i];
            if (accepted.empty()) continue;
            if (i >= l.topics.size() ||
                std::find(accepted.begin(), accepted.end(), l.topics[i]) == accepted.end())
                return false;
        }
        return true;
    };
    std::vector<evm::Log> out;
    std::copy_if(logs_.begin(), logs_.end(), std::back_inserter(out), wanted);
    co_return out;
}

Task<RequestResult<crypto::Bytes>> FakeChain::call(evm::CallRequest) {
    if (auto e = take("call")) co_return *e;
    co_return crypto::Bytes{};
}

Task<RequestResult<crypto::Bytes>> FakeChain::call_at(evm::CallRequest, std::uint64_t) {
    if (auto e = take("call_at")) co_return *e;
    co_return crypto::Bytes{};
}

Task<RequestResult<std::uint64_t>> FakeChain::estimate_gas(evm::CallRequest) {
    if (auto e = take("estimate_gas")) co_return *e;
    co_return gas_estimate_;
}

Task<RequestResult<chains::FeeQuote>> FakeChain::fee_quote(bool with_priority_fee) {
    if (auto e = take("fee_quote")) co_return *e;
    chains::FeeQuote quote;
    if (base_fee_) quote.base_fee = evm::U256::from_u64(*base_fee_);
    if (with_priority_fee) quote.priority_fee = evm::U256::from_u64(1'000'000'000);
    co_return quote;
}

Task<RequestResult<std::uint64_t>> FakeChain::account_nonce(crypto::Address account,
                                                            chains::NonceAt at) {
    if (auto e = take("account_nonce")) co_return *e;
    if (at == chains::NonceAt::latest && !stale_latest_.empty()) {
        const auto n = stale_latest_.front();
        stale_latest_.pop_front();
        co_return n;
    }
    const auto it = nonces_.find(account);
    if (it == nonces_.end()) co_return std::uint64_t{0};
    co_return at == chains::NonceAt::latest ? it->second.first : it->second.second;
}

Task<RequestResult<evm::U256>> FakeChain::balance(crypto::Address account) {
    if (auto e = take("balance")) co_return *e;
    const auto it = balances_.find(account);
    co_return evm::U256::from_u64(it == balances_.end() ? 0 : it->second);
}

Task<RequestResult<crypto::Hash32>> FakeChain::send_raw(crypto::Bytes raw) {
    sent_.push_back(raw);
    if (on_send_raw_) on_send_raw_(raw);
    if (auto e = take("send_raw")) co_return *e;
    co_return crypto::keccak256(raw);
}

Task<RequestResult<std::optional<evm::Receipt>>> FakeChain::receipt(crypto::Hash32 tx) {
    if (auto e = take("receipt")) co_return *e;
    const auto it = receipts_.find(tx);
    if (it == receipts_.end()) co_return std::optional<evm::Receipt>{};
    co_return std::optional<evm::Receipt>{it->second};
}

Task<std::optional<std::uint64_t>> FakeChain::transaction_nonce(crypto::Hash32) {
    ++requests_["transaction_nonce"];
    co_return std::nullopt;
}

Task<ViewResult<crypto::Nonce>> FakeChain::next_inbound_nonce(crypto::Address,
                                                              crypto::ChainId src) {
    if (auto e = take("next_inbound_nonce")) co_return *e;
    const auto it = next_inbound_.find(src);
    co_return evm::Result<crypto::Nonce>{crypto::Nonce{it == next_inbound_.end() ? 1 : it->second}};
}

Task<ViewResult<std::uint64_t>> FakeChain::handle_gas_limit(crypto::Address) {
    if (auto e = take("handle_gas_limit")) co_return *e;
    co_return evm::Result<std::uint64_t>{handle_gas_limit_};
}

Task<ViewResult<bool>> FakeChain::delivered(crypto::Address, crypto::PacketId id) {
    if (auto e = take("delivered")) co_return *e;
    const auto it = delivered_.find(id);
    co_return evm::Result<bool>{it != delivered_.end() && it->second};
}

Task<ViewResult<evm::ValidatorSet>> FakeChain::validator_set(crypto::Address, crypto::ChainId src) {
    if (auto e = take("validator_set")) co_return *e;
    const auto it = validator_sets_.find(src);
    co_return evm::Result<evm::ValidatorSet>{it == validator_sets_.end() ? evm::ValidatorSet{}
                                                                         : it->second};
}

}  // namespace ferry::test

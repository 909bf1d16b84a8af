#include "tests/support/ferry_chain.hpp"

#include "devnet/devnet.hpp"

#include "chains/evm/abi.hpp"
#include "chains/evm/transaction.hpp"
#include "crypto/eip191.hpp"
#include "crypto/hex.hpp"
#include "crypto/secp256k1.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace ferry::test {
namespace {

using nlohmann::json;

constexpr std::uint64_t kGwei = 1'000'000'000;
constexpr auto kReceiptTimeout = std::chrono::seconds(30);
constexpr auto kReceiptPoll = std::chrono::milliseconds(5);

// secp256k1 group order n, big-endian.
constexpr std::array<std::uint8_t, 32> kCurveOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

crypto::Bytes data_of(const json& j) {
    if (!j.is_string()) throw std::runtime_error("expected hex data, got " + j.dump());
    auto bytes = crypto::from_hex(j.get<std::string>(), crypto::HexPrefix::required);
    if (!bytes) throw std::runtime_error("bad hex data: " + j.dump());
    return std::move(*bytes);
}

template <class Fixed>
Fixed fixed_of(const json& j) {
    if (!j.is_string()) throw std::runtime_error("expected hex, got " + j.dump());
    auto v = Fixed::from_hex(j.get<std::string>());
    if (!v) throw std::runtime_error("bad fixed-size hex: " + j.dump());
    return *v;
}

std::string to_quantity(std::uint64_t v) {
    std::array<char, 16> digits{};
    const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), v, 16);
    if (ec != std::errc{}) throw std::runtime_error("to_chars failed");
    return "0x" + std::string(digits.data(), end);
}

}  // namespace

DevAccount dev_account(std::size_t index) {
    // One copy of anvil's dev keys: the devnet's.
    auto account = devnet::dev_account(index);
    return DevAccount{std::move(account.key), account.address};
}

std::uint64_t quantity_u64(const json& j) {
    if (!j.is_string()) throw std::runtime_error("expected a quantity, got " + j.dump());
    const auto s = j.get<std::string>();
    if (!s.starts_with("0x") || s.size() < 3 || s.size() > 18)
        throw std::runtime_error("bad quantity: " + s);
    std::uint64_t v = 0;
    for (const char c : std::string_view(s).substr(2)) {
        const int d = crypto::hex_digit_value(c);
        if (d < 0) throw std::runtime_error("bad quantity: " + s);
        v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
}

chains::evm::Log parse_log(const json& j) {
    chains::evm::Log log;
    log.address = fixed_of<crypto::Address>(j.at("address"));
    for (const auto& topic : j.at("topics")) log.topics.push_back(fixed_of<crypto::Hash32>(topic));
    log.data = data_of(j.at("data"));
    log.block_number = quantity_u64(j.at("blockNumber"));
    log.block_hash = fixed_of<crypto::Hash32>(j.at("blockHash"));
    log.tx_hash = fixed_of<crypto::Hash32>(j.at("transactionHash"));
    log.log_index = quantity_u64(j.at("logIndex"));
    log.removed = j.value("removed", false);
    return log;
}

std::vector<chains::evm::Log> logs_with_topic(const std::vector<chains::evm::Log>& logs,
                                              const crypto::Hash32& topic0) {
    std::vector<chains::evm::Log> out;
    for (const auto& log : logs)
        if (!log.topics.empty() && log.topics[0] == topic0) out.push_back(log);
    return out;
}

ChainClient::ChainClient(std::string_view url) : rpc_(url) {
    chain_id_ = crypto::ChainId{quantity_u64(rpc_.call("eth_chainId"))};
}

TxReceipt ChainClient::send(const DevAccount& from, const std::optional<crypto::Address>& to,
                            crypto::ByteView data, std::uint64_t gas_limit) {
    chains::evm::Eip1559Tx tx;
    tx.chain_id = chain_id_;
    tx.nonce = quantity_u64(rpc_.call("eth_getTransactionCount", {from.address.hex(), "pending"}));
    const auto base_fee =
        quantity_u64(rpc_.call("eth_getBlockByNumber", {"latest", false}).at("baseFeePerGas"));
    tx.max_priority_fee_per_gas = chains::evm::U256::from_u64(kGwei);
    tx.max_fee_per_gas = chains::evm::U256::from_u64(2 * base_fee + kGwei);
    tx.gas_limit = gas_limit;
    tx.to = to;
    tx.data.assign(data.begin(), data.end());
    const auto signed_tx = chains::evm::sign(tx, from.key);
    if (!signed_tx) throw std::runtime_error("signing failed: " + signed_tx.error().message());

    const auto hash = rpc_.call("eth_sendRawTransaction", {crypto::to_hex(signed_tx->raw)});
    if (fixed_of<crypto::Hash32>(hash) != signed_tx->hash)
        throw std::runtime_error("node reports another tx hash: " + hash.dump());

    const auto deadline = std::chrono::steady_clock::now() + kReceiptTimeout;
    json receipt;
    for (;;) {
        receipt = rpc_.call("eth_getTransactionReceipt", {signed_tx->hash.hex()});
        if (!receipt.is_null()) break;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("no receipt for " + signed_tx->hash.hex());
        std::this_thread::sleep_for(kReceiptPoll);
    }
    TxReceipt out;
    out.tx_hash = signed_tx->hash;
    out.success = quantity_u64(receipt.at("status")) == 1;
    out.gas_used = quantity_u64(receipt.at("gasUsed"));
    out.block_number = quantity_u64(receipt.at("blockNumber"));
    if (const auto& address = receipt.at("contractAddress"); !address.is_null())
        out.contract_address = fixed_of<crypto::Address>(address);
    for (const auto& log : receipt.at("logs")) out.logs.push_back(parse_log(log));
    return out;
}

crypto::Address ChainClient::deploy(const DevAccount& from, chains::evm::Contract contract,
                                    crypto::ByteView constructor_args) {
    crypto::Bytes code = crypto::from_hex(chains::evm::bytecode(contract)).value();
    code.insert(code.end(), constructor_args.begin(), constructor_args.end());
    const auto receipt = send(from, std::nullopt, code);
    if (!receipt.success || !receipt.contract_address)
        throw std::runtime_error("deploying " + std::string(chains::evm::contract_name(contract)) +
                                 " failed");
    return *receipt.contract_address;
}

crypto::Bytes ChainClient::call(const crypto::Address& to, crypto::ByteView data,
                                const std::optional<crypto::Address>& from) {
    json request = {{"to", to.hex()}, {"data", crypto::to_hex(data)}};
    if (from) request["from"] = from->hex();
    return data_of(rpc_.call("eth_call", {request, "latest"}));
}

crypto::Bytes ChainClient::revert_data(const crypto::Hash32& tx_hash) {
    const auto trace =
        rpc_.call("debug_traceTransaction", {tx_hash.hex(), {{"tracer", "callTracer"}}});
    if (!trace.contains("output")) return {};
    return data_of(trace.at("output"));
}

std::vector<chains::evm::Log> ChainClient::get_logs(const crypto::Address& address,
                                                    const crypto::Hash32& topic0,
                                                    std::uint64_t from_block,
                                                    std::uint64_t to_block) {
    const json filter = {{"address", address.hex()},
                         {"topics", {topic0.hex()}},
                         {"fromBlock", to_quantity(from_block)},
                         {"toBlock", to_quantity(to_block)}};
    std::vector<chains::evm::Log> out;
    for (const auto& log : rpc_.call("eth_getLogs", {filter})) out.push_back(parse_log(log));
    return out;
}

std::uint64_t ChainClient::latest_timestamp() {
    return quantity_u64(rpc_.call("eth_getBlockByNumber", {"latest", false}).at("timestamp"));
}

void ChainClient::set_next_block_timestamp(std::uint64_t timestamp) {
    rpc_.call("evm_setNextBlockTimestamp", {timestamp});
}

crypto::Signature attest(crypto::ChainId src_chain, const crypto::Address& outbox,
                         const crypto::PacketId& id, const crypto::PrivateKey& key) {
    const auto digest = crypto::attestation_digest(src_chain, outbox, id);
    return crypto::Secp256k1Context::instance().sign(digest, key).value();
}

crypto::Bytes signature_bundle(crypto::ChainId src_chain, const crypto::Address& outbox,
                               const crypto::PacketId& id, std::span<const DevAccount> signers) {
    std::vector<const DevAccount*> sorted;
    for (const auto& signer : signers) sorted.push_back(&signer);
    std::sort(sorted.begin(), sorted.end(),
              [](const DevAccount* a, const DevAccount* b) { return a->address < b->address; });
    crypto::Bytes bundle;
    for (const auto* signer : sorted) {
        const auto signature = attest(src_chain, outbox, id, signer->key);
        bundle.insert(bundle.end(), signature.bytes.begin(), signature.bytes.end());
    }
    return bundle;
}

crypto::Signature high_s_twin(const crypto::Signature& signature) {
    crypto::Signature out = signature;
    int borrow = 0;
    for (std::size_t i = 32; i-- > 0;) {
        int d = kCurveOrder[i] - signature[32 + i] - borrow;
        borrow = d < 0 ? 1 : 0;
        if (d < 0) d += 256;
        out[32 + i] = static_cast<std::uint8_t>(d);
    }
    out[64] = signature[64] == 27 ? 28 : 27;
    return out;
}

}  // namespace ferry::test

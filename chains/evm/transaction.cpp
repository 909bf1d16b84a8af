#include "chains/evm/transaction.hpp"

#include "chains/evm/rlp.hpp"
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"

#include <cstddef>

namespace ferry::chains::evm {
namespace {

// chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit, to, value, data,
// access_list, y_parity, r, s.
constexpr std::size_t kSignedFieldCount = 12;

void add_unsigned_fields(RlpEncoder& e, const Eip1559Tx& tx) {
    e.add_uint(crypto::to_u64(tx.chain_id))
        .add_uint(tx.nonce)
        .add_uint(tx.max_priority_fee_per_gas)
        .add_uint(tx.max_fee_per_gas)
        .add_uint(tx.gas_limit);
    if (tx.to)
        e.add_fixed(*tx.to);
    else
        e.add_bytes({});
    e.add_uint(tx.value).add_bytes(tx.data);
    e.begin_list();
    for (const auto& entry : tx.access_list) {
        e.begin_list().add_fixed(entry.address).begin_list();
        for (const auto& key : entry.storage_keys) e.add_fixed(key);
        e.end_list().end_list();
    }
    e.end_list();
}

Bytes with_type_byte(const Bytes& rlp) {
    Bytes out;
    out.reserve(rlp.size() + 1);
    out.push_back(kEip1559TxType);
    out.insert(out.end(), rlp.begin(), rlp.end());
    return out;
}

Result<AccessList> read_access_list(RlpListReader list) {
    AccessList out;
    while (!list.empty()) {
        auto entry = list.next_list();
        if (!entry) return entry.error();
        auto fields = entry->count();
        if (!fields) return fields.error();
        if (*fields != 2) return Error::tx_bad_field_count;
        auto address = entry->next_fixed<20>();
        if (!address) return address.error();
        auto keys = entry->next_list();
        if (!keys) return keys.error();
        AccessListEntry decoded{*address, {}};
        while (!keys->empty()) {
            auto key = keys->next_fixed<32>();
            if (!key) return key.error();
            decoded.storage_keys.push_back(*key);
        }
        out.push_back(std::move(decoded));
    }
    return out;
}

}  // namespace

Bytes signing_payload(const Eip1559Tx& tx) {
    RlpEncoder e;
    e.begin_list();
    add_unsigned_fields(e, tx);
    e.end_list();
    return with_type_byte(e.bytes());
}

crypto::Hash32 signing_hash(const Eip1559Tx& tx) { return crypto::keccak256(signing_payload(tx)); }

Bytes encode_signed(const Eip1559Tx& tx, const crypto::Signature& signature) {
    const ByteView sig = signature.view();
    RlpEncoder e;
    e.begin_list();
    add_unsigned_fields(e, tx);
    e.add_uint(static_cast<std::uint64_t>(signature[64] - 27))
        .add_uint_be(sig.subspan(0, 32))
        .add_uint_be(sig.subspan(32, 32));
    e.end_list();
    return with_type_byte(e.bytes());
}

Result<SignedTx> sign(const Eip1559Tx& tx, const crypto::PrivateKey& key) {
    const auto& ctx = crypto::Secp256k1Context::instance();
    auto signature = ctx.sign(signing_hash(tx), key);
    if (!signature) return signature.error();
    auto sender = ctx.address(key);
    if (!sender) return sender.error();
    SignedTx out{tx, *signature, *sender, encode_signed(tx, *signature), {}};
    out.hash = crypto::keccak256(out.raw);
    return out;
}

Result<SignedTx> decode_signed(ByteView raw) {
    if (raw.empty()) return Error::rlp_truncated;
    if (raw[0] != kEip1559TxType) return Error::tx_bad_type;
    auto item = rlp_decode(raw.subspan(1));
    if (!item) return item.error();
    auto fields = RlpListReader::open(*item);
    if (!fields) return fields.error();
    auto field_count = fields->count();
    if (!field_count) return field_count.error();
    if (*field_count != kSignedFieldCount) return Error::tx_bad_field_count;

    SignedTx out;
    Eip1559Tx& tx = out.tx;
    auto chain_id = fields->next_u64();
    if (!chain_id) return chain_id.error();
    tx.chain_id = crypto::ChainId{*chain_id};
    auto nonce = fields->next_u64();
    if (!nonce) return nonce.error();
    tx.nonce = *nonce;
    auto priority_fee = fields->next_u256();
    if (!priority_fee) return priority_fee.error();
    tx.max_priority_fee_per_gas = *priority_fee;
    auto max_fee = fields->next_u256();
    if (!max_fee) return max_fee.error();
    tx.max_fee_per_gas = *max_fee;
    auto gas_limit = fields->next_u64();
    if (!gas_limit) return gas_limit.error();
    tx.gas_limit = *gas_limit;

    auto to_item = fields->next();
    if (!to_item) return to_item.error();
    if (to_item->is_list) return Error::rlp_unexpected_list;
    if (!to_item->payload.empty()) {
        auto to = to_item->to_fixed<20>();
        if (!to) return to.error();
        tx.to = *to;
    }

    auto value = fields->next_u256();
    if (!value) return value.error();
    tx.value = *value;
    auto data = fields->next_bytes();
    if (!data) return data.error();
    tx.data.assign(data->begin(), data->end());
    auto access_list_reader = fields->next_list();
    if (!access_list_reader) return access_list_reader.error();
    auto access_list = read_access_list(*access_list_reader);
    if (!access_list) return access_list.error();
    tx.access_list = std::move(*access_list);

    auto y_parity = fields->next_u64();
    if (!y_parity) return y_parity.error();
    if (*y_parity > 1) return Error::tx_bad_signature;
    auto r = fields->next_u256();
    if (!r) return r.error();
    auto s = fields->next_u256();
    if (!s) return s.error();
    for (std::size_t i = 0; i < 32; ++i) {
        out.signature[i] = r->bytes[i];
        out.signature[32 + i] = s->bytes[i];
    }
    out.signature[64] = static_cast<std::uint8_t>(27 + *y_parity);

    auto sender =
        crypto::Secp256k1Context::instance().recover_address(signing_hash(tx), out.signature);
    if (!sender) return Error::tx_bad_signature;
    out.sender = *sender;
    out.raw.assign(raw.begin(), raw.end());
    out.hash = crypto::keccak256(raw);
    return out;
}

}  // namespace ferry::chains::evm

// Proves EIP-1559 signing, raw encoding, tx hash and decoding against ethereumjs and anvil vectors.
#include "chains/evm/transaction.hpp"
#include "chains/evm/rlp.hpp"
#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ferry::chains::evm;
using ferry::crypto::Address;
using ferry::crypto::ChainId;
using ferry::crypto::from_hex;
using ferry::crypto::Hash32;
using ferry::crypto::PrivateKey;
using ferry::crypto::Secp256k1Context;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

// A JSON-RPC quantity ("0x1a") or a JSON number as a 256-bit integer.
U256 u256_of(const nlohmann::json& j) {
    if (j.is_number_unsigned()) return U256::from_u64(j.get<std::uint64_t>());
    std::string digits = j.get<std::string>().substr(2);
    if (digits.size() % 2 != 0) digits.insert(digits.begin(), '0');
    const Bytes be = from_hex(digits).value();
    EXPECT_LE(be.size(), 32u);
    U256 out;
    std::copy(be.begin(), be.end(), out.bytes.end() - static_cast<std::ptrdiff_t>(be.size()));
    return out;
}

std::uint64_t u64_of(const nlohmann::json& j) {
    if (j.is_number_unsigned()) return j.get<std::uint64_t>();
    return std::stoull(j.get<std::string>(), nullptr, 16);
}

Address address_of_hex(const nlohmann::json& j) {
    return Address::from_hex(j.get<std::string>()).value();
}

// An anvil vector's eth_signTransaction request as an Eip1559Tx.
Eip1559Tx tx_from_request(const nlohmann::json& r) {
    Eip1559Tx tx;
    tx.chain_id = ChainId{u64_of(r["chainId"])};
    tx.nonce = u64_of(r["nonce"]);
    tx.max_priority_fee_per_gas = u256_of(r["maxPriorityFeePerGas"]);
    tx.max_fee_per_gas = u256_of(r["maxFeePerGas"]);
    tx.gas_limit = u64_of(r["gas"]);
    if (r.contains("to")) tx.to = address_of_hex(r["to"]);
    tx.value = u256_of(r["value"]);
    if (r.contains("data")) tx.data = hex(r["data"].get<std::string>());
    if (r.contains("accessList")) {
        for (const auto& e : r["accessList"]) {
            AccessListEntry entry{address_of_hex(e["address"]), {}};
            for (const auto& k : e["storageKeys"])
                entry.storage_keys.push_back(Hash32::from_hex(k.get<std::string>()).value());
            tx.access_list.push_back(entry);
        }
    }
    return tx;
}

// An ethereumjs vector as an Eip1559Tx and its raw typed envelope (unwrapped from the RLP
// byte string that library stored it in).
Eip1559Tx tx_from_ethereumjs(const nlohmann::json& v, ChainId chain_id) {
    Eip1559Tx tx;
    tx.chain_id = chain_id;
    tx.nonce = v["nonce"].get<std::uint64_t>();
    tx.max_priority_fee_per_gas = U256::from_u64(v["maxInclusionFeePerGas"].get<std::uint64_t>());
    tx.max_fee_per_gas = U256::from_u64(v["maxFeePerGas"].get<std::uint64_t>());
    tx.gas_limit = v["gasLimit"].get<std::uint64_t>();
    tx.to = address_of_hex(v["to"]);
    tx.value = U256::from_u64(v["value"].get<std::uint64_t>());
    return tx;
}

Bytes ethereumjs_raw(const nlohmann::json& v) {
    const Bytes wrapped = hex(v["signedTransactionRLP"].get<std::string>());
    const auto inner = rlp_decode(wrapped).value().bytes().value();
    return {inner.begin(), inner.end()};
}

Eip1559Tx sample_tx() {
    Eip1559Tx tx;
    tx.chain_id = ChainId{31337};
    tx.nonce = 7;
    tx.max_priority_fee_per_gas = U256::from_u64(1'000'000'000);
    tx.max_fee_per_gas = U256::from_u64(3'000'000'000);
    tx.gas_limit = 100'000;
    tx.to = Address::from_hex("0x000000000000000000000000000000000000c0de").value();
    tx.value = U256::from_u64(12345);
    tx.data = hex("0xdeadbeef00");
    tx.access_list = {{*tx.to, {Hash32{}, Hash32::from_hex("0x" + std::string(64, '1')).value()}},
                      {Address{}, {}}};
    return tx;
}

const PrivateKey& anvil_key() {
    static const PrivateKey key =
        PrivateKey::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .value();
    return key;
}

// Re-encodes `s`'s signed list with one field replaced by `replace(e, index)`.
template <class Replace>
Bytes signed_with(const SignedTx& s, std::size_t index, Replace replace) {
    auto item = rlp_decode(ByteView(s.raw).subspan(1)).value();
    auto list = RlpListReader::open(item).value();
    RlpEncoder e;
    e.begin_list();
    for (std::size_t i = 0; !list.empty(); ++i) {
        const auto field = list.next().value();
        if (i == index)
            replace(e);
        else
            e.add_encoded(field.encoded);
    }
    e.end_list();
    Bytes raw = {0x02};
    const Bytes body = e.take();
    raw.insert(raw.end(), body.begin(), body.end());
    return raw;
}

}  // namespace

TEST(eip1559, signs_ethereumjs_vectors) {
    const auto doc = ferry::test::load_vectors("eip1559.json");
    const auto& group = doc["ethereumjs"];
    const ChainId chain_id{group["chain_id"].get<std::uint64_t>()};
    ASSERT_EQ(group["vectors"].size(), 10u);
    for (const auto& v : group["vectors"]) {
        const auto key = PrivateKey::from_hex(v["privateKey"].get<std::string>()).value();
        const Bytes raw = ethereumjs_raw(v);
        auto signed_tx = sign(tx_from_ethereumjs(v, chain_id), key);
        ASSERT_TRUE(signed_tx) << v.dump();
        EXPECT_EQ(signed_tx->raw, raw) << v["nonce"];
        EXPECT_EQ(signed_tx->hash, ferry::crypto::keccak256(raw)) << v["nonce"];
        EXPECT_EQ(signed_tx->sender, Secp256k1Context::instance().address(key).value());
    }
}

TEST(eip1559, decodes_ethereumjs_vectors_and_recovers_sender) {
    const auto doc = ferry::test::load_vectors("eip1559.json");
    const auto& group = doc["ethereumjs"];
    const ChainId chain_id{group["chain_id"].get<std::uint64_t>()};
    for (const auto& v : group["vectors"]) {
        const auto key = PrivateKey::from_hex(v["privateKey"].get<std::string>()).value();
        const Bytes raw = ethereumjs_raw(v);
        auto decoded = decode_signed(raw);
        ASSERT_TRUE(decoded) << v["nonce"] << ": " << decoded.error().message();
        EXPECT_EQ(decoded->tx, tx_from_ethereumjs(v, chain_id)) << v["nonce"];
        EXPECT_EQ(decoded->sender, Secp256k1Context::instance().address(key).value());
        EXPECT_EQ(decoded->raw, raw);
        EXPECT_EQ(decoded->hash, ferry::crypto::keccak256(raw));
    }
}

TEST(eip1559, signs_anvil_vectors_to_the_same_raw_and_hash) {
    const auto doc = ferry::test::load_vectors("eip1559.json");
    ASSERT_EQ(doc["anvil"]["vectors"].size(), 10u);
    for (const auto& v : doc["anvil"]["vectors"]) {
        const auto name = v["name"].get<std::string>();
        const auto key = PrivateKey::from_hex(v["private_key"].get<std::string>()).value();
        auto signed_tx = sign(tx_from_request(v["tx"]), key);
        ASSERT_TRUE(signed_tx) << name;
        EXPECT_EQ(ferry::crypto::to_hex(signed_tx->raw), v["raw"].get<std::string>()) << name;
        EXPECT_EQ(signed_tx->hash.hex(), v["hash"].get<std::string>()) << name;
        EXPECT_EQ(signed_tx->sender, address_of_hex(v["tx"]["from"])) << name;
    }
}

TEST(eip1559, decodes_anvil_vectors_and_recovers_sender) {
    const auto doc = ferry::test::load_vectors("eip1559.json");
    for (const auto& v : doc["anvil"]["vectors"]) {
        const auto name = v["name"].get<std::string>();
        auto decoded = decode_signed(hex(v["raw"].get<std::string>()));
        ASSERT_TRUE(decoded) << name << ": " << decoded.error().message();
        EXPECT_EQ(decoded->tx, tx_from_request(v["tx"])) << name;
        EXPECT_EQ(decoded->sender, address_of_hex(v["tx"]["from"])) << name;
        EXPECT_EQ(decoded->hash.hex(), v["hash"].get<std::string>()) << name;
        EXPECT_EQ(encode_signed(decoded->tx, decoded->signature), decoded->raw) << name;
    }
}

TEST(eip1559, sign_then_decode_round_trips) {
    const Eip1559Tx tx = sample_tx();
    const auto s = sign(tx, anvil_key()).value();
    EXPECT_EQ(s.raw.front(), 0x02);
    EXPECT_LE(s.y_parity(), 1);
    EXPECT_TRUE(Secp256k1Context::instance().verify(signing_hash(tx), s.signature, s.sender));
    const auto d = decode_signed(s.raw).value();
    EXPECT_EQ(d.tx, tx);
    EXPECT_EQ(d.sender, s.sender);
    EXPECT_EQ(d.signature, s.signature);
    EXPECT_EQ(d.hash, s.hash);

    Eip1559Tx create = tx;
    create.to.reset();
    const auto c = decode_signed(sign(create, anvil_key()).value().raw).value();
    EXPECT_FALSE(c.tx.to.has_value());
    EXPECT_EQ(c.tx, create);
}

TEST(eip1559, changing_a_signed_field_changes_the_sender) {
    const auto s = sign(sample_tx(), anvil_key()).value();
    const Bytes tampered = signed_with(s, 1, [](RlpEncoder& e) { e.add_uint(8); });
    auto d = decode_signed(tampered);
    // Either another address recovers, or none does; never the original signer.
    if (d) {
        EXPECT_NE(d->sender, s.sender);
    } else {
        EXPECT_EQ(d.error(), make_error_code(Error::tx_bad_signature));
    }
}

TEST(eip1559, rejects_malformed_transactions_with_precise_errors) {
    const auto s = sign(sample_tx(), anvil_key()).value();
    const auto expect_error = [](ByteView raw, Error want, const char* what) {
        auto d = decode_signed(raw);
        ASSERT_FALSE(d) << what;
        EXPECT_EQ(d.error(), make_error_code(want)) << what << ": " << d.error().message();
    };

    expect_error({}, Error::rlp_truncated, "empty");
    Bytes wrong_type = s.raw;
    wrong_type[0] = 0x01;
    expect_error(wrong_type, Error::tx_bad_type, "type 1");
    expect_error(ByteView(s.raw).subspan(1), Error::tx_bad_type, "legacy-looking list");
    Bytes trailing = s.raw;
    trailing.push_back(0x80);
    expect_error(trailing, Error::rlp_trailing_bytes, "trailing byte");
    expect_error(Bytes{0x02, 0x80}, Error::rlp_unexpected_string, "not a list");

    // 11 fields: drop s.
    {
        auto item = rlp_decode(ByteView(s.raw).subspan(1)).value();
        auto list = RlpListReader::open(item).value();
        RlpEncoder e;
        e.begin_list();
        for (int i = 0; i < 11; ++i) e.add_encoded(list.next().value().encoded);
        e.end_list();
        Bytes raw = {0x02};
        const Bytes body = e.take();
        raw.insert(raw.end(), body.begin(), body.end());
        expect_error(raw, Error::tx_bad_field_count, "11 fields");
    }
    expect_error(signed_with(s, 9, [](RlpEncoder& e) { e.add_uint(2); }), Error::tx_bad_signature,
                 "y_parity 2");
    expect_error(signed_with(s, 10, [](RlpEncoder& e) { e.add_uint(0); }), Error::tx_bad_signature,
                 "r = 0");
    // s' = n - s is the high-s twin of a valid signature (EIP-2 forbids it).
    {
        const Bytes n = hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
        Bytes high(32);
        int borrow = 0;
        for (int i = 31; i >= 0; --i) {
            const auto idx = static_cast<std::size_t>(i);
            int d = n[idx] - s.signature[32 + idx] - borrow;
            borrow = d < 0 ? 1 : 0;
            high[idx] = static_cast<std::uint8_t>(d + 256 * borrow);
        }
        expect_error(signed_with(s, 11, [&](RlpEncoder& e) { e.add_uint_be(high); }),
                     Error::tx_bad_signature, "high s");
    }
    expect_error(signed_with(s, 11, [](RlpEncoder& e) { e.add_bytes(Bytes(33, 0x01)); }),
                 Error::rlp_integer_overflow, "33-byte s");
    expect_error(signed_with(s, 1,
                             [](RlpEncoder& e) {
                                 e.add_bytes(Bytes{0x00, 0x01});
                             }),
                 Error::rlp_integer_leading_zero, "nonce with leading zero");
    expect_error(signed_with(s, 0, [](RlpEncoder& e) { e.add_bytes(Bytes(9, 0x01)); }),
                 Error::rlp_integer_overflow, "chain id over 64 bits");
    expect_error(signed_with(s, 5, [](RlpEncoder& e) { e.add_bytes(Bytes(19, 0x01)); }),
                 Error::rlp_wrong_size, "19-byte to");
    expect_error(signed_with(s, 5, [](RlpEncoder& e) { e.begin_list().end_list(); }),
                 Error::rlp_unexpected_list, "list as to");
    expect_error(signed_with(s, 8,
                             [](RlpEncoder& e) {
                                 e.begin_list().begin_list().add_bytes(Bytes(20, 0x01)).end_list();
                                 e.end_list();
                             }),
                 Error::tx_bad_field_count, "access list entry without keys");
    expect_error(signed_with(s, 8,
                             [](RlpEncoder& e) {
                                 e.begin_list().begin_list().add_bytes(Bytes(20, 0x01));
                                 e.begin_list().add_bytes(Bytes(31, 0x01)).end_list();
                                 e.end_list().end_list();
                             }),
                 Error::rlp_wrong_size, "31-byte storage key");

    // Every truncation fails cleanly.
    for (std::size_t n = 0; n < s.raw.size(); ++n)
        EXPECT_FALSE(decode_signed(ByteView(s.raw).first(n))) << "prefix " << n;
}

// Proves the ABI encoder matches the Solidity documentation's examples and that the decoder
// reads them back, and rejects every malformed input with the precise abi_* error.
#include "chains/evm/abi.hpp"
#include "crypto/hex.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace ferry::chains::evm;
using ferry::crypto::from_hex;
using ferry::crypto::to_hex;
using nlohmann::json;

namespace {

// ---- a type-string driven codec for the vectors (test-only) ----

struct Type {
    std::string base;        // "uint32", "bool", "bytes3", "string", ...
    std::vector<long> dims;  // innermost first; -1 = dynamic []
};

Type parse_type(const std::string& s) {
    Type t;
    std::string rest = s;
    std::vector<long> outer_first;
    while (!rest.empty() && rest.back() == ']') {
        const auto open = rest.rfind('[');
        const std::string inside = rest.substr(open + 1, rest.size() - open - 2);
        outer_first.push_back(inside.empty() ? -1 : std::stol(inside));
        rest = rest.substr(0, open);
    }
    t.base = rest;
    t.dims.assign(outer_first.rbegin(), outer_first.rend());
    return t;
}

Type element_of(Type t) {
    t.dims.pop_back();
    return t;
}

bool is_dynamic(const Type& t) {
    if (t.dims.empty()) return t.base == "bytes" || t.base == "string";
    if (t.dims.back() < 0) return true;
    return is_dynamic(element_of(t));
}

unsigned uint_bits(const std::string& base) {
    return static_cast<unsigned>(std::stoul(base.substr(4)));
}

std::uint64_t parse_u64(const std::string& s) {
    return s.rfind("0x", 0) == 0 ? std::stoull(s.substr(2), nullptr, 16) : std::stoull(s);
}

Bytes hex_bytes(const std::string& s) { return from_hex(s).value(); }

void encode_value(AbiEncoder& enc, const Type& t, const json& v) {
    if (!t.dims.empty()) {
        AbiEncoder inner;
        for (const auto& e : v) encode_value(inner, element_of(t), e);
        if (t.dims.back() < 0)
            enc.add_array(inner);
        else
            enc.add_fixed_array(inner);
        return;
    }
    if (t.base == "uint256") {
        enc.add_uint256(U256::from_u64(parse_u64(v.get<std::string>())));
    } else if (t.base.rfind("uint", 0) == 0) {
        enc.add_uint(parse_u64(v.get<std::string>()));
    } else if (t.base == "bool") {
        enc.add_bool(v.get<bool>());
    } else if (t.base == "bytes") {
        enc.add_bytes(hex_bytes(v.get<std::string>()));
    } else if (t.base == "string") {
        enc.add_string(v.get<std::string>());
    } else if (t.base.rfind("bytes", 0) == 0) {
        enc.add_fixed_bytes(hex_bytes(v.get<std::string>()));
    } else {
        FAIL() << "unsupported type in vector: " << t.base;
    }
}

/// The expected value in the same shape decode_value() produces: integers as numbers.
json normalize(const Type& t, const json& v) {
    if (!t.dims.empty()) {
        json out = json::array();
        for (const auto& e : v) out.push_back(normalize(element_of(t), e));
        return out;
    }
    if (t.base.rfind("uint", 0) == 0) return parse_u64(v.get<std::string>());
    return v;
}

Result<json> decode_value(AbiDecoder& dec, const Type& t) {
    if (!t.dims.empty()) {
        const Type et = element_of(t);
        AbiDecoder elements;
        std::size_t count = 0;
        if (t.dims.back() < 0) {
            auto a = dec.read_array();
            if (!a) return a.error();
            count = a->count;
            elements = a->elements;
        } else {
            count = static_cast<std::size_t>(t.dims.back());
            if (is_dynamic(t)) {
                auto d = dec.read_dynamic_tuple();
                if (!d) return d.error();
                elements = *d;
            }
        }
        AbiDecoder& from = (t.dims.back() >= 0 && !is_dynamic(t)) ? dec : elements;
        json out = json::array();
        for (std::size_t i = 0; i < count; ++i) {
            auto e = decode_value(from, et);
            if (!e) return e;
            out.push_back(*e);
        }
        return out;
    }
    if (t.base == "uint256") {
        auto v = dec.read_uint256();
        if (!v) return v.error();
        const auto small = v->to_u64();
        if (!small) return json(v->hex());
        return json(*small);
    }
    if (t.base.rfind("uint", 0) == 0) {
        auto v = dec.read_uint(uint_bits(t.base));
        if (!v) return v.error();
        return json(*v);
    }
    if (t.base == "bool") {
        auto v = dec.read_bool();
        if (!v) return v.error();
        return json(*v);
    }
    if (t.base == "bytes") {
        auto v = dec.read_bytes();
        if (!v) return v.error();
        return json(to_hex(*v));
    }
    if (t.base == "string") {
        auto v = dec.read_string();
        if (!v) return v.error();
        return json(*v);
    }
    auto v = dec.read_fixed_bytes(std::stoul(t.base.substr(5)));
    if (!v) return v.error();
    return json(to_hex(*v));
}

Result<json> decode_all(ByteView args, const std::vector<Type>& types) {
    AbiDecoder dec(args);
    json out = json::array();
    for (const auto& t : types) {
        auto v = decode_value(dec, t);
        if (!v) return v;
        out.push_back(*v);
    }
    return out;
}

std::vector<Type> types_of(const json& v) {
    std::vector<Type> out;
    for (const auto& t : v["types"]) out.push_back(parse_type(t.get<std::string>()));
    return out;
}

bool is_abi_error(const boost::system::error_code& ec) {
    return ec == Error::abi_truncated || ec == Error::abi_bad_offset ||
           ec == Error::abi_bad_padding || ec == Error::abi_value_out_of_range ||
           ec == Error::abi_too_large;
}

/// Builds a blob from 32-byte words given as small integers or hex.
Bytes words(std::initializer_list<std::string> ws) {
    Bytes out;
    for (const auto& w : ws) {
        Bytes b = hex_bytes(
            w.size() == 66 ? w : "0x" + std::string(64 - (w.size() - 2), '0') + w.substr(2));
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

const std::string kMaxU64Word = "0xffffffffffffffff";
const std::string kHighBitWord =
    "0x8000000000000000000000000000000000000000000000000000000000000000";

}  // namespace

TEST(abi, encodes_solidity_documentation_examples) {
    const auto doc = ferry::test::load_vectors("abi.json");
    ASSERT_EQ(doc["vectors"].size(), 5u);
    for (const auto& v : doc["vectors"]) {
        const auto sig = v["signature"].get<std::string>();
        EXPECT_EQ(function_selector(sig).hex(), v["selector"].get<std::string>()) << sig;
        AbiEncoder enc;
        const auto types = types_of(v);
        for (std::size_t i = 0; i < types.size(); ++i) encode_value(enc, types[i], v["values"][i]);
        EXPECT_EQ(to_hex(enc.encode_call(function_selector(sig))), v["calldata"].get<std::string>())
            << sig;
    }
}

TEST(abi, decodes_solidity_documentation_examples) {
    const auto doc = ferry::test::load_vectors("abi.json");
    for (const auto& v : doc["vectors"]) {
        const auto sig = v["signature"].get<std::string>();
        const Bytes calldata = hex_bytes(v["calldata"].get<std::string>());
        auto args = decode_call(calldata, function_selector(sig));
        ASSERT_TRUE(args) << sig;
        const auto types = types_of(v);
        json expected = json::array();
        for (std::size_t i = 0; i < types.size(); ++i)
            expected.push_back(normalize(types[i], v["values"][i]));
        AbiDecoder dec = *args;
        json got = json::array();
        for (const auto& t : types) {
            auto value = decode_value(dec, t);
            ASSERT_TRUE(value) << sig << ": " << value.error().message();
            got.push_back(*value);
        }
        EXPECT_EQ(got, expected) << sig;
    }
}

TEST(abi, every_truncation_of_the_examples_fails_cleanly) {
    const auto doc = ferry::test::load_vectors("abi.json");
    for (const auto& v : doc["vectors"]) {
        const Bytes calldata = hex_bytes(v["calldata"].get<std::string>());
        const ByteView args = ByteView(calldata).subspan(4);
        const auto types = types_of(v);
        for (std::size_t n = 0; n < args.size(); ++n) {
            auto r = decode_all(args.first(n), types);
            ASSERT_FALSE(r) << v["signature"] << " cut at " << n;
            EXPECT_TRUE(is_abi_error(r.error())) << r.error().message();
        }
    }
}

TEST(abi, every_byte_flip_of_the_examples_decodes_or_fails_cleanly) {
    const auto doc = ferry::test::load_vectors("abi.json");
    std::size_t failures = 0;
    for (const auto& v : doc["vectors"]) {
        const Bytes calldata = hex_bytes(v["calldata"].get<std::string>());
        const Bytes args(calldata.begin() + 4, calldata.end());
        const auto types = types_of(v);
        for (std::size_t i = 0; i < args.size(); ++i) {
            for (const int x : {0x01, 0x80, 0xff}) {
                Bytes m = args;
                m[i] = static_cast<std::uint8_t>(m[i] ^ x);
                auto r = decode_all(m, types);
                if (!r) {
                    ++failures;
                    EXPECT_TRUE(is_abi_error(r.error())) << r.error().message();
                }
            }
        }
    }
    EXPECT_GT(failures, 0u);  // padding and range checks must catch some of them
}

TEST(abi, selector_and_event_topic_are_keccak_prefixes) {
    // Selectors published for ERC-20 and the Solidity revert encodings.
    EXPECT_EQ(function_selector("transfer(address,uint256)").hex(), "0xa9059cbb");
    EXPECT_EQ(error_string_selector().hex(), "0x08c379a0");
    EXPECT_EQ(panic_selector().hex(), "0x4e487b71");
    // ERC-20 Transfer event topic, as every token's logs carry it.
    EXPECT_EQ(event_topic("Transfer(address,address,uint256)").hex(),
              "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

TEST(abi, round_trips_every_supported_type) {
    using namespace ferry::crypto::literals;
    const Address a1 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"_address;
    const Address a2 = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"_address;
    const Hash32 h = "0x3bcd2eee1937c150a2c2b331c651bf2b3774df2523b701dc3b1d5a5981a5ee6f"_hash;
    const std::vector<Address> addrs{a1, a2};
    const std::vector<Bytes> blobs{{}, Bytes(31, 0xaa), Bytes(32, 0xbb), Bytes(33, 0xcc)};
    U256 big;
    big.bytes.fill(0xff);
    const std::vector<U256> nums{U256::from_u64(0), big};

    AbiEncoder tuple;  // a dynamic tuple (uint64, bytes)
    tuple.add_uint(7).add_bytes(Bytes{1, 2, 3});

    const Bytes enc = AbiEncoder()
                          .add_uint(UINT64_MAX)
                          .add_uint(255)
                          .add_uint256(big)
                          .add_bool(false)
                          .add_bool(true)
                          .add_address(a1)
                          .add_bytes32(h)
                          .add_bytes(Bytes(70, 0x5a))
                          .add_string("héllo")
                          .add_address_array(addrs)
                          .add_bytes_array(blobs)
                          .add_uint256_array(nums)
                          .add_tuple(tuple)
                          .add_bytes_array({})
                          .encode();
    AbiDecoder d(enc);
    EXPECT_EQ(d.read_uint(64).value(), UINT64_MAX);
    EXPECT_EQ(d.read_uint(8).value(), 255u);
    EXPECT_EQ(d.read_uint256().value(), big);
    EXPECT_FALSE(d.read_bool().value());
    EXPECT_TRUE(d.read_bool().value());
    EXPECT_EQ(d.read_address().value(), a1);
    EXPECT_EQ(d.read_bytes32().value(), h);
    EXPECT_EQ(d.read_bytes().value(), Bytes(70, 0x5a));
    EXPECT_EQ(d.read_string().value(), "héllo");
    EXPECT_EQ(d.read_address_array().value(), addrs);
    EXPECT_EQ(d.read_bytes_array().value(), blobs);
    EXPECT_EQ(d.read_uint256_array().value(), nums);
    auto t = d.read_dynamic_tuple().value();
    EXPECT_EQ(t.read_uint().value(), 7u);
    EXPECT_EQ(t.read_bytes().value(), (Bytes{1, 2, 3}));
    EXPECT_TRUE(d.read_bytes_array().value().empty());
    EXPECT_EQ(d.head_position(), 14 * kAbiWordSize);
}

TEST(abi, static_tuple_is_encoded_in_place) {
    AbiEncoder inner;
    inner.add_uint(1).add_bool(true);
    const Bytes enc = AbiEncoder().add_tuple(inner).add_uint(2).encode();
    EXPECT_EQ(enc, words({"0x01", "0x01", "0x02"}));
}

TEST(abi, rejects_truncated_data) {
    EXPECT_EQ(AbiDecoder(Bytes{}).read_uint().error(), Error::abi_truncated);
    EXPECT_EQ(AbiDecoder(Bytes(31, 0)).read_bool().error(), Error::abi_truncated);
    EXPECT_EQ(AbiDecoder(Bytes(31, 0)).read_address().error(), Error::abi_truncated);
    // bytes "dave" with its content word cut off.
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x04"})).read_bytes().error(), Error::abi_truncated);
    // 33 bytes announced, only one padded word of content present.
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x21", "0x00"})).read_bytes().error(),
              Error::abi_truncated);
    // address[] of 2 with one element present.
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x02", "0x01"})).read_address_array().error(),
              Error::abi_truncated);
    // selector cut short.
    EXPECT_EQ(decode_call(Bytes{0xa5, 0x64, 0x3b}, function_selector("sam(bytes,bool,uint256[])"))
                  .error(),
              Error::abi_truncated);
}

TEST(abi, rejects_bad_offsets) {
    // Not a multiple of 32.
    EXPECT_EQ(AbiDecoder(words({"0x21", "0x00", "0x00"})).read_bytes().error(),
              Error::abi_bad_offset);
    // Past the end, at the end, and leaving no room for the length word.
    EXPECT_EQ(AbiDecoder(words({"0x60", "0x00"})).read_bytes().error(), Error::abi_bad_offset);
    EXPECT_EQ(AbiDecoder(words({"0x40", "0x00"})).read_bytes().error(), Error::abi_bad_offset);
    EXPECT_EQ(AbiDecoder(words({"0x20"})).read_bytes().error(), Error::abi_bad_offset);
    // Huge: 2^64-1 (would wrap a 64-bit position) and 2^255.
    EXPECT_EQ(AbiDecoder(words({kMaxU64Word, "0x00"})).read_bytes().error(), Error::abi_bad_offset);
    EXPECT_EQ(AbiDecoder(words({"0xffffffffffffffe0", "0x00"})).read_bytes().error(),
              Error::abi_bad_offset);
    EXPECT_EQ(AbiDecoder(words({kHighBitWord, "0x00"})).read_address_array().error(),
              Error::abi_bad_offset);
    // An element offset inside a bytes[] that points outside the data.
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x01", "0x1000"})).read_bytes_array().error(),
              Error::abi_bad_offset);
    EXPECT_EQ(AbiDecoder(words({kMaxU64Word})).read_dynamic_tuple().error(), Error::abi_bad_offset);
}

TEST(abi, rejects_lengths_the_input_cannot_hold) {
    EXPECT_EQ(AbiDecoder(words({"0x20", kMaxU64Word})).read_bytes().error(), Error::abi_too_large);
    EXPECT_EQ(AbiDecoder(words({"0x20", kHighBitWord})).read_string().error(),
              Error::abi_too_large);
    // 2^64 exactly: only the 9th byte from the right is set.
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x010000000000000000"})).read_bytes().error(),
              Error::abi_too_large);
    // A length just above what 3 words could ever hold.
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x61", "0x00"})).read_bytes().error(),
              Error::abi_too_large);
    EXPECT_EQ(AbiDecoder(words({"0x20", kMaxU64Word})).read_address_array().error(),
              Error::abi_too_large);
    EXPECT_EQ(AbiDecoder(words({"0x20", "0x0800000000000001"})).read_bytes_array().error(),
              Error::abi_too_large);
    EXPECT_EQ(AbiDecoder(words({"0x20", kHighBitWord})).read_array().error(), Error::abi_too_large);
}

TEST(abi, rejects_non_zero_padding) {
    // bytes "dave" followed by a stray byte in its padding.
    EXPECT_EQ(
        AbiDecoder(words({"0x20", "0x04",
                          "0x6461766500000000000000000000000000000000000000000000000000000001"}))
            .read_bytes()
            .error(),
        Error::abi_bad_padding);
    // address with a non-zero byte in the 12 high bytes.
    EXPECT_EQ(AbiDecoder(words({"0x01000000000000000000000000000000000000000000000000"}))
                  .read_address()
                  .error(),
              Error::abi_bad_padding);
    // bytes3 with a 4th byte set.
    EXPECT_EQ(
        AbiDecoder(words({"0x6162636400000000000000000000000000000000000000000000000000000000"}))
            .read_fixed_bytes(3)
            .error(),
        Error::abi_bad_padding);
    // The same words are fine where the type allows them.
    EXPECT_TRUE(
        AbiDecoder(words({"0x6162636400000000000000000000000000000000000000000000000000000000"}))
            .read_fixed_bytes(4));
}

TEST(abi, rejects_values_out_of_range) {
    EXPECT_EQ(AbiDecoder(words({"0x02"})).read_bool().error(), Error::abi_value_out_of_range);
    EXPECT_EQ(AbiDecoder(words({"0x0101"})).read_bool().error(), Error::abi_value_out_of_range);
    EXPECT_EQ(AbiDecoder(words({kHighBitWord})).read_bool().error(), Error::abi_value_out_of_range);
    EXPECT_EQ(AbiDecoder(words({"0x010000000000000000"})).read_uint(64).error(),
              Error::abi_value_out_of_range);
    EXPECT_EQ(AbiDecoder(words({"0x0100"})).read_uint(8).error(), Error::abi_value_out_of_range);
    EXPECT_EQ(AbiDecoder(words({"0x0100000000"})).read_uint(32).error(),
              Error::abi_value_out_of_range);
    // The largest value of each width is accepted.
    EXPECT_EQ(AbiDecoder(words({"0xff"})).read_uint(8).value(), 0xffu);
    EXPECT_EQ(AbiDecoder(words({"0xffffffff"})).read_uint(32).value(), 0xffffffffu);
    EXPECT_EQ(AbiDecoder(words({kMaxU64Word})).read_uint(64).value(), UINT64_MAX);
}

TEST(abi, decode_call_checks_the_selector) {
    const Bytes calldata = hex_bytes(
        "0xcdcd77c000000000000000000000000000000000000000000000000000000000000000450000000000000000"
        "000000000000000000000000000000000000000000000001");
    EXPECT_EQ(decode_call(calldata, function_selector("baz(uint64,bool)")).error(),
              Error::abi_wrong_selector);
    auto d = decode_call(calldata, function_selector("baz(uint32,bool)"));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->read_uint(32).value(), 69u);
    EXPECT_TRUE(d->read_bool().value());
}

TEST(abi, u256_range_helpers) {
    EXPECT_EQ(U256::from_u64(0x1234).hex(),
              "0x0000000000000000000000000000000000000000000000000000000000001234");
    EXPECT_EQ(U256::from_u64(UINT64_MAX).to_u64(), UINT64_MAX);
    U256 v = U256::from_u64(0);
    v.bytes[23] = 1;  // 2^64
    EXPECT_FALSE(v.to_u64());
    EXPECT_TRUE(v.fits_bits(72));
    EXPECT_FALSE(v.fits_bits(64));
    EXPECT_TRUE(U256::from_u64(0x7f).fits_bits(7 + 1));
    EXPECT_FALSE(U256::from_u64(0x100).fits_bits(8));
    const auto from = U256::from_be_bytes(Bytes{0x12, 0x34});
    ASSERT_TRUE(from);
    EXPECT_EQ(*from, U256::from_u64(0x1234));
    EXPECT_FALSE(U256::from_be_bytes(Bytes(33, 0)));
}

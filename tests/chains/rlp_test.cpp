// Proves the RLP encoder and strict decoder against Ethereum's official RLP tests and edge cases.
#include "chains/evm/rlp.hpp"
#include "crypto/hex.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace ferry::chains::evm;
using ferry::crypto::from_hex;

namespace {

Bytes hex(std::string_view s) { return from_hex(s).value(); }

// Decimal digits to big-endian bytes without leading zeros (for the '#' big integers).
Bytes decimal_to_be(std::string_view digits) {
    Bytes be;  // big-endian, grows at the front
    for (const char c : digits) {
        unsigned carry = static_cast<unsigned>(c - '0');
        for (auto it = be.rbegin(); it != be.rend(); ++it) {
            const unsigned v = *it * 10u + carry;
            *it = static_cast<std::uint8_t>(v & 0xff);
            carry = v >> 8;
        }
        while (carry != 0) {
            be.insert(be.begin(), static_cast<std::uint8_t>(carry & 0xff));
            carry >>= 8;
        }
    }
    return be;
}

// The bytes a string or integer leaf of an ethereum/tests "in" value stands for.
Bytes leaf_bytes(const nlohmann::json& in) {
    if (in.is_number_unsigned()) {
        Bytes be;
        for (auto v = in.get<std::uint64_t>(); v != 0; v >>= 8)
            be.insert(be.begin(), static_cast<std::uint8_t>(v & 0xff));
        return be;
    }
    const auto s = in.get<std::string>();
    if (!s.empty() && s[0] == '#') return decimal_to_be(s.substr(1));
    return {s.begin(), s.end()};
}

void encode_json(RlpEncoder& e, const nlohmann::json& in) {
    if (in.is_array()) {
        e.begin_list();
        for (const auto& v : in) encode_json(e, v);
        e.end_list();
    } else if (in.is_number_unsigned()) {
        e.add_uint(in.get<std::uint64_t>());
    } else {
        e.add_bytes(leaf_bytes(in));
    }
}

// Checks that a decoded item has the structure and contents of the "in" value.
void expect_matches(const RlpItem& item, const nlohmann::json& in, const std::string& where) {
    if (in.is_array()) {
        ASSERT_TRUE(item.is_list) << where;
        auto list = RlpListReader::open(item);
        ASSERT_TRUE(list) << where;
        ASSERT_EQ(list->count().value(), in.size()) << where;
        for (std::size_t i = 0; i < in.size(); ++i) {
            auto child = list->next();
            ASSERT_TRUE(child) << where;
            expect_matches(*child, in[i], where + "[" + std::to_string(i) + "]");
        }
        EXPECT_TRUE(list->finish()) << where;
        return;
    }
    ASSERT_FALSE(item.is_list) << where;
    const Bytes want = leaf_bytes(in);
    const auto got = item.bytes().value();
    EXPECT_EQ(Bytes(got.begin(), got.end()), want) << where;
    if (in.is_number_unsigned()) {
        EXPECT_EQ(item.to_u64().value(), in.get<std::uint64_t>()) << where;
    }
}

// Re-encodes a decoded item from its parts (not by copying `encoded`).
void reencode(RlpEncoder& e, const RlpItem& item) {
    if (!item.is_list) {
        e.add_bytes(item.payload);
        return;
    }
    auto list = RlpListReader::open(item).value();
    e.begin_list();
    while (!list.empty()) reencode(e, list.next().value());
    e.end_list();
}

Bytes nested_lists(std::size_t depth) {
    Bytes b = {0xc0};
    for (std::size_t d = 1; d < depth; ++d)
        b.insert(b.begin(), static_cast<std::uint8_t>(0xc0 + b.size()));
    return b;
}

Error expected_error(const std::string& name) {
    // From the RLP rules, per kind of case in ethereum/tests.
    if (name.starts_with("bytesShouldBeSingleByte")) return Error::rlp_non_canonical_byte;
    if (name.starts_with("leadingZeros") || name.starts_with("nonOptimal") ||
        name.starts_with("wrongSizeList") || name == "incorrectLengthInArray")
        return Error::rlp_non_canonical_size;
    if (name.starts_with("lessThan") || name.starts_with("int32Overflow") ||
        name == "emptyEncoding")
        return Error::rlp_truncated;
    return Error::ok;  // no single expected code
}

}  // namespace

TEST(rlp, encodes_official_valid_vectors) {
    const auto doc = ferry::test::load_vectors("rlp.json");
    ASSERT_EQ(doc["valid"].size(), 28u);
    for (const auto& [name, v] : doc["valid"].items()) {
        RlpEncoder e;
        encode_json(e, v["in"]);
        EXPECT_EQ(e.bytes(), hex(v["out"].get<std::string>())) << name;
    }
}

TEST(rlp, decodes_official_valid_vectors_and_round_trips) {
    const auto doc = ferry::test::load_vectors("rlp.json");
    for (const auto& [name, v] : doc["valid"].items()) {
        const Bytes out = hex(v["out"].get<std::string>());
        auto item = rlp_decode(out);
        ASSERT_TRUE(item) << name << ": " << item.error().message();
        EXPECT_EQ(item->encoded.size(), out.size()) << name;
        expect_matches(*item, v["in"], name);
        RlpEncoder e;
        reencode(e, *item);
        EXPECT_EQ(e.bytes(), out) << name;
    }
}

TEST(rlp, rejects_official_invalid_vectors) {
    const auto doc = ferry::test::load_vectors("rlp.json");
    std::size_t count = 0;
    for (const char* group : {"invalid", "invalid_later_revision"}) {
        for (const auto& [name, v] : doc[group].items()) {
            const Bytes in = hex(v.get<std::string>());
            auto item = rlp_decode(in);
            ASSERT_FALSE(item) << name;
            if (const Error want = expected_error(name); want != Error::ok) {
                EXPECT_EQ(item.error(), make_error_code(want)) << name;
            }
            ++count;
        }
    }
    EXPECT_EQ(count, 26u);
}

TEST(rlp, every_truncation_and_extension_of_a_valid_vector_fails) {
    const auto doc = ferry::test::load_vectors("rlp.json");
    for (const auto& [name, v] : doc["valid"].items()) {
        Bytes out = hex(v["out"].get<std::string>());
        for (std::size_t n = 0; n < out.size(); ++n)
            EXPECT_FALSE(rlp_decode(ByteView(out).first(n))) << name << " prefix " << n;
        out.push_back(0x00);
        auto item = rlp_decode(out);
        ASSERT_FALSE(item) << name;
        EXPECT_EQ(item.error(), make_error_code(Error::rlp_trailing_bytes)) << name;
    }
}

TEST(rlp, listofbinaries_quirk_is_four_items_then_padding) {
    const auto doc = ferry::test::load_vectors("rlp.json");
    const auto& q = doc["quirks"]["listofbinaries"];
    const Bytes out = hex(q["out"].get<std::string>());
    auto strict = rlp_decode(out);
    ASSERT_FALSE(strict);
    EXPECT_EQ(strict.error(), make_error_code(Error::rlp_trailing_bytes));

    ByteView rest;
    auto item = rlp_decode_prefix(out, rest);
    ASSERT_TRUE(item);
    EXPECT_EQ(rest.size(), 153u);
    for (const auto b : rest) EXPECT_EQ(b, 0);
    auto list = RlpListReader::open(*item).value();
    for (std::size_t i = 0; i < 4; ++i) {
        const auto got = list.next_bytes().value();
        EXPECT_EQ(Bytes(got.begin(), got.end()), hex(q["in"][i].get<std::string>())) << i;
    }
    EXPECT_TRUE(list.finish());
}

TEST(rlp, integers_are_canonical_and_bounded) {
    EXPECT_EQ(rlp_encode_uint(0), hex("80"));
    EXPECT_EQ(rlp_encode_uint(0x7f), hex("7f"));
    EXPECT_EQ(rlp_encode_uint(0x80), hex("8180"));
    EXPECT_EQ(rlp_encode_uint(0x0100), hex("820100"));
    EXPECT_EQ(rlp_encode_uint(UINT64_MAX), hex("88ffffffffffffffff"));

    EXPECT_EQ(rlp_decode(hex("80"))->to_u64().value(), 0u);
    EXPECT_EQ(rlp_decode(hex("88ffffffffffffffff"))->to_u64().value(), UINT64_MAX);
    // 0x00 is the integer zero written with a leading zero byte; zero is 0x80.
    EXPECT_EQ(rlp_decode(hex("00"))->to_u64().error(),
              make_error_code(Error::rlp_integer_leading_zero));
    EXPECT_EQ(rlp_decode(hex("820001"))->to_u64().error(),
              make_error_code(Error::rlp_integer_leading_zero));
    EXPECT_EQ(rlp_decode(hex("89010000000000000000"))->to_u64().error(),
              make_error_code(Error::rlp_integer_overflow));
    EXPECT_EQ(rlp_decode(hex("c0"))->to_u64().error(), make_error_code(Error::rlp_unexpected_list));

    // 256-bit: 2^256 - 1 fits, 2^256 (the official 'bigint' vector) does not.
    const Bytes max256 = hex("a0" + std::string(64, 'f'));
    const U256 got = rlp_decode(max256)->to_u256().value();
    for (const auto b : got.bytes) EXPECT_EQ(b, 0xff);
    EXPECT_EQ(
        rlp_decode(hex("a1010000000000000000000000000000000000000000000000000000000000000000"))
            ->to_u256()
            .error(),
        make_error_code(Error::rlp_integer_overflow));
    EXPECT_EQ(RlpEncoder().add_uint(got).take(), max256);
    EXPECT_EQ(RlpEncoder().add_uint(U256::from_u64(0x0400)).take(), hex("820400"));
    EXPECT_EQ(RlpEncoder().add_uint(U256{}).take(), hex("80"));
    EXPECT_EQ(RlpEncoder().add_uint_be(hex("0000000001")).take(), hex("01"));
    EXPECT_EQ(RlpEncoder().add_uint_be(hex("000081")).take(), hex("8181"));
}

TEST(rlp, long_lengths_cannot_overflow_or_read_past_the_input) {
    for (const char* h : {"bfffffffffffffffff", "ffffffffffffffffff", "bf7fffffffffffffff00",
                          "b9ffff", "f9ffff00", "bb0100000000", "b8"}) {
        auto item = rlp_decode(hex(h));
        ASSERT_FALSE(item) << h;
        EXPECT_EQ(item.error(), make_error_code(Error::rlp_truncated)) << h;
    }
    // A list whose last item claims more than the list holds.
    auto item = rlp_decode(hex("c28201"));
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error(), make_error_code(Error::rlp_truncated));
    // Non-canonical items nested inside an otherwise fine list are found too.
    item = rlp_decode(hex("c3c28100"));
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error(), make_error_code(Error::rlp_non_canonical_byte));
}

TEST(rlp, nesting_is_limited) {
    EXPECT_TRUE(rlp_decode(nested_lists(kRlpMaxDepth)));
    auto item = rlp_decode(nested_lists(kRlpMaxDepth + 1));
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error(), make_error_code(Error::rlp_too_deep));
}

TEST(rlp, encoder_builds_long_and_nested_lists) {
    // 60 one-byte strings: a long-form list (0xf8 0x3c).
    RlpEncoder e;
    e.begin_list();
    for (int i = 0; i < 60; ++i) e.add_uint(1);
    e.end_list();
    Bytes want = hex("f83c");
    want.insert(want.end(), 60, 0x01);
    EXPECT_EQ(e.bytes(), want);

    // A 300-byte string inside a list inside a list: 0xf9012f [0xf9012c [0xb9012c ...]].
    const Bytes blob(300, 0xab);
    RlpEncoder n;
    n.begin_list().begin_list().add_bytes(blob).end_list().end_list();
    Bytes nested = hex("f90132f9012fb9012c");
    nested.insert(nested.end(), blob.begin(), blob.end());
    EXPECT_EQ(n.bytes(), nested);

    EXPECT_THROW(RlpEncoder().end_list(), std::logic_error);
    RlpEncoder open;
    open.begin_list();
    EXPECT_THROW((void)open.bytes(), std::logic_error);
}

TEST(rlp, list_reader_reports_misuse_as_errors) {
    const Bytes in = hex("c88363617483646f67");  // ["cat", "dog"]
    auto item = rlp_decode(in).value();
    auto list = RlpListReader::open(item).value();
    EXPECT_EQ(list.next_list().error(), make_error_code(Error::rlp_unexpected_string));
    EXPECT_FALSE(list.finish());
    EXPECT_EQ(list.finish().error(), make_error_code(Error::rlp_trailing_bytes));
    EXPECT_EQ(list.next_fixed<20>().error(), make_error_code(Error::rlp_wrong_size));
    EXPECT_TRUE(list.empty());
    EXPECT_EQ(list.next().error(), make_error_code(Error::rlp_truncated));
    EXPECT_TRUE(list.finish());

    EXPECT_EQ(RlpListReader::open(rlp_decode(hex("83636174")).value()).error(),
              make_error_code(Error::rlp_unexpected_string));
    EXPECT_EQ(item.bytes().error(), make_error_code(Error::rlp_unexpected_list));
    const auto fixed = rlp_decode(hex("83636174"))->to_fixed<3>().value();
    EXPECT_EQ(fixed.hex(), "0x636174");
}

// Proves hex decoding reports each kind of bad input precisely and strong types round-trip.
#include "crypto/hex.hpp"
#include "crypto/types.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

using namespace ferry::crypto;
using namespace ferry::crypto::literals;

TEST(hex, round_trips_bytes) {
    const Bytes b = {0x00, 0x01, 0xab, 0xff};
    EXPECT_EQ(to_hex(b), "0x0001abff");
    EXPECT_EQ(to_hex(b, false), "0001abff");
    EXPECT_EQ(from_hex("0x0001ABff").value(), b);
    EXPECT_EQ(from_hex("0001abff").value(), b);
    EXPECT_TRUE(from_hex("0x").value().empty());
}

TEST(hex, reports_each_error) {
    EXPECT_EQ(from_hex("0x123").error(), Error::hex_odd_length);
    EXPECT_EQ(from_hex("0x12g4").error(), Error::hex_bad_digit);
    EXPECT_EQ(from_hex("0x 1").error(), Error::hex_bad_digit);
    EXPECT_EQ(from_hex("1234", HexPrefix::required).error(), Error::hex_missing_prefix);
    EXPECT_EQ(from_hex("0x1234", HexPrefix::forbidden).error(), Error::hex_unexpected_prefix);
    EXPECT_EQ(Address::from_hex("0x1234").error(), Error::hex_wrong_size);
    EXPECT_NE(from_hex("0xzz").error().message().find("not a hex digit"), std::string::npos);
}

TEST(types, address_and_hash_parse_and_compare) {
    constexpr auto a = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"_address;
    const auto parsed = Address::from_hex("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, a);
    EXPECT_EQ(a.hex(), "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    EXPECT_EQ(Address::from_hex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266").error(),
              Error::hex_missing_prefix);
    EXPECT_TRUE(Hash32{}.is_zero());
    EXPECT_LT(Address{}, a);
    std::unordered_set<Address> set{a, a, Address{}};
    EXPECT_EQ(set.size(), 2u);
}

TEST(types, private_key_parses_without_printing) {
    const auto k =
        PrivateKey::from_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->reveal_hex(),
              "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    EXPECT_EQ(PrivateKey::from_hex("0xac09").error(), Error::hex_wrong_size);
    EXPECT_EQ(PrivateKey::from_bytes(Bytes(31)).error(), Error::invalid_private_key);
}

// eip55_ok accepts the checksummed addresses of EIP-55 and single-case ones, and catches a
// mixed-case typo.
#include "crypto/types.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using ferry::crypto::Address;
using ferry::crypto::eip55_ok;

bool ok(std::string_view hex40) {
    return eip55_ok(hex40, Address::from_hex("0x" + std::string(hex40)).value());
}

TEST(eip55, accepts_the_vectors_of_the_eip) {
    // EIP-55 "Test Cases" (eips.ethereum.org/EIPS/eip-55).
    for (const std::string_view hex :
         {"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
          "dbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "D1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"})
        EXPECT_TRUE(ok(hex)) << hex;
}

TEST(eip55, single_case_needs_no_checksum) {
    EXPECT_TRUE(ok("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
    EXPECT_TRUE(ok("5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"));
}

TEST(eip55, a_flipped_case_fails) {
    EXPECT_FALSE(ok("5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
    EXPECT_FALSE(ok("fb6916095ca1df60bB79Ce92cE3Ea74c37c5d359"));
}

TEST(eip55, wrong_length_is_not_an_address) {
    const auto address = Address::from_hex("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").value();
    EXPECT_FALSE(eip55_ok("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", address));
    EXPECT_FALSE(eip55_ok("", address));
}

}  // namespace

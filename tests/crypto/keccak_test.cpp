// Proves keccak256 matches published Keccak-256 vectors (not SHA3-256) in one shot and in pieces.
#include "crypto/keccak.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ferry::crypto;

namespace {

Bytes input_of(const nlohmann::json& v) {
    if (v.contains("input_ascii")) {
        const auto s = v["input_ascii"].get<std::string>();
        return {s.begin(), s.end()};
    }
    return from_hex(v["input_hex"].get<std::string>()).value();
}

}  // namespace

TEST(keccak, matches_published_vectors) {
    const auto doc = ferry::test::load_vectors("keccak256.json");
    ASSERT_GE(doc["vectors"].size(), 5u);
    for (const auto& v : doc["vectors"]) {
        const Bytes in = input_of(v);
        const std::string got = keccak256(in).hex();
        if (v.contains("hash"))
            EXPECT_EQ(got, v["hash"].get<std::string>()) << v.dump();
        else
            EXPECT_EQ(got.substr(0, 10), v["hash_prefix"].get<std::string>()) << v.dump();
    }
}

TEST(keccak, empty_input_is_not_sha3_256) {
    // SHA3-256("") is a7ffc6f8...; Ethereum's Keccak-256("") is c5d24601...
    EXPECT_EQ(keccak256({}).hex(),
              "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(keccak, incremental_equals_one_shot) {
    Bytes data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    Keccak256 h;
    for (std::size_t off = 0; off < data.size(); off += 137)
        h.update(ByteView(data).subspan(off, std::min<std::size_t>(137, data.size() - off)));
    EXPECT_EQ(h.finish(), keccak256(data));
    // finish() resets: hashing again gives the empty hash.
    EXPECT_EQ(h.finish(), keccak256({}));
}

// Key safety: private keys and secret buffers are wiped when cleared, moved from and destroyed,
// and read_secret_file reads a secret whole, within its limit, naming the file in its errors.
// Where the wipe can be seen deterministically (storage we still own), the test reads it back.
#include "crypto/secret.hpp"
#include "crypto/secp256k1.hpp"
#include "crypto/types.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

using namespace ferry::crypto;

namespace {

constexpr const char* kKeyHex =
    "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

bool all_zero(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    return std::all_of(b, b + n, [](unsigned char c) { return c == 0; });
}

}  // namespace

TEST(secret_buffer, clear_wipes_every_byte_of_its_storage_and_keeps_it) {
    SecretBuffer s("correct horse battery staple");
    s.append(std::string_view(" and more"));
    ASSERT_EQ(s.view(), "correct horse battery staple and more");
    const char* storage = s.data();
    const std::size_t capacity = s.capacity();
    ASSERT_GE(capacity, s.size());
    ASSERT_FALSE(all_zero(storage, s.size()));

    s.clear();
    EXPECT_EQ(s.size(), 0u);
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.data(), storage) << "clear() keeps the storage, so it can be checked";
    EXPECT_EQ(s.capacity(), capacity);
    EXPECT_TRUE(all_zero(storage, capacity));

    s.append(std::string_view("again"));
    EXPECT_EQ(s.view(), "again");
}

TEST(secret_buffer, pop_back_wipes_the_byte_it_removes) {
    SecretBuffer s("password\r\n");
    const char* storage = s.data();
    s.pop_back();
    s.pop_back();
    EXPECT_EQ(s.view(), "password");
    EXPECT_EQ(storage[8], '\0');
    EXPECT_EQ(storage[9], '\0');
}

TEST(secret_buffer, grows_without_losing_bytes_and_moves_leave_the_source_empty) {
    SecretBuffer s;
    std::string expected;
    for (int i = 0; i < 200; ++i) {
        const std::string piece = "chunk-" + std::to_string(i) + ";";
        s.append(piece);
        expected += piece;
    }
    EXPECT_EQ(s.view(), expected);
    EXPECT_EQ(s.bytes().size(), expected.size());

    const char* storage = s.data();
    SecretBuffer moved(std::move(s));
    EXPECT_EQ(moved.data(), storage);
    EXPECT_EQ(moved.view(), expected);
    EXPECT_EQ(s.size(), 0u);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(s.data(), nullptr);

    SecretBuffer assigned("old secret");
    assigned = std::move(moved);
    EXPECT_EQ(assigned.view(), expected);
    EXPECT_EQ(moved.data(), nullptr);  // NOLINT(bugprone-use-after-move)
}

TEST(private_key, moving_wipes_the_source) {
    const PrivateKey original = PrivateKey::from_hex(kKeyHex).value();
    PrivateKey a = original;
    EXPECT_FALSE(a.is_zero());

    PrivateKey b(std::move(a));
    EXPECT_TRUE(a.is_zero());  // NOLINT(bugprone-use-after-move): the wipe is the point
    EXPECT_TRUE(all_zero(a.data(), PrivateKey::size()));
    EXPECT_TRUE(b == original);

    PrivateKey c;
    c = std::move(b);
    EXPECT_TRUE(b.is_zero());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(c == original);

    // A copy is a second owner: both hold the key until each is wiped or destroyed.
    PrivateKey d = c;
    EXPECT_TRUE(d == original);
    EXPECT_TRUE(c == original);

    // The moved-to key still signs as the original did.
    const auto& secp = Secp256k1Context::instance();
    EXPECT_EQ(secp.address(c).value(), secp.address(original).value());
    // A wiped (all-zero) key is refused, never used to sign.
    d.wipe();
    EXPECT_TRUE(d.is_zero());
    EXPECT_FALSE(secp.address(d));
    EXPECT_FALSE(secp.sign(Hash32{}, d));
}

TEST(private_key, destructor_wipes_its_bytes) {
    // Construct in storage this test owns, destroy it, and read the storage back.
    alignas(PrivateKey) std::array<unsigned char, sizeof(PrivateKey)> storage{};
    auto* key = new (storage.data()) PrivateKey(PrivateKey::from_hex(kKeyHex).value());
    ASSERT_FALSE(all_zero(storage.data(), storage.size()));
    key->~PrivateKey();
    EXPECT_TRUE(all_zero(storage.data(), storage.size()));
}

TEST(secret_buffer, destructor_wipes_its_bytes) {
    // The heap block itself is freed (clear_wipes_every_byte_of_its_storage_and_keeps_it shows
    // the wipe that precedes it); what remains of the object points nowhere and has no size.
    alignas(SecretBuffer) std::array<unsigned char, sizeof(SecretBuffer)> storage{};
    auto* s = new (storage.data()) SecretBuffer("hunter2");
    EXPECT_EQ(s->view(), "hunter2");
    s->~SecretBuffer();
    EXPECT_TRUE(all_zero(storage.data(), storage.size()))
        << "the destroyed buffer still points at its block or records a size";
}

namespace {

/// A file under the temp directory, removed at the end of the test.
class TempFile {
public:
    explicit TempFile(std::string_view content)
        : path_(std::filesystem::temp_directory_path() /
                ("ferry_secret_test_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter_++))) {
        std::ofstream(path_, std::ios::binary) << content;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

}  // namespace

TEST(read_secret_file, reads_the_whole_file_newline_included) {
    const TempFile file("hunter2\n");
    const auto secret = read_secret_file(file.path(), 64);
    ASSERT_TRUE(secret);
    EXPECT_EQ(secret->view(), "hunter2\n");
}

TEST(read_secret_file, reads_more_than_one_chunk_up_to_the_limit) {
    const std::string big(10'000, 'k');
    const TempFile file(big);
    const auto secret = read_secret_file(file.path(), big.size());
    ASSERT_TRUE(secret);
    EXPECT_EQ(secret->view(), big);
}

TEST(read_secret_file, over_the_limit_is_too_large_and_not_quoted) {
    const TempFile file("SECRET-CONTENT-0123456789");
    const auto secret = read_secret_file(file.path(), 10);
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().code, SecretFileError::Code::too_large);
    const std::string message = secret.error().message(10);
    EXPECT_EQ(message, file.path().string() + " is larger than 10 bytes");
    EXPECT_EQ(message.find("SECRET"), std::string::npos);
}

TEST(read_secret_file, a_missing_file_is_named_with_the_reason) {
    const auto missing = std::filesystem::temp_directory_path() / "ferry_no_such_secret_file";
    const auto secret = read_secret_file(missing, 64);
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().code, SecretFileError::Code::cannot_open);
    EXPECT_EQ(secret.error().path, missing);
    EXPECT_EQ(secret.error().message(64),
              "cannot read " + missing.string() + ": No such file or directory");
}

TEST(read_secret_file, a_directory_cannot_be_read) {
    const auto secret = read_secret_file(std::filesystem::temp_directory_path(), 64);
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().code, SecretFileError::Code::cannot_read);
}

TEST(read_secret_file, an_empty_file_gives_an_empty_secret) {
    const TempFile file("");
    const auto secret = read_secret_file(file.path(), 64);
    ASSERT_TRUE(secret);
    EXPECT_TRUE(secret->empty());
}

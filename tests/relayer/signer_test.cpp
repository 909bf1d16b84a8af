// load_signer (cli/cli_common.hpp): the key from an environment variable or a keystore file
// with its password file; group/world-readable keystores are refused with a message that names
// the file and the fix; no error ever carries the key or the password.
#include "cli/cli_common.hpp"
#include "crypto/keystore.hpp"
#include "crypto/secp256k1.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using namespace ferry;
using relayer::KeyOptions;
using relayer::load_signer;

namespace {

constexpr const char* kKeyHex = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
constexpr const char* kPassword = "s3cret-pass";

class signer : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "ferry-signer-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        key_ = crypto::PrivateKey::from_hex(kKeyHex).value();
        address_ = crypto::Secp256k1Context::instance().address(key_).value();
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        ::unsetenv("FERRY_SIGNER_TEST_KEY");
    }

    /// A keystore of key_ (cheap scrypt) saved 0600, then chmod-ed to `mode`.
    std::string keystore(mode_t mode) {
        crypto::KeystoreParams p;
        p.scrypt_n = 1024;
        const auto text = crypto::encrypt_keystore(key_, kPassword, p).value();
        const std::string path = (dir_ / "key.json").string();
        fs::remove(path);
        EXPECT_TRUE(crypto::save_keystore_file(path, text));
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        return path;
    }
    std::string password_file(const std::string& content) {
        const std::string path = (dir_ / "password").string();
        std::ofstream(path, std::ios::trunc | std::ios::binary) << content;
        return path;
    }
    static void expect_no_secret(const std::string& message) {
        EXPECT_EQ(message.find(kKeyHex), std::string::npos) << message;
        EXPECT_EQ(message.find(kPassword), std::string::npos) << message;
    }

    fs::path dir_;
    crypto::PrivateKey key_;
    crypto::Address address_;
};

}  // namespace

TEST_F(signer, loads_a_0600_keystore_with_its_password_file) {
    KeyOptions o;
    o.keystore = keystore(0600);
    o.password_file = password_file(std::string(kPassword) + "\r\n");
    auto s = load_signer(o);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->address, address_);
    EXPECT_TRUE(s->key == key_);

    // Moving the Signer moves the key and wipes the source.
    relayer::Signer moved = std::move(*s);
    EXPECT_TRUE(s->key.is_zero());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(moved.key == key_);
}

TEST_F(signer, refuses_a_keystore_group_or_others_can_read_naming_file_and_fix) {
    for (const mode_t mode : {0644u, 0640u, 0604u, 0660u}) {
        KeyOptions o;
        o.keystore = keystore(mode);
        o.password_file = password_file(kPassword);
        auto s = load_signer(o);
        ASSERT_FALSE(s) << std::oct << mode;
        const std::string& m = s.error().message;
        EXPECT_NE(m.find(o.keystore), std::string::npos) << m;
        EXPECT_NE(m.find("readable by group or others"), std::string::npos) << m;
        EXPECT_NE(m.find("chmod 600"), std::string::npos) << m;
        expect_no_secret(m);
    }
}

TEST_F(signer, wrong_password_and_missing_files_say_which_input) {
    KeyOptions o;
    o.keystore = keystore(0600);
    o.password_file = password_file("not the password");
    auto wrong = load_signer(o);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message.find("wrong password"), std::string::npos)
        << wrong.error().message;
    expect_no_secret(wrong.error().message);

    o.password_file = (dir_ / "absent").string();
    auto missing = load_signer(o);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("--password-file"), std::string::npos);
    EXPECT_NE(missing.error().message.find("absent"), std::string::npos);

    o.password_file = password_file(std::string(70 * 1024, 'x'));
    auto big = load_signer(o);
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().message.find("too large"), std::string::npos) << big.error().message;
}

TEST_F(signer, reads_the_key_from_an_environment_variable_without_echoing_it) {
    KeyOptions o;
    o.env_var = "FERRY_SIGNER_TEST_KEY";
    ASSERT_EQ(::setenv(o.env_var.c_str(), (std::string(kKeyHex) + "\n").c_str(), 1), 0);
    auto s = load_signer(o);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->address, address_);

    const std::string bad = std::string(kKeyHex).substr(0, 60) + "zz";
    ASSERT_EQ(::setenv(o.env_var.c_str(), bad.c_str(), 1), 0);
    auto refused = load_signer(o);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("FERRY_SIGNER_TEST_KEY"), std::string::npos);
    EXPECT_EQ(refused.error().message.find(bad), std::string::npos) << refused.error().message;
}

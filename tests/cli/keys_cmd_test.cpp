// Proves `ferry keys new|import|list|export`: files are 0600, the known anvil key imports to its
// known address, a private key is printed only with --show-private-key, an exposed (0644) file
// is refused, and passwords come from a file or an environment variable.
#include "run_ferry.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using ferry::test::run_ferry;
using nlohmann::json;

// anvil's account #0.
constexpr const char* kAnvilKey =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* kAnvilAddress = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
constexpr const char* kPassword = "pa55-word for the keys test";

class KeysTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("ferry-keys-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        password_file_ = (dir_ / "password.txt").string();
        std::ofstream(password_file_) << kPassword << "\n";
        keys_ = (dir_ / "keys").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// Imports the anvil key (from a file) with the password file; its keystore path.
    std::string import_anvil_key() {
        const auto key_file = (dir_ / "key.hex").string();
        std::ofstream(key_file) << kAnvilKey << "\n";
        const auto r =
            run_ferry({"keys", "import", "--keystore-dir", keys_, "--private-key-file", key_file,
                       "--password-file", password_file_, "--scrypt-n", "1024", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const json j = json::parse(r.out);
        EXPECT_EQ(j["address"], kAnvilAddress);
        return j["path"].get<std::string>();
    }

    fs::path dir_;
    std::string password_file_;
    std::string keys_;
};

unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

TEST_F(KeysTest, new_writes_a_0600_keystore_and_list_shows_it) {
    const auto r = run_ferry({"keys", "new", "--keystore-dir", keys_, "--password-file",
                              password_file_, "--scrypt-n", "1024"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Two lines: the address and the file; nothing else (no key).
    ASSERT_EQ(r.out.rfind("address  0x", 0), 0u) << r.out;
    const std::string address = r.out.substr(9, 42);
    const auto file_at = r.out.find("\nfile     ");
    ASSERT_NE(file_at, std::string::npos);
    const std::string path = r.out.substr(file_at + 10, r.out.size() - file_at - 11);
    EXPECT_EQ(r.out, "address  " + address + "\nfile     " + path + "\n");
    EXPECT_EQ(fs::path(path).parent_path(), fs::path(keys_));
    EXPECT_EQ(mode_of(path), 0600u);

    const auto list = run_ferry({"keys", "list", "--keystore-dir", keys_});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find(address + "  " + path), std::string::npos) << list.out;
    EXPECT_EQ(list.err, "");

    // The password decrypts it and the key belongs to the address.
    const auto exported = run_ferry({"keys", "export", "--keystore", path, "--password-env",
                                     "FERRY_TEST_PW", "--show-private-key", "--json"},
                                    {std::string("FERRY_TEST_PW=") + kPassword});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    EXPECT_EQ(json::parse(exported.out)["address"], address);
}

TEST_F(KeysTest, import_of_the_anvil_key_gives_its_address) {
    const auto path = import_anvil_key();
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_NE(path.find("f39fd6e51aad88f6f4ce6ab8827279cfffb92266"), std::string::npos);
    const auto list = run_ferry({"keys", "list", "--keystore-dir", keys_, "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    const json j = json::parse(list.out);
    ASSERT_EQ(j["keys"].size(), 1u);
    EXPECT_EQ(j["keys"][0]["address"], kAnvilAddress);
    EXPECT_EQ(j["keys"][0]["insecure"], false);
    // Importing it twice is refused.
    const auto again = run_ferry({"keys", "import", "--keystore-dir", keys_, "--private-key-env",
                                  "FERRY_TEST_KEY", "--password-file", password_file_},
                                 {std::string("FERRY_TEST_KEY=") + kAnvilKey});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

TEST_F(KeysTest, import_reads_the_key_from_stdin_or_env_never_echoing_it) {
    const auto from_stdin =
        run_ferry({"keys", "import", "--keystore-dir", keys_, "--password-env", "FERRY_TEST_PW",
                   "--scrypt-n", "1024"},
                  {std::string("FERRY_TEST_PW=") + kPassword}, std::string(kAnvilKey) + "\n");
    ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
    EXPECT_EQ(from_stdin.out.rfind(std::string("address  ") + kAnvilAddress + "\n", 0), 0u);
    const std::string bare_key = std::string(kAnvilKey).substr(2);
    EXPECT_EQ(from_stdin.out.find(bare_key), std::string::npos);
    EXPECT_EQ(from_stdin.err.find(bare_key), std::string::npos);

    const auto other = (dir_ / "other").string();
    const auto from_env =
        run_ferry({"keys", "import", "--keystore-dir", other, "--private-key-env", "FERRY_TEST_KEY",
                   "--password-file", password_file_, "--scrypt-n", "1024", "--json"},
                  {std::string("FERRY_TEST_KEY=") + kAnvilKey});
    ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
    EXPECT_EQ(json::parse(from_env.out)["address"], kAnvilAddress);

    const auto garbage = run_ferry({"keys", "import", "--keystore-dir", other, "--private-key-env",
                                    "FERRY_TEST_KEY", "--password-file", password_file_},
                                   {"FERRY_TEST_KEY=0xnot-a-key-but-secret-ish"});
    EXPECT_EQ(garbage.exit_code, 1);
    EXPECT_EQ(garbage.err.find("not-a-key-but-secret-ish"), std::string::npos) << garbage.err;
    EXPECT_NE(garbage.err.find("FERRY_TEST_KEY does not hold a private key"), std::string::npos);
    // No key flag on the command line exists at all.
    EXPECT_EQ(run_ferry({"keys", "import", "--keystore-dir", other, "--private-key", kAnvilKey})
                  .exit_code,
              2);
}

TEST_F(KeysTest, export_refuses_without_the_explicit_flag) {
    const auto path = import_anvil_key();
    const auto refused =
        run_ferry({"keys", "export", "--keystore", path, "--password-file", password_file_});
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_NE(refused.err.find("refusing to print a private key without --show-private-key"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(refused.out, "");

    const auto shown =
        run_ferry({"keys", "export", "--keystore-dir", keys_, "--address", kAnvilAddress,
                   "--password-file", password_file_, "--show-private-key"});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_EQ(shown.out,
              std::string("address      ") + kAnvilAddress + "\nprivate key  " + kAnvilKey + "\n");

    const auto wrong = run_ferry({"keys", "export", "--keystore", path, "--password-env",
                                  "FERRY_TEST_PW", "--show-private-key"},
                                 {"FERRY_TEST_PW=wrong password"});
    EXPECT_EQ(wrong.exit_code, 1);
    EXPECT_NE(wrong.err.find("password"), std::string::npos) << wrong.err;
    EXPECT_EQ(wrong.out, "");
}

TEST_F(KeysTest, a_group_readable_keystore_is_flagged_and_refused) {
    const auto path = import_anvil_key();
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    ASSERT_EQ(mode_of(path), 0644u);
    const auto list = run_ferry({"keys", "list", "--keystore-dir", keys_});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find("INSECURE"), std::string::npos) << list.out;
    EXPECT_EQ(list.err, "warning: " + path +
                            " has mode 0644: readable by group or others; run chmod 600 on it "
                            "(ferry refuses to use it as it is)\n");
    const auto exported = run_ferry({"keys", "export", "--keystore", path, "--password-file",
                                     password_file_, "--show-private-key"});
    EXPECT_EQ(exported.exit_code, 1);
    EXPECT_EQ(exported.err, "ferry keys export: error: keystore '" + path +
                                "' has mode 0644: readable by group or others; run chmod 600 "
                                "on it\n");
    EXPECT_EQ(exported.out, "");
}

TEST_F(KeysTest, password_sources_and_their_errors) {
    const auto no_password = run_ferry({"keys", "new", "--keystore-dir", keys_});
    EXPECT_EQ(no_password.exit_code, 1);
    EXPECT_NE(no_password.err.find("use --password-file FILE or --password-env NAME"),
              std::string::npos)
        << no_password.err;
    const auto unset = run_ferry(
        {"keys", "new", "--keystore-dir", keys_, "--password-env", "FERRY_TEST_NO_SUCH_VAR"});
    EXPECT_EQ(unset.exit_code, 1);
    EXPECT_NE(unset.err.find("FERRY_TEST_NO_SUCH_VAR (--password-env) is not set"),
              std::string::npos);
    const auto missing = run_ferry(
        {"keys", "new", "--keystore-dir", keys_, "--password-file", (dir_ / "nope").string()});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("cannot read --password-file"), std::string::npos);
    const auto both = run_ferry({"keys", "new", "--keystore-dir", keys_, "--password-file",
                                 password_file_, "--password-env", "X"});
    EXPECT_EQ(both.exit_code, 2);
    EXPECT_TRUE(!fs::exists(keys_) || fs::is_empty(keys_));
}

}  // namespace

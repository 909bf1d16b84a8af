// Proves keystore v3 decrypts published vectors, round-trips, rejects bad input, saves 0600.
#include "crypto/keystore.hpp"
#include "tests/support/vectors.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <vector>

using namespace ferry::crypto;
using nlohmann::json;

namespace {

constexpr const char* kWikiAddress = "008aeeda4d805471df9b2a5b0f38a0c3bcba786b";
constexpr const char* kWikiKey = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

PrivateKey wiki_key() { return PrivateKey::from_hex(kWikiKey).value(); }

const json& vectors() {
    static const json doc = ferry::test::load_vectors("keystore_v3.json");
    return doc;
}

// The geth 31-byte-key vector: scrypt n=2, so each decryption is instant.
json cheap_keystore() { return vectors()["short_key_vectors"][0]["keystore"]; }

/// A fresh directory from mkdtemp, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "ferry-keystore-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const char* name) const { return (path_ / name).string(); }
    std::string dir() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

unsigned mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0xffff;
    return st.st_mode & 0777u;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(keystore, decrypts_published_vectors) {
    const auto& list = vectors()["vectors"];
    ASSERT_EQ(list.size(), 2u);
    for (const auto& v : list) {
        const auto key = decrypt_keystore(v["keystore"].dump(), v["password"].get<std::string>());
        ASSERT_TRUE(key) << v["name"] << ": " << key.error().message();
        EXPECT_EQ(key->reveal_hex(), "0x" + v["private_key"].get<std::string>()) << v["name"];
    }
}

TEST(keystore, checks_the_address_field_when_present) {
    json ks = vectors()["vectors"][0]["keystore"];  // pbkdf2, the cheaper of the two
    ASSERT_EQ(ks["crypto"]["kdf"], "pbkdf2");
    ks["address"] = vectors()["vectors"][0]["address"];
    const auto key = decrypt_keystore(ks.dump(), "testpassword");
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->reveal_hex(), std::string("0x") + kWikiKey);

    ks["address"] = "0x0000000000000000000000000000000000000001";
    const auto wrong = decrypt_keystore(ks.dump(), "testpassword");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error(), Error::keystore_malformed);
}

TEST(keystore, left_pads_keys_old_geth_wrote_short) {
    const auto& list = vectors()["short_key_vectors"];
    ASSERT_EQ(list.size(), 2u);
    for (const auto& v : list) {
        const auto key = decrypt_keystore(v["keystore"].dump(), v["password"].get<std::string>());
        ASSERT_TRUE(key) << v["name"] << ": " << key.error().message();
        EXPECT_EQ(key->reveal_hex(), "0x" + v["private_key"].get<std::string>()) << v["name"];
    }
}

TEST(keystore, wrong_password_fails_the_mac) {
    const auto key = decrypt_keystore(cheap_keystore().dump(), "bar");
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error(), Error::keystore_wrong_password);
    const auto empty = decrypt_keystore(cheap_keystore().dump(), "");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error(), Error::keystore_wrong_password);
}

TEST(keystore, accepts_capitalised_crypto_key_and_0x_hex) {
    json ks = cheap_keystore();
    ks["Crypto"] = ks["crypto"];
    ks.erase("crypto");
    ks["Crypto"]["mac"] = "0x" + ks["Crypto"]["mac"].get<std::string>();
    const auto key = decrypt_keystore(ks.dump(), "foo");
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->reveal_hex(),
              "0x" + vectors()["short_key_vectors"][0]["private_key"].get<std::string>());
}

TEST(keystore, round_trips_with_both_kdfs) {
    KeystoreParams scrypt;
    scrypt.scrypt_n = 1024;
    KeystoreParams pbkdf2;
    pbkdf2.kdf = KeystoreParams::Kdf::pbkdf2;
    pbkdf2.pbkdf2_c = 1000;
    const std::regex uuid_v4(
        "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    const std::regex hex32("^[0-9a-f]{64}$");

    for (const auto& params : {scrypt, pbkdf2}) {
        const bool is_scrypt = params.kdf == KeystoreParams::Kdf::scrypt;
        SCOPED_TRACE(is_scrypt ? "scrypt" : "pbkdf2");
        const auto text = encrypt_keystore(wiki_key(), "correct horse", params);
        ASSERT_TRUE(text) << text.error().message();

        const json doc = json::parse(*text);
        EXPECT_EQ(doc["version"], 3);
        EXPECT_EQ(doc["address"], kWikiAddress);
        EXPECT_TRUE(std::regex_match(doc["id"].get<std::string>(), uuid_v4)) << doc["id"];
        const json& c = doc["crypto"];
        EXPECT_EQ(c["cipher"], "aes-128-ctr");
        EXPECT_EQ(c["cipherparams"]["iv"].get<std::string>().size(), 32u);
        EXPECT_TRUE(std::regex_match(c["ciphertext"].get<std::string>(), hex32));
        EXPECT_TRUE(std::regex_match(c["mac"].get<std::string>(), hex32));
        EXPECT_NE(c["ciphertext"], kWikiKey);  // not stored in the clear
        EXPECT_EQ(c["kdfparams"]["dklen"], 32);
        EXPECT_TRUE(std::regex_match(c["kdfparams"]["salt"].get<std::string>(), hex32));
        if (is_scrypt) {
            EXPECT_EQ(c["kdf"], "scrypt");
            EXPECT_EQ(c["kdfparams"]["n"], 1024);
            EXPECT_EQ(c["kdfparams"]["r"], 8);
            EXPECT_EQ(c["kdfparams"]["p"], 1);
        } else {
            EXPECT_EQ(c["kdf"], "pbkdf2");
            EXPECT_EQ(c["kdfparams"]["c"], 1000);
            EXPECT_EQ(c["kdfparams"]["prf"], "hmac-sha256");
        }

        const auto key = decrypt_keystore(*text, "correct horse");
        ASSERT_TRUE(key) << key.error().message();
        EXPECT_EQ(key->reveal_hex(), std::string("0x") + kWikiKey);
        const auto wrong = decrypt_keystore(*text, "correct horse ");
        ASSERT_FALSE(wrong);
        EXPECT_EQ(wrong.error(), Error::keystore_wrong_password);

        // Fresh salt, IV and id every time.
        const auto again = encrypt_keystore(wiki_key(), "correct horse", params);
        ASSERT_TRUE(again);
        const json doc2 = json::parse(*again);
        EXPECT_NE(doc2["id"], doc["id"]);
        EXPECT_NE(doc2["crypto"]["kdfparams"]["salt"], c["kdfparams"]["salt"]);
        EXPECT_NE(doc2["crypto"]["cipherparams"]["iv"], c["cipherparams"]["iv"]);
    }
}

TEST(keystore, encrypt_refuses_bad_parameters_and_keys) {
    KeystoreParams p;
    p.scrypt_n = 1000;  // not a power of two
    EXPECT_EQ(encrypt_keystore(wiki_key(), "pw", p).error(), Error::keystore_unsupported);
    p.scrypt_n = std::uint64_t{1} << 21;
    EXPECT_EQ(encrypt_keystore(wiki_key(), "pw", p).error(), Error::keystore_unsupported);
    p.scrypt_n = 1024;
    p.scrypt_r = 0;
    EXPECT_EQ(encrypt_keystore(wiki_key(), "pw", p).error(), Error::keystore_unsupported);
    KeystoreParams q;
    q.kdf = KeystoreParams::Kdf::pbkdf2;
    q.pbkdf2_c = 0;
    EXPECT_EQ(encrypt_keystore(wiki_key(), "pw", q).error(), Error::keystore_unsupported);
    q.pbkdf2_c = 10'000'001;
    EXPECT_EQ(encrypt_keystore(wiki_key(), "pw", q).error(), Error::keystore_unsupported);
    q.pbkdf2_c = 1000;
    EXPECT_EQ(encrypt_keystore(PrivateKey{}, "pw", q).error(), Error::invalid_private_key);
}

TEST(keystore, rejects_malformed_text_without_crashing) {
    const std::vector<std::string> texts = {
        "",
        "not json",
        "{",
        "[]",
        "null",
        "3",
        "\"crypto\"",
        std::string(kMaxKeystoreSize + 1, ' '),
        std::string(5000, '[') + std::string(5000, ']'),
        std::string("{\"version\":3,\"crypto\":") + std::string(3000, '[') +
            std::string(3000, ']') + "}",
    };
    for (const auto& t : texts) {
        const auto r = decrypt_keystore(t, "foo");
        ASSERT_FALSE(r) << t.substr(0, 40);
        EXPECT_EQ(r.error(), Error::keystore_malformed) << t.substr(0, 40);
    }
}

TEST(keystore, rejects_each_bad_field_with_its_error) {
    struct Case {
        const char* name;
        std::function<void(json&)> mutate;
        Error expected;
    };
    const auto to_pbkdf2 = [](json& k) {
        k["crypto"]["kdf"] = "pbkdf2";
        k["crypto"]["kdfparams"] = {
            {"c", 1000}, {"dklen", 32}, {"prf", "hmac-sha256"}, {"salt", "00112233"}};
    };
    const std::vector<Case> cases = {
        {"version missing", [](json& k) { k.erase("version"); }, Error::keystore_malformed},
        {"version string", [](json& k) { k["version"] = "3"; }, Error::keystore_malformed},
        {"version float", [](json& k) { k["version"] = 3.5; }, Error::keystore_malformed},
        {"version 2", [](json& k) { k["version"] = 2; }, Error::keystore_unsupported},
        {"version 1", [](json& k) { k["version"] = 1; }, Error::keystore_unsupported},
        {"version -3", [](json& k) { k["version"] = -3; }, Error::keystore_unsupported},
        {"crypto missing", [](json& k) { k.erase("crypto"); }, Error::keystore_malformed},
        {"crypto string", [](json& k) { k["crypto"] = "x"; }, Error::keystore_malformed},
        {"cipher cbc", [](json& k) { k["crypto"]["cipher"] = "aes-128-cbc"; },
         Error::keystore_unsupported},
        {"cipher missing", [](json& k) { k["crypto"].erase("cipher"); }, Error::keystore_malformed},
        {"cipherparams missing", [](json& k) { k["crypto"].erase("cipherparams"); },
         Error::keystore_malformed},
        {"iv missing", [](json& k) { k["crypto"]["cipherparams"].erase("iv"); },
         Error::keystore_malformed},
        {"iv 15 bytes",
         [](json& k) { k["crypto"]["cipherparams"]["iv"] = "e0c41130a323adc1446fc82f724bca"; },
         Error::keystore_malformed},
        {"iv 17 bytes",
         [](json& k) { k["crypto"]["cipherparams"]["iv"] = "e0c41130a323adc1446fc82f724bca2f00"; },
         Error::keystore_malformed},
        {"iv bad hex",
         [](json& k) { k["crypto"]["cipherparams"]["iv"] = "g0c41130a323adc1446fc82f724bca2f"; },
         Error::keystore_malformed},
        {"iv odd length",
         [](json& k) { k["crypto"]["cipherparams"]["iv"] = "0c41130a323adc1446fc82f724bca2f"; },
         Error::keystore_malformed},
        {"iv number", [](json& k) { k["crypto"]["cipherparams"]["iv"] = 7; },
         Error::keystore_malformed},
        {"ciphertext empty", [](json& k) { k["crypto"]["ciphertext"] = ""; },
         Error::keystore_malformed},
        {"ciphertext 33 bytes", [](json& k) { k["crypto"]["ciphertext"] = std::string(66, 'a'); },
         Error::keystore_malformed},
        {"ciphertext huge", [](json& k) { k["crypto"]["ciphertext"] = std::string(20000, 'a'); },
         Error::keystore_malformed},
        {"ciphertext null", [](json& k) { k["crypto"]["ciphertext"] = nullptr; },
         Error::keystore_malformed},
        {"mac missing", [](json& k) { k["crypto"].erase("mac"); }, Error::keystore_malformed},
        {"mac 31 bytes", [](json& k) { k["crypto"]["mac"] = std::string(62, '0'); },
         Error::keystore_malformed},
        {"kdf missing", [](json& k) { k["crypto"].erase("kdf"); }, Error::keystore_malformed},
        {"kdf argon2", [](json& k) { k["crypto"]["kdf"] = "argon2id"; },
         Error::keystore_unsupported},
        {"kdfparams missing", [](json& k) { k["crypto"].erase("kdfparams"); },
         Error::keystore_malformed},
        {"kdfparams array", [](json& k) { k["crypto"]["kdfparams"] = json::array(); },
         Error::keystore_malformed},
        {"n missing", [](json& k) { k["crypto"]["kdfparams"].erase("n"); },
         Error::keystore_malformed},
        {"n zero", [](json& k) { k["crypto"]["kdfparams"]["n"] = 0; }, Error::keystore_malformed},
        {"n one", [](json& k) { k["crypto"]["kdfparams"]["n"] = 1; }, Error::keystore_malformed},
        {"n not power of two", [](json& k) { k["crypto"]["kdfparams"]["n"] = 1000; },
         Error::keystore_malformed},
        {"n negative", [](json& k) { k["crypto"]["kdfparams"]["n"] = -1024; },
         Error::keystore_malformed},
        {"n float", [](json& k) { k["crypto"]["kdfparams"]["n"] = 1024.0; },
         Error::keystore_malformed},
        {"n string", [](json& k) { k["crypto"]["kdfparams"]["n"] = "1024"; },
         Error::keystore_malformed},
        {"n 2^21", [](json& k) { k["crypto"]["kdfparams"]["n"] = 1u << 21; },
         Error::keystore_unsupported},
        {"n 2^62", [](json& k) { k["crypto"]["kdfparams"]["n"] = std::uint64_t{1} << 62; },
         Error::keystore_unsupported},
        {"n 1e300", [](json& k) { k["crypto"]["kdfparams"]["n"] = 1e300; },
         Error::keystore_malformed},
        {"r zero", [](json& k) { k["crypto"]["kdfparams"]["r"] = 0; }, Error::keystore_malformed},
        {"p zero", [](json& k) { k["crypto"]["kdfparams"]["p"] = 0; }, Error::keystore_malformed},
        {"r 2^40", [](json& k) { k["crypto"]["kdfparams"]["r"] = std::uint64_t{1} << 40; },
         Error::keystore_unsupported},
        {"p 2^40", [](json& k) { k["crypto"]["kdfparams"]["p"] = std::uint64_t{1} << 40; },
         Error::keystore_unsupported},
        {"1 GiB of scrypt memory",
         [](json& k) {
             k["crypto"]["kdfparams"]["n"] = 1u << 20;
             k["crypto"]["kdfparams"]["r"] = 8;
         },
         Error::keystore_unsupported},
        {"too much scrypt work",
         [](json& k) {
             k["crypto"]["kdfparams"]["n"] = 1u << 18;
             k["crypto"]["kdfparams"]["p"] = 16;
         },
         Error::keystore_unsupported},
        {"dklen 16", [](json& k) { k["crypto"]["kdfparams"]["dklen"] = 16; },
         Error::keystore_unsupported},
        {"dklen 64", [](json& k) { k["crypto"]["kdfparams"]["dklen"] = 64; },
         Error::keystore_unsupported},
        {"dklen missing", [](json& k) { k["crypto"]["kdfparams"].erase("dklen"); },
         Error::keystore_malformed},
        {"salt empty", [](json& k) { k["crypto"]["kdfparams"]["salt"] = ""; },
         Error::keystore_malformed},
        {"salt missing", [](json& k) { k["crypto"]["kdfparams"].erase("salt"); },
         Error::keystore_malformed},
        {"salt bad hex", [](json& k) { k["crypto"]["kdfparams"]["salt"] = "xy"; },
         Error::keystore_malformed},
        {"pbkdf2 prf sha512",
         [&](json& k) {
             to_pbkdf2(k);
             k["crypto"]["kdfparams"]["prf"] = "hmac-sha512";
         },
         Error::keystore_unsupported},
        {"pbkdf2 prf missing",
         [&](json& k) {
             to_pbkdf2(k);
             k["crypto"]["kdfparams"].erase("prf");
         },
         Error::keystore_malformed},
        {"pbkdf2 c missing",
         [&](json& k) {
             to_pbkdf2(k);
             k["crypto"]["kdfparams"].erase("c");
         },
         Error::keystore_malformed},
        {"pbkdf2 c zero",
         [&](json& k) {
             to_pbkdf2(k);
             k["crypto"]["kdfparams"]["c"] = 0;
         },
         Error::keystore_malformed},
        {"pbkdf2 c too large",
         [&](json& k) {
             to_pbkdf2(k);
             k["crypto"]["kdfparams"]["c"] = 10'000'001;
         },
         Error::keystore_unsupported},
        {"pbkdf2 valid shape, wrong mac", [&](json& k) { to_pbkdf2(k); },
         Error::keystore_wrong_password},
        {"address not hex", [](json& k) { k["address"] = "xyz"; }, Error::keystore_malformed},
        {"address number", [](json& k) { k["address"] = 5; }, Error::keystore_malformed},
        {"address of another key",
         [](json& k) { k["address"] = "0000000000000000000000000000000000000001"; },
         Error::keystore_malformed},
        {"mac flipped",
         [](json& k) {
             auto m = k["crypto"]["mac"].get<std::string>();
             m[0] = m[0] == '0' ? '1' : '0';
             k["crypto"]["mac"] = m;
         },
         Error::keystore_wrong_password},
        {"ciphertext flipped",
         [](json& k) {
             auto c = k["crypto"]["ciphertext"].get<std::string>();
             c[5] = c[5] == '0' ? '1' : '0';
             k["crypto"]["ciphertext"] = c;
         },
         Error::keystore_wrong_password},
        {"salt changed", [](json& k) { k["crypto"]["kdfparams"]["salt"] = "00"; },
         Error::keystore_wrong_password},
    };
    ASSERT_TRUE(decrypt_keystore(cheap_keystore().dump(), "foo"));  // the base is valid
    for (const auto& c : cases) {
        json ks = cheap_keystore();
        c.mutate(ks);
        const auto r = decrypt_keystore(ks.dump(), "foo");
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.error(), c.expected) << c.name << ": got " << r.error().message();
    }
}

TEST(keystore, file_is_saved_0600_and_never_overwritten) {
    const TempDir tmp;
    const std::string path = tmp.file("key.json");
    KeystoreParams p;
    p.kdf = KeystoreParams::Kdf::pbkdf2;
    p.pbkdf2_c = 1000;
    const auto text = encrypt_keystore(wiki_key(), "pw", p);
    ASSERT_TRUE(text);

    const mode_t old_umask = ::umask(0);  // even a permissive umask must not widen the mode
    const auto saved = save_keystore_file(path, *text);
    ::umask(old_umask);
    ASSERT_TRUE(saved) << saved.error().message();
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(read_file(path), *text);

    const auto again = save_keystore_file(path, "{}");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), Error::keystore_file_exists);
    EXPECT_EQ(read_file(path), *text);

    // A symlink planted at the path is not followed.
    const std::string target = tmp.file("target");
    const std::string link = tmp.file("link.json");
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    const auto via_link = save_keystore_file(link, *text);
    ASSERT_FALSE(via_link);
    EXPECT_EQ(via_link.error(), Error::keystore_file_exists);
    EXPECT_FALSE(std::filesystem::exists(target));

    const auto no_dir = save_keystore_file(tmp.file("missing/key.json"), *text);
    ASSERT_FALSE(no_dir);
    EXPECT_EQ(no_dir.error(), Error::keystore_io);

    const auto key = load_keystore_file(path, "pw");
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->reveal_hex(), std::string("0x") + kWikiKey);
}

TEST(keystore, load_refuses_group_or_world_readable_files) {
    const TempDir tmp;
    const std::string path = tmp.file("key.json");
    ASSERT_TRUE(save_keystore_file(path, cheap_keystore().dump()));

    for (const mode_t mode : {0644u, 0640u, 0604u}) {
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        const auto r = load_keystore_file(path, "foo");
        ASSERT_FALSE(r) << std::oct << mode;
        EXPECT_EQ(r.error(), Error::keystore_insecure_permissions) << std::oct << mode;
        EXPECT_NE(r.error().message().find("chmod 600"), std::string::npos);
    }
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    const auto key = load_keystore_file(path, "foo");
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->reveal_hex(),
              "0x" + vectors()["short_key_vectors"][0]["private_key"].get<std::string>());
    EXPECT_EQ(load_keystore_file(path, "bar").error(), Error::keystore_wrong_password);
}

TEST(keystore, load_reports_missing_odd_and_oversized_files) {
    const TempDir tmp;
    EXPECT_EQ(load_keystore_file(tmp.file("absent.json"), "foo").error(), Error::keystore_io);
    EXPECT_EQ(load_keystore_file(tmp.dir(), "foo").error(), Error::keystore_io);

    const std::string big = tmp.file("big.json");
    ASSERT_TRUE(save_keystore_file(big, std::string(kMaxKeystoreSize, ' ')));
    {
        std::ofstream out(big, std::ios::app);
        out << "  ";
    }
    EXPECT_EQ(load_keystore_file(big, "foo").error(), Error::keystore_malformed);

    const std::string garbage = tmp.file("garbage.json");
    ASSERT_TRUE(save_keystore_file(garbage, "garbage"));
    EXPECT_EQ(load_keystore_file(garbage, "foo").error(), Error::keystore_malformed);
}

// Fuzzes keystore v3 decoding (crypto/keystore.hpp). Input: the password, a newline, then the
// keystore JSON. KDF costs the decoder would accept but that would make one run take more than
// a few milliseconds are lowered in the JSON first (the decoder's own limits are fuzzed as
// written: parameters above them are refused before any work). Properties: no crash, only the
// documented errors; a keystore that decrypts matches its "address", fails with another
// password (MAC), and its key re-encrypts into a keystore that decrypts to the same key.
#include "crypto/error.hpp"
#include "crypto/keystore.hpp"
#include "crypto/secp256k1.hpp"
#include "fuzz_check.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr const char* kFuzzTarget = "keystore_fuzz";
/// scrypt work n·r·p and PBKDF2 iterations allowed per run.
constexpr std::uint64_t kMaxFuzzScryptWork = 1024;
constexpr std::uint64_t kMaxFuzzPbkdf2 = 1024;

using namespace ferry;
using nlohmann::json;

std::uint64_t uint_or(const json& obj, const char* key, std::uint64_t fallback) {
    const auto it = obj.find(key);
    return it != obj.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : fallback;
}

/// Lowers accepted-but-expensive KDF parameters; returns true when it changed `doc`.
bool bound_kdf(json& doc) {
    if (!doc.is_object()) return false;
    for (const char* name : {"crypto", "Crypto"}) {
        const auto c = doc.find(name);
        if (c == doc.end() || !c->is_object()) continue;
        const auto params = c->find("kdfparams");
        if (params == c->end() || !params->is_object()) continue;
        const std::uint64_t n = uint_or(*params, "n", 0);
        const std::uint64_t r = uint_or(*params, "r", 0);
        const std::uint64_t p = uint_or(*params, "p", 0);
        const std::uint64_t iterations = uint_or(*params, "c", 0);
        bool changed = false;
        // Work within the decoder's limits (n ≤ 2^20, n·r·p ≤ 2^24) but above ours.
        if (n != 0 && r != 0 && p != 0 && n <= (1U << 20) && r <= (1U << 24) && p <= (1U << 24) &&
            n * r * p > kMaxFuzzScryptWork) {
            (*params)["n"] = 16;
            (*params)["r"] = 1;
            (*params)["p"] = 1;
            changed = true;
        }
        if (iterations > kMaxFuzzPbkdf2 && iterations <= crypto::kMaxPbkdf2Iterations) {
            (*params)["c"] = 16;
            changed = true;
        }
        return changed;
    }
    return false;
}

bool documented(const crypto::Error e) {
    using E = crypto::Error;
    return e == E::keystore_malformed || e == E::keystore_unsupported ||
           e == E::keystore_wrong_password || e == E::keystore_kdf_failed ||
           e == E::invalid_private_key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    if (newline == std::string_view::npos) return 0;
    const std::string password(input.substr(0, newline));
    std::string text(input.substr(newline + 1));

    // The decoder parses with the same library, so text it can read is bounded here first.
    json doc = json::parse(text, nullptr, false);
    if (!doc.is_discarded() && bound_kdf(doc)) text = doc.dump();

    const auto key = crypto::decrypt_keystore(text, password);
    if (!key) {
        const auto e = key.error();
        FUZZ_CHECK(
            e.category() == crypto::make_error_code(crypto::Error::keystore_malformed).category(),
            "decrypt_keystore: error from another category", e.message());
        FUZZ_CHECK(documented(static_cast<crypto::Error>(e.value())),
                   "decrypt_keystore: undocumented error", e.message());
        return 0;
    }

    // The key is valid and matches the file's address, when it has one.
    const auto address = crypto::Secp256k1Context::instance().address(*key);
    FUZZ_CHECK(address.has_value(), "decrypted key is not a valid secp256k1 key", "");
    if (!doc.is_discarded() && doc.is_object()) {
        const auto a = doc.find("address");
        if (a != doc.end() && a->is_string()) {
            const auto expected = crypto::Address::from_hex(a->get_ref<const std::string&>(),
                                                            crypto::HexPrefix::optional);
            FUZZ_CHECK(expected && *expected == *address,
                       "decrypted key does not match \"address\"", "");
        }
    }

    // Another password fails on the MAC.
    const auto wrong = crypto::decrypt_keystore(text, password + "x");
    FUZZ_CHECK(!wrong && wrong.error() == crypto::Error::keystore_wrong_password,
               "another password did not fail with keystore_wrong_password", "");

    // Re-encrypt (cheap parameters) and decrypt again.
    crypto::KeystoreParams params;
    params.kdf =
        (size % 2 == 0) ? crypto::KeystoreParams::Kdf::scrypt : crypto::KeystoreParams::Kdf::pbkdf2;
    params.scrypt_n = 16;
    params.scrypt_r = 1;
    params.scrypt_p = 1;
    params.pbkdf2_c = 16;
    const auto written = crypto::encrypt_keystore(*key, password, params);
    FUZZ_CHECK(written.has_value(), "encrypt_keystore failed on a decrypted key", "");
    const auto back = crypto::decrypt_keystore(*written, password);
    FUZZ_CHECK(back && *back == *key, "encrypt_keystore → decrypt_keystore lost the key", "");
    return 0;
}

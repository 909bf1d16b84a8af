// Ethereum keystore v3 (Web3 Secret Storage): AES-128-CTR under a scrypt or PBKDF2-HMAC-SHA256
// key, authenticated by keccak256(derived_key[16..32] ‖ ciphertext). Decrypts files written by
// geth, ethers and others; writes files they can read. Never throws across the API.
#pragma once

#include "crypto/error.hpp"
#include "crypto/types.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::crypto {

/// Parameters for encrypt_keystore(). The defaults are geth's "standard" scrypt settings
/// (256 MiB, about a second); tests and devnets may pick smaller values.
struct KeystoreParams {
    enum class Kdf { scrypt, pbkdf2 };
    Kdf kdf = Kdf::scrypt;
    std::uint64_t scrypt_n = 262144;
    std::uint32_t scrypt_r = 8;
    std::uint32_t scrypt_p = 1;
    std::uint32_t pbkdf2_c = 262144;
};

/// Limits on KDF parameters read from a file, so a hostile file can make us neither allocate
/// more than kMaxScryptMemory nor spin for minutes.
inline constexpr std::uint64_t kMaxScryptN = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kMaxScryptMemory = std::uint64_t{512} << 20;  // 128 * n * r bytes
inline constexpr std::uint64_t kMaxScryptWork = std::uint64_t{1} << 24;      // n * r * p
inline constexpr std::uint64_t kMaxPbkdf2Iterations = 10'000'000;
/// Largest keystore JSON (text) or file accepted; real ones are about 500 bytes.
inline constexpr std::size_t kMaxKeystoreSize = 64 * 1024;

/// Decrypts a v3 keystore ("crypto" or "Crypto" object, version 3, cipher aes-128-ctr, kdf
/// scrypt or pbkdf2 with prf hmac-sha256, dklen 32). Hex fields may carry "0x". A ciphertext
/// shorter than 32 bytes (old geth dropped leading zero bytes) is left-padded. When the file
/// has an "address", it must match the decrypted key.
/// Errors: keystore_malformed (not JSON, missing or mistyped fields, bad hex, wrong sizes,
/// impossible KDF parameters, address mismatch), keystore_unsupported (other version, cipher,
/// KDF, prf or dklen; parameters above the limits above), keystore_wrong_password (MAC
/// mismatch, compared in constant time), keystore_kdf_failed, invalid_private_key.
/// Thread-safe.
Result<PrivateKey> decrypt_keystore(std::string_view json, std::string_view password);

/// Encrypts `key` into a v3 keystore JSON with fresh random salt, IV and UUID v4 "id", and an
/// "address" (lower-case hex, no 0x). Errors: invalid_private_key; keystore_unsupported when
/// `params` exceed the limits decrypt_keystore() accepts (n a power of two, 2 ≤ n ≤ 2^20, ...);
/// keystore_kdf_failed (also when the system RNG fails). Thread-safe.
Result<std::string> encrypt_keystore(const PrivateKey& key, std::string_view password,
                                     const KeystoreParams& params = {});

/// Reads and decrypts a keystore file. Errors: keystore_io (cannot open or read, not a regular
/// file), keystore_insecure_permissions (group or others may read it), keystore_malformed
/// (larger than kMaxKeystoreSize), and those of decrypt_keystore().
Result<PrivateKey> load_keystore_file(const std::string& path, std::string_view password);

/// Writes `json` to a new file created with mode 0600; never replaces an existing file.
/// Errors: keystore_file_exists, keystore_io (the partial file is removed).
Result<void> save_keystore_file(const std::string& path, const std::string& json);

}  // namespace ferry::crypto

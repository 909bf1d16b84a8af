#include "crypto/keystore.hpp"

#include "crypto/hex.hpp"
#include "crypto/keccak.hpp"
#include "crypto/secp256k1.hpp"

#include <cryptopp/aes.h>
#include <cryptopp/hmac.h>
#include <cryptopp/modes.h>
#include <cryptopp/pwdbased.h>
#include <cryptopp/scrypt.h>
#include <cryptopp/sha.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <span>
#include <utility>

namespace ferry::crypto {
namespace {

using Json = nlohmann::json;
using Kdf = KeystoreParams::Kdf;

constexpr std::uint64_t kVersion = 3;
constexpr std::size_t kDkLen = 32;
constexpr std::size_t kAesKeySize = 16;
constexpr std::size_t kIvSize = 16;
constexpr std::size_t kMacSize = 32;
constexpr std::size_t kSaltSize = 32;  // what we write
constexpr std::size_t kMaxSaltSize = 1024;
constexpr std::string_view kCipher = "aes-128-ctr";
constexpr std::string_view kPrf = "hmac-sha256";

/// A fixed-size secret on the stack, wiped when it goes out of scope.
template <std::size_t N>
struct SecretBytes {
    std::array<std::uint8_t, N> bytes{};
    SecretBytes() = default;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    ~SecretBytes() { secure_wipe(bytes.data(), N); }
    std::uint8_t* data() noexcept { return bytes.data(); }
};

struct KdfSpec {
    Kdf kdf = Kdf::scrypt;
    std::uint64_t n = 0, r = 0, p = 0;  // scrypt
    std::uint64_t c = 0;                // pbkdf2
    Bytes salt;
};

// Impossible values are malformed; possible values above our limits are unsupported.
Result<void> check_scrypt(std::uint64_t n, std::uint64_t r, std::uint64_t p) {
    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0) return Error::keystore_malformed;
    if (n > kMaxScryptN) return Error::keystore_unsupported;
    if (r > kMaxScryptMemory / 128 / n) return Error::keystore_unsupported;
    if (p > kMaxScryptWork / (n * r)) return Error::keystore_unsupported;
    return {};
}

Result<void> check_pbkdf2(std::uint64_t c) {
    if (c == 0) return Error::keystore_malformed;
    if (c > kMaxPbkdf2Iterations) return Error::keystore_unsupported;
    return {};
}

Result<void> check_spec(const KdfSpec& spec) {
    return spec.kdf == Kdf::scrypt ? check_scrypt(spec.n, spec.r, spec.p) : check_pbkdf2(spec.c);
}

// Crypto++ wants a non-null pointer even for an empty password.
const std::uint8_t* secret_ptr(std::string_view password) noexcept {
    static constexpr std::uint8_t kEmpty = 0;
    return password.empty() ? &kEmpty : as_bytes(password).data();
}

Result<void> derive_key(const KdfSpec& spec, std::string_view password,
                        std::span<std::uint8_t, kDkLen> out) noexcept {
    try {
        if (spec.kdf == Kdf::scrypt) {
            CryptoPP::Scrypt scrypt;
            scrypt.DeriveKey(out.data(), out.size(), secret_ptr(password), password.size(),
                             spec.salt.data(), spec.salt.size(), spec.n, spec.r, spec.p);
        } else {
            CryptoPP::PKCS5_PBKDF2_HMAC<CryptoPP::SHA256> pbkdf2;
            pbkdf2.DeriveKey(out.data(), out.size(), 0, secret_ptr(password), password.size(),
                             spec.salt.data(), spec.salt.size(), static_cast<unsigned int>(spec.c));
        }
    } catch (const std::exception&) {
        secure_wipe(out.data(), out.size());
        return Error::keystore_kdf_failed;
    }
    return {};
}

// AES-128-CTR with the first 16 bytes of the derived key; encryption and decryption are one.
Result<void> aes_ctr(std::span<const std::uint8_t, kDkLen> dk, std::span<const std::uint8_t> iv,
                     ByteView in, std::uint8_t* out) noexcept {
    try {
        CryptoPP::CTR_Mode<CryptoPP::AES>::Encryption ctr;
        ctr.SetKeyWithIV(dk.data(), kAesKeySize, iv.data(), iv.size());
        ctr.ProcessData(out, in.data(), in.size());
    } catch (const std::exception&) {
        return Error::keystore_kdf_failed;
    }
    return {};
}

// keccak256(dk[16..32] ‖ ciphertext); the ciphertext is at most 32 bytes.
Hash32 mac_of(std::span<const std::uint8_t, kDkLen> dk, ByteView ciphertext) noexcept {
    SecretBytes<16 + 32> buf;
    std::memcpy(buf.data(), dk.data() + 16, 16);
    std::memcpy(buf.data() + 16, ciphertext.data(), ciphertext.size());
    return keccak256({buf.data(), 16 + ciphertext.size()});
}

const Json* member(const Json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

Result<const Json*> get_object(const Json& obj, const char* key) {
    const Json* v = member(obj, key);
    if (v == nullptr || !v->is_object()) return Error::keystore_malformed;
    return v;
}

Result<const std::string*> get_string(const Json& obj, const char* key) {
    const Json* v = member(obj, key);
    if (v == nullptr || !v->is_string()) return Error::keystore_malformed;
    return v->get_ptr<const std::string*>();
}

Result<std::uint64_t> get_uint(const Json& obj, const char* key) {
    const Json* v = member(obj, key);
    if (v == nullptr || !v->is_number_unsigned()) return Error::keystore_malformed;
    return v->get<std::uint64_t>();
}

// Hex with optional "0x", decoding to between min_size and max_size bytes.
Result<Bytes> get_hex(const Json& obj, const char* key, std::size_t min_size,
                      std::size_t max_size) {
    auto s = get_string(obj, key);
    if (!s) return s.error();
    if ((*s)->size() > 2 * max_size + 2) return Error::keystore_malformed;
    auto bytes = from_hex(**s, HexPrefix::optional);
    if (!bytes || bytes->size() < min_size || bytes->size() > max_size)
        return Error::keystore_malformed;
    return std::move(*bytes);
}

Result<KdfSpec> parse_kdf(const Json& crypto) {
    auto name = get_string(crypto, "kdf");
    if (!name) return name.error();
    auto params = get_object(crypto, "kdfparams");
    if (!params) return params.error();
    const Json& kp = **params;

    KdfSpec spec;
    if (**name == "scrypt") {
        spec.kdf = Kdf::scrypt;
        auto n = get_uint(kp, "n");
        auto r = get_uint(kp, "r");
        auto p = get_uint(kp, "p");
        if (!n || !r || !p) return Error::keystore_malformed;
        spec.n = *n;
        spec.r = *r;
        spec.p = *p;
    } else if (**name == "pbkdf2") {
        spec.kdf = Kdf::pbkdf2;
        auto prf = get_string(kp, "prf");
        if (!prf) return prf.error();
        if (**prf != kPrf) return Error::keystore_unsupported;
        auto c = get_uint(kp, "c");
        if (!c) return c.error();
        spec.c = *c;
    } else {
        return Error::keystore_unsupported;
    }

    auto dklen = get_uint(kp, "dklen");
    if (!dklen) return dklen.error();
    if (*dklen != kDkLen) return Error::keystore_unsupported;
    auto salt = get_hex(kp, "salt", 1, kMaxSaltSize);
    if (!salt) return salt.error();
    spec.salt = std::move(*salt);
    if (auto ok = check_spec(spec); !ok) return ok.error();
    return spec;
}

Result<PrivateKey> decrypt_impl(std::string_view text, std::string_view password) {
    if (text.size() > kMaxKeystoreSize) return Error::keystore_malformed;
    const Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return Error::keystore_malformed;

    auto version = get_uint(doc, "version");
    if (!version) {
        const Json* v = member(doc, "version");
        // A negative integer is a version, just not ours.
        return v != nullptr && v->is_number_integer() ? Error::keystore_unsupported
                                                      : Error::keystore_malformed;
    }
    if (*version != kVersion) return Error::keystore_unsupported;

    // geth reads the object case-insensitively; files in the wild use "crypto" or "Crypto".
    const Json* crypto = member(doc, "crypto");
    if (crypto == nullptr) crypto = member(doc, "Crypto");
    if (crypto == nullptr || !crypto->is_object()) return Error::keystore_malformed;

    auto cipher = get_string(*crypto, "cipher");
    if (!cipher) return cipher.error();
    if (**cipher != kCipher) return Error::keystore_unsupported;
    auto cipherparams = get_object(*crypto, "cipherparams");
    if (!cipherparams) return cipherparams.error();
    auto iv = get_hex(**cipherparams, "iv", kIvSize, kIvSize);
    if (!iv) return iv.error();
    // Old geth wrote keys with leading zero bytes dropped, so accept 1..32 bytes.
    auto ciphertext = get_hex(*crypto, "ciphertext", 1, PrivateKey::size());
    if (!ciphertext) return ciphertext.error();
    auto mac = get_hex(*crypto, "mac", kMacSize, kMacSize);
    if (!mac) return mac.error();
    auto spec = parse_kdf(*crypto);
    if (!spec) return spec.error();

    // The address is optional; read it before the expensive KDF so a bad one fails fast.
    const Json* address_field = member(doc, "address");
    Address expected_address;
    const bool has_address = address_field != nullptr && !address_field->is_null();
    if (has_address) {
        if (!address_field->is_string()) return Error::keystore_malformed;
        auto a =
            Address::from_hex(address_field->get_ref<const std::string&>(), HexPrefix::optional);
        if (!a) return Error::keystore_malformed;
        expected_address = *a;
    }

    SecretBytes<kDkLen> dk;
    if (auto ok = derive_key(*spec, password, dk.bytes); !ok) return ok.error();
    const Hash32 computed = mac_of(dk.bytes, *ciphertext);
    if (CRYPTO_memcmp(computed.data(), mac->data(), kMacSize) != 0)
        return Error::keystore_wrong_password;

    SecretBytes<32> plain;
    const std::size_t pad = PrivateKey::size() - ciphertext->size();
    if (auto ok = aes_ctr(dk.bytes, *iv, *ciphertext, plain.data() + pad); !ok) return ok.error();
    PrivateKey key(plain.bytes);

    auto address = Secp256k1Context::instance().address(key);
    if (!address) return address.error();
    if (has_address && *address != expected_address) return Error::keystore_malformed;
    return key;
}

std::string uuid_v4(std::array<std::uint8_t, 16> b) {
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    const std::string h = to_hex({b.data(), b.size()}, false);
    return h.substr(0, 8) + '-' + h.substr(8, 4) + '-' + h.substr(12, 4) + '-' + h.substr(16, 4) +
           '-' + h.substr(20);
}

bool random_fill(std::span<std::uint8_t> out) noexcept {
    return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

Result<std::string> encrypt_impl(const PrivateKey& key, std::string_view password,
                                 const KeystoreParams& params) {
    auto address = Secp256k1Context::instance().address(key);
    if (!address) return address.error();

    KdfSpec spec;
    spec.kdf = params.kdf;
    spec.n = params.scrypt_n;
    spec.r = params.scrypt_r;
    spec.p = params.scrypt_p;
    spec.c = params.pbkdf2_c;
    if (!check_spec(spec)) return Error::keystore_unsupported;

    spec.salt.resize(kSaltSize);
    std::array<std::uint8_t, kIvSize> iv{};
    std::array<std::uint8_t, 16> uuid{};
    if (!random_fill(spec.salt) || !random_fill(iv) || !random_fill(uuid))
        return Error::keystore_kdf_failed;

    SecretBytes<kDkLen> dk;
    if (auto ok = derive_key(spec, password, dk.bytes); !ok) return ok.error();
    std::array<std::uint8_t, 32> ciphertext{};
    if (auto ok = aes_ctr(dk.bytes, iv, key.view(), ciphertext.data()); !ok) return ok.error();
    const Hash32 mac = mac_of(dk.bytes, ciphertext);

    Json kdfparams;
    if (spec.kdf == Kdf::scrypt) {
        kdfparams = {{"dklen", kDkLen},
                     {"n", spec.n},
                     {"p", spec.p},
                     {"r", spec.r},
                     {"salt", to_hex(spec.salt, false)}};
    } else {
        kdfparams = {
            {"c", spec.c}, {"dklen", kDkLen}, {"prf", kPrf}, {"salt", to_hex(spec.salt, false)}};
    }
    const Json doc = {
        {"address", to_hex(address->view(), false)},
        {"crypto",
         {{"cipher", kCipher},
          {"cipherparams", {{"iv", to_hex(iv, false)}}},
          {"ciphertext", to_hex(ciphertext, false)},
          {"kdf", spec.kdf == Kdf::scrypt ? "scrypt" : "pbkdf2"},
          {"kdfparams", kdfparams},
          {"mac", to_hex(mac.view(), false)}}},
        {"id", uuid_v4(uuid)},
        {"version", kVersion},
    };
    return doc.dump();
}

/// Closes a file descriptor on scope exit.
class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { close(); }
    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    bool close() noexcept {
        if (fd_ < 0) return true;
        const int rc = ::close(std::exchange(fd_, -1));
        return rc == 0;
    }

private:
    int fd_;
};

bool write_all(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

Result<PrivateKey> decrypt_keystore(std::string_view json, std::string_view password) {
    try {
        return decrypt_impl(json, password);
    } catch (const std::exception&) {
        // nlohmann::json or the allocator; the parse itself is non-throwing.
        return Error::keystore_malformed;
    }
}

Result<std::string> encrypt_keystore(const PrivateKey& key, std::string_view password,
                                     const KeystoreParams& params) {
    try {
        return encrypt_impl(key, password, params);
    } catch (const std::exception&) {
        return Error::keystore_kdf_failed;
    }
}

Result<PrivateKey> load_keystore_file(const std::string& path, std::string_view password) {
    // O_NONBLOCK so a FIFO in place of the file cannot hang us before fstat rejects it.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return Error::keystore_io;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error::keystore_io;
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) return Error::keystore_insecure_permissions;
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > kMaxKeystoreSize)
        return Error::keystore_malformed;

    std::string text(kMaxKeystoreSize + 1, '\0');
    std::size_t used = 0;
    while (used < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error::keystore_io;
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    if (used > kMaxKeystoreSize) return Error::keystore_malformed;  // grew while we read
    text.resize(used);
    return decrypt_keystore(text, password);
}

Result<void> save_keystore_file(const std::string& path, const std::string& json) {
    if (json.size() > kMaxKeystoreSize) return Error::keystore_malformed;
    // O_EXCL: never replace a file, and never follow a symlink planted at `path`.
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (!fd.valid()) return errno == EEXIST ? Error::keystore_file_exists : Error::keystore_io;
    // The umask may only narrow the mode; set exactly 0600 anyway.
    bool ok = ::fchmod(fd.get(), S_IRUSR | S_IWUSR) == 0 && write_all(fd.get(), json) &&
              ::fsync(fd.get()) == 0;
    ok = fd.close() && ok;
    if (!ok) {
        ::unlink(path.c_str());
        return Error::keystore_io;
    }
    return {};
}

}  // namespace ferry::crypto

#include "relayer/signer.hpp"

#include "crypto/keystore.hpp"
#include "crypto/quote.hpp"
#include "crypto/secp256k1.hpp"
#include "crypto/secret.hpp"

#include <cstdlib>
#include <string_view>
#include <utility>

namespace ferry::relayer {
namespace {

constexpr std::size_t kMaxPasswordFileSize = 64 * 1024;

AppError err(std::string message) { return AppError{std::move(message)}; }

/// Reads a password file into wiped-on-free memory (an ifstream would leave it in its buffer).
AppResult<crypto::SecretBuffer> read_password_file(const std::string& path) {
    // Blocking: a pipe (--password-file <(pass show ferry)) is read to its end.
    auto password = crypto::read_secret_file(path, kMaxPasswordFileSize);
    if (password) return std::move(*password);
    if (password.error().code == crypto::SecretFileError::Code::too_large)
        return err("--password-file " + crypto::quote_input(path) + " is too large");
    return err("cannot read --password-file " + crypto::quote_input(path));
}

}  // namespace

AppResult<Signer> load_signer(const KeyOptions& options) {
    Signer signer;
    if (!options.env_var.empty()) {
        const char* value = std::getenv(options.env_var.c_str());
        if (value == nullptr || *value == '\0')
            return err("environment variable " + options.env_var + " (--key-env) is not set");
        std::string_view hex = value;
        while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' '))
            hex.remove_suffix(1);
        auto key = crypto::PrivateKey::from_hex(hex);
        if (!key)
            return err("environment variable " + options.env_var +
                       " (--key-env) does not hold a private key (64 hex digits)");
        signer.key = std::move(*key);
    } else {
        auto password = read_password_file(options.password_file);
        if (!password) return password.error();
        if (!password->empty() && password->back() == '\n') password->pop_back();
        if (!password->empty() && password->back() == '\r') password->pop_back();
        auto key = crypto::load_keystore_file(options.keystore, password->view());
        if (!key)
            return err("cannot use --keystore " + crypto::quote_input(options.keystore) + ": " +
                       key.error().message());
        signer.key = std::move(*key);
    }
    auto address = crypto::Secp256k1Context::instance().address(signer.key);
    if (!address) return err("the signing key is not a valid secp256k1 private key");
    signer.address = *address;
    return signer;
}

}  // namespace ferry::relayer

// The node's signing key (docs/design.md §6): from an environment variable holding it as hex, or
// from a keystore v3 file and its password file. Errors name the variable or file, never the
// key or the password.
#pragma once

#include "crypto/app_error.hpp"
#include "crypto/types.hpp"

#include <string>

namespace ferry::relayer {

/// Where the signing key comes from.
struct KeyOptions {
    std::string env_var;        // --key-env: name of a variable holding the key as hex
    std::string keystore;       // --keystore: keystore v3 file
    std::string password_file;  // --password-file: its password (one trailing newline dropped)
};

/// The key and its address. Errors name the variable or file, never the key. The key is wiped
/// when the Signer is destroyed or moved from (crypto::PrivateKey); the password read for a
/// keystore is held in a crypto::SecretBuffer and wiped before load_signer() returns.
struct Signer {
    crypto::PrivateKey key;
    crypto::Address address;
};
AppResult<Signer> load_signer(const KeyOptions& options);

}  // namespace ferry::relayer

// `ferry keys`: keystore v3 files for the relayer and validator keys. `new` makes a random
// key, `import` encrypts an existing one (read from a file, an environment variable or stdin,
// never from the command line), `list` shows the keys in a directory, and `export` decrypts
// one and prints its private key only with --show-private-key. Files are written with mode
// 0600; group/world-readable ones are flagged by `list` and refused by `export`. Passwords come
// from a prompt without echo (on the terminal), --password-file or --password-env. Key
// material is wiped from memory after use.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace ferry::cli {

struct KeysOptions {
    std::string keystore_dir;      ///< new, import, list; export with --address
    std::string keystore;          ///< export: the file
    std::string address;           ///< export: find the file of this address in --keystore-dir
    std::string password_file;     ///< one trailing newline is dropped
    std::string password_env;      ///< name of a variable holding the password
    std::string private_key_file;  ///< import: file holding the key as hex
    std::string private_key_env;   ///< import: variable holding the key as hex
    bool show_private_key = false;
    bool json = false;
    std::uint64_t scrypt_n = 262144;  ///< new, import: scrypt cost (a power of two)

    CLI::App* new_cmd = nullptr;
    CLI::App* import_cmd = nullptr;
    CLI::App* list_cmd = nullptr;
    CLI::App* export_cmd = nullptr;
};

/// Adds `keys` and its subcommands new, import, list and export.
CLI::App* add_keys_command(CLI::App& app, KeysOptions& options);

/// Runs the parsed subcommand. Output to `out`; errors as one line on `err`. Exit codes: 0 ok,
/// 1 runtime error (bad file, wrong password), 2 usage error (e.g. export without
/// --show-private-key).
int run_keys(const KeysOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ferry::cli

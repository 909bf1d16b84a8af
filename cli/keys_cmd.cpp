#include "cli/keys_cmd.hpp"

#include "cli/cli_common.hpp"

#include "crypto/keystore.hpp"
#include "crypto/quote.hpp"
#include "crypto/secp256k1.hpp"
#include "crypto/secret.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kMaxSecretFile = 64 * 1024;

AppError err(std::string message) { return AppError{std::move(message)}; }

using crypto::SecretBuffer;

/// Reads a small file into a SecretBuffer (no trailing-newline handling here).
AppResult<SecretBuffer> read_secret_file(const std::string& path, std::string_view what) {
    auto secret = crypto::read_secret_file(path, kMaxSecretFile);
    if (secret) return std::move(*secret);
    switch (secret.error().code) {
        case crypto::SecretFileError::Code::cannot_open:
            return err("cannot read " + std::string(what) + " " + crypto::quote_input(path, 1024) +
                       ": " + std::strerror(secret.error().system_error));
        case crypto::SecretFileError::Code::too_large:
            return err(std::string(what) + " " + crypto::quote_input(path, 1024) + " is too large");
        case crypto::SecretFileError::Code::cannot_read:
            break;
    }
    return err("cannot read " + std::string(what) + " " + crypto::quote_input(path, 1024));
}

void drop_one_newline(SecretBuffer& s) {
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
}

/// Reads one line from the terminal with echo off. Nullopt when there is no terminal.
std::optional<SecretBuffer> prompt_hidden(std::string_view prompt) {
    const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0) return std::nullopt;
    termios old{};
    const bool have_termios = ::tcgetattr(tty, &old) == 0;
    if (have_termios) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    [[maybe_unused]] auto w = ::write(tty, prompt.data(), prompt.size());
    SecretBuffer line;
    line.reserve(256);
    char c = 0;
    for (;;) {
        const ssize_t n = ::read(tty, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
        if (line.size() < kMaxSecretFile) line.append(std::string_view(&c, 1));
    }
    c = 0;
    if (have_termios) ::tcsetattr(tty, TCSAFLUSH, &old);
    ::close(tty);
    drop_one_newline(line);
    return line;
}

/// The password: --password-env, --password-file or a prompt (twice when `confirm`).
AppResult<SecretBuffer> read_password(const KeysOptions& o, bool confirm) {
    if (!o.password_env.empty()) {
        const char* value = std::getenv(o.password_env.c_str());
        if (value == nullptr || *value == '\0')
            return err("environment variable " + o.password_env + " (--password-env) is not set");
        return SecretBuffer(std::string_view(value));
    }
    if (!o.password_file.empty()) {
        auto secret = read_secret_file(o.password_file, "--password-file");
        if (!secret) return secret.error();
        drop_one_newline(*secret);
        if (secret->view().empty())
            return err("--password-file " + crypto::quote_input(o.password_file, 1024) +
                       " is empty");
        return std::move(*secret);
    }
    auto first = prompt_hidden("Keystore password: ");
    if (!first)
        return err(
            "no password given and no terminal to ask on: use --password-file FILE or "
            "--password-env NAME");
    if (first->view().empty()) return err("the password is empty");
    if (confirm) {
        auto again = prompt_hidden("Repeat the password: ");
        if (!again || again->view() != first->view()) return err("the passwords do not match");
    }
    return std::move(*first);
}

/// "0x" + 64 hex digits (or without 0x), surrounding whitespace ignored.
AppResult<crypto::PrivateKey> parse_key(const SecretBuffer& text, std::string_view source) {
    std::string_view hex = text.view();
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front())))
        hex.remove_prefix(1);
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back())))
        hex.remove_suffix(1);
    auto key = crypto::PrivateKey::from_hex(hex);
    if (!key)
        return err(std::string(source) +
                   " does not hold a private key (64 hex digits, 0x "
                   "optional)");
    if (!crypto::Secp256k1Context::instance().address(*key))
        return err(std::string(source) + " holds a value that is not a valid secp256k1 key");
    return *key;
}

AppResult<crypto::PrivateKey> read_import_key(const KeysOptions& o) {
    if (!o.private_key_env.empty()) {
        const char* value = std::getenv(o.private_key_env.c_str());
        if (value == nullptr || *value == '\0')
            return err("environment variable " + o.private_key_env +
                       " (--private-key-env) is not set");
        return parse_key(SecretBuffer(std::string_view(value)),
                         "environment variable " + o.private_key_env);
    }
    if (!o.private_key_file.empty()) {
        auto text = read_secret_file(o.private_key_file, "--private-key-file");
        if (!text) return text.error();
        return parse_key(*text,
                         "--private-key-file " + crypto::quote_input(o.private_key_file, 1024));
    }
    if (::isatty(STDIN_FILENO) == 1) {
        auto text = prompt_hidden("Private key (hex): ");
        if (!text) return err("cannot read the private key from the terminal");
        return parse_key(*text, "the private key typed");
    }
    auto text = crypto::read_secret_fd(STDIN_FILENO, kMaxSecretFile);
    if (!text) {
        if (text.error().code == crypto::SecretFileError::Code::too_large)
            return err("stdin holds too much to be a private key");
        text = SecretBuffer();  // a failed read counts as no key, as before
    }
    if (text->empty())
        return err(
            "no private key: give --private-key-file FILE, --private-key-env NAME, or "
            "pipe it on stdin");
    return parse_key(*text, "stdin");
}

struct KeyFile {
    std::string address;  ///< "0x..." lower case
    fs::path path;
    unsigned mode = 0;
    bool insecure() const noexcept { return (mode & (S_IRWXG | S_IRWXO)) != 0; }
};

/// The keystore v3 files in `dir` (others are skipped), sorted by file name.
AppResult<std::vector<KeyFile>> scan_dir(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return err("--keystore-dir " + crypto::quote_input(dir, 1024) + " is not a directory");
    std::vector<KeyFile> keys;
    fs::directory_iterator it(dir, ec);
    if (ec)
        return err("cannot list --keystore-dir " + crypto::quote_input(dir, 1024) + ": " +
                   ec.message());
    for (const auto& entry : it) {
        struct stat st {};
        if (::stat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > crypto::kMaxKeystoreSize)
            continue;
        std::FILE* f = std::fopen(entry.path().c_str(), "rb");
        if (f == nullptr) continue;
        std::string text(static_cast<std::size_t>(st.st_size), '\0');
        const auto got = std::fread(text.data(), 1, text.size(), f);
        std::fclose(f);
        text.resize(got);
        const json j = json::parse(text, nullptr, false);
        if (!j.is_object() || !(j.contains("crypto") || j.contains("Crypto"))) continue;
        const auto version = j.find("version");
        if (version == j.end() || !version->is_number() || version->get<double>() != 3) continue;
        KeyFile k;
        k.path = entry.path();
        k.mode = st.st_mode & 07777;
        const auto address = j.find("address");
        if (address != j.end() && address->is_string()) {
            std::string a = address->get<std::string>();
            if (a.rfind("0x", 0) == 0 || a.rfind("0X", 0) == 0) a = a.substr(2);
            std::transform(a.begin(), a.end(), a.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            auto parsed = crypto::Address::from_hex("0x" + a);
            k.address = parsed ? parsed->hex() : std::string("(bad address field)");
        } else {
            k.address = "(no address field)";
        }
        keys.push_back(std::move(k));
    }
    std::sort(keys.begin(), keys.end(),
              [](const KeyFile& a, const KeyFile& b) { return a.path < b.path; });
    return keys;
}

std::string mode_text(unsigned mode) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%04o", mode & 07777);
    return buffer;
}

std::string insecure_warning(const KeyFile& k) {
    return "warning: " + k.path.string() + " has mode " + mode_text(k.mode) +
           ": readable by group or others; run chmod 600 on it (ferry refuses to use it as it is)";
}

/// geth's name: UTC--2024-05-01T12-00-00.000000000Z--<address without 0x>.
std::string keystore_file_name(const crypto::Address& address) {
    const auto now = std::chrono::system_clock::now();
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "UTC--%04d-%02d-%02dT%02d-%02d-%02d.%09lldZ--",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(ns % 1'000'000'000));
    return buffer + address.hex().substr(2);
}

int fail(std::ostream& e, std::string_view sub, std::string_view message) {
    e << "ferry keys " << sub << ": error: " << message << std::endl;
    return kExitFailure;
}

int usage(std::ostream& e, std::string_view sub, std::string_view message) {
    e << "ferry keys " << sub << ": " << message << "\nRun with --help for more information."
      << std::endl;
    return kExitUsage;
}

/// Encrypts and writes `key` into the keystore dir; prints the address and path.
int save_key(const KeysOptions& o, std::string_view sub, const crypto::PrivateKey& key,
             std::ostream& out, std::ostream& e) {
    auto address = crypto::Secp256k1Context::instance().address(key);
    if (!address) return fail(e, sub, "the key is not a valid secp256k1 private key");
    std::error_code ec;
    if (!fs::exists(o.keystore_dir, ec)) {
        fs::create_directories(o.keystore_dir, ec);
        if (ec)
            return fail(e, sub,
                        "cannot create --keystore-dir " +
                            crypto::quote_input(o.keystore_dir, 1024) + ": " + ec.message());
        fs::permissions(o.keystore_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    } else if (!fs::is_directory(o.keystore_dir, ec)) {
        return fail(
            e, sub,
            "--keystore-dir " + crypto::quote_input(o.keystore_dir, 1024) + " is not a directory");
    }
    auto existing = scan_dir(o.keystore_dir);
    if (!existing) return fail(e, sub, existing.error().message);
    for (const auto& k : *existing)
        if (k.address == address->hex())
            return fail(e, sub,
                        "a keystore for " + k.address + " already exists: " + k.path.string());

    auto password = read_password(o, sub == "new");
    if (!password) return fail(e, sub, password.error().message);
    crypto::KeystoreParams params;
    params.scrypt_n = o.scrypt_n;
    auto encrypted = crypto::encrypt_keystore(key, password->view(), params);
    if (!encrypted)
        return fail(e, sub,
                    "cannot encrypt the key: " + encrypted.error().message() +
                        (encrypted.error() == crypto::Error::keystore_unsupported
                             ? " (--scrypt-n must be a power of two up to 1048576)"
                             : ""));
    const fs::path path = fs::path(o.keystore_dir) / keystore_file_name(*address);
    if (auto saved = crypto::save_keystore_file(path.string(), *encrypted); !saved)
        return fail(e, sub, "cannot write " + path.string() + ": " + saved.error().message());
    if (o.json) {
        out << json{{"address", address->hex()}, {"path", path.string()}}.dump() << '\n';
    } else {
        out << "address  " << address->hex() << "\nfile     " << path.string() << '\n';
    }
    out.flush();
    return kExitOk;
}

int run_new(const KeysOptions& o, std::ostream& out, std::ostream& e) {
    crypto::PrivateKey key;
    for (int attempt = 0;; ++attempt) {
        std::array<std::uint8_t, 32> bytes{};
        if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1 || attempt > 8) {
            OPENSSL_cleanse(bytes.data(), bytes.size());
            return fail(e, "new", "the system random number generator failed");
        }
        key = crypto::PrivateKey(bytes);
        OPENSSL_cleanse(bytes.data(), bytes.size());
        if (crypto::Secp256k1Context::instance().address(key)) break;
    }
    return save_key(o, "new", key, out, e);
}

int run_import(const KeysOptions& o, std::ostream& out, std::ostream& e) {
    auto key = read_import_key(o);
    if (!key) return fail(e, "import", key.error().message);
    return save_key(o, "import", *key, out, e);
}

int run_list(const KeysOptions& o, std::ostream& out, std::ostream& e) {
    auto keys = scan_dir(o.keystore_dir);
    if (!keys) return fail(e, "list", keys.error().message);
    if (o.json) {
        json list = json::array();
        for (const auto& k : *keys)
            list.push_back({{"address", k.address},
                            {"path", k.path.string()},
                            {"mode", mode_text(k.mode)},
                            {"insecure", k.insecure()}});
        out << json{{"keys", std::move(list)}}.dump(2) << '\n';
        out.flush();
        return kExitOk;
    }
    if (keys->empty()) {
        out << "no keystore files in " << o.keystore_dir << '\n';
        return kExitOk;
    }
    std::size_t width = std::string_view("ADDRESS").size();
    for (const auto& k : *keys) width = std::max(width, k.address.size());
    out << "ADDRESS" << std::string(width - 7 + 2, ' ') << "FILE\n";
    for (const auto& k : *keys)
        out << k.address << std::string(width - k.address.size() + 2, ' ') << k.path.string()
            << (k.insecure() ? "  (mode " + mode_text(k.mode) + ": INSECURE)" : "") << '\n';
    out.flush();
    for (const auto& k : *keys)
        if (k.insecure()) e << insecure_warning(k) << '\n';
    e.flush();
    return kExitOk;
}

int run_export(const KeysOptions& o, std::ostream& out, std::ostream& e) {
    if (!o.show_private_key)
        return usage(e, "export",
                     "refusing to print a private key without --show-private-key (it would "
                     "appear on the screen and in terminal logs)");
    std::string path = o.keystore;
    if (path.empty()) {
        if (o.keystore_dir.empty() || o.address.empty())
            return usage(e, "export",
                         "say which key: --keystore FILE, or --keystore-dir DIR --address 0x..");
        auto wanted = crypto::Address::from_hex(o.address);
        if (!wanted)
            return usage(e, "export", "bad --address " + crypto::quote_input(o.address, 1024));
        auto keys = scan_dir(o.keystore_dir);
        if (!keys) return fail(e, "export", keys.error().message);
        for (const auto& k : *keys)
            if (k.address == wanted->hex()) path = k.path.string();
        if (path.empty())
            return fail(e, "export",
                        "no keystore for " + wanted->hex() + " in " +
                            crypto::quote_input(o.keystore_dir, 1024));
    }
    // Refuse an exposed file before asking for its password.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
        return fail(e, "export",
                    "keystore " + crypto::quote_input(path, 1024) + " has mode " +
                        mode_text(st.st_mode) +
                        ": readable by group or others; run chmod 600 on it");
    auto password = read_password(o, false);
    if (!password) return fail(e, "export", password.error().message);
    auto key = crypto::load_keystore_file(path, password->view());
    if (!key)
        return fail(e, "export",
                    "cannot use keystore " + crypto::quote_input(path, 1024) + ": " +
                        key.error().message());
    auto address = crypto::Secp256k1Context::instance().address(*key);
    if (!address) return fail(e, "export", "the keystore holds an invalid key");
    std::string hex = key->reveal_hex();
    if (o.json) {
        std::string line = json{{"address", address->hex()}, {"private_key", hex}}.dump();
        out << line << '\n';
        OPENSSL_cleanse(line.data(), line.size());
    } else {
        out << "address      " << address->hex() << "\nprivate key  " << hex << '\n';
    }
    out.flush();
    OPENSSL_cleanse(hex.data(), hex.size());
    return kExitOk;
}

void add_password_options(CLI::App& cmd, KeysOptions& o) {
    auto* file = cmd.add_option("--password-file", o.password_file,
                                "file holding the keystore password (one trailing newline is "
                                "dropped)");
    auto* env = cmd.add_option("--password-env", o.password_env,
                               "name of an environment variable holding the keystore password");
    file->excludes(env);
    file->group("Password (default: asked on the terminal without echo)");
    env->group("Password (default: asked on the terminal without echo)");
}

void add_kdf_option(CLI::App& cmd, KeysOptions& o) {
    cmd.add_option("--scrypt-n", o.scrypt_n,
                   "scrypt cost N, a power of two (262144 = geth's standard, ~1 s and 256 MiB; "
                   "smaller only for throw-away keys)")
        ->check(CLI::Range(std::uint64_t{2}, crypto::kMaxScryptN))
        ->capture_default_str();
}

}  // namespace

CLI::App* add_keys_command(CLI::App& app, KeysOptions& o) {
    auto* keys = app.add_subcommand("keys", "Create, import, list and export keystore v3 files");
    keys->require_subcommand(1);
    keys->footer(
        "Keystore files are written with mode 0600; files readable by group or others "
        "are refused. A private key is printed only by 'keys export "
        "--show-private-key'.");

    o.new_cmd = keys->add_subcommand("new",
                                     "Make a random key and save it as a keystore file; "
                                     "prints its address and file");
    o.new_cmd
        ->add_option("--keystore-dir", o.keystore_dir,
                     "directory for the keystore file (created 0700 if missing)")
        ->required();
    add_password_options(*o.new_cmd, o);
    add_kdf_option(*o.new_cmd, o);
    o.new_cmd->add_flag("--json", o.json, "print {address, path} as JSON");

    o.import_cmd = keys->add_subcommand(
        "import",
        "Encrypt an existing private key into a keystore file; the key is read from "
        "--private-key-file, --private-key-env or stdin, never from the command line");
    o.import_cmd->add_option("--keystore-dir", o.keystore_dir, "directory for the keystore file")
        ->required();
    auto* kf = o.import_cmd->add_option("--private-key-file", o.private_key_file,
                                        "file holding the private key as hex");
    auto* ke = o.import_cmd->add_option("--private-key-env", o.private_key_env,
                                        "name of an environment variable holding the key as hex");
    kf->excludes(ke);
    add_password_options(*o.import_cmd, o);
    add_kdf_option(*o.import_cmd, o);
    o.import_cmd->add_flag("--json", o.json, "print {address, path} as JSON");

    o.list_cmd = keys->add_subcommand(
        "list",
        "List the keystore files in a directory: address, file, and a warning for files "
        "readable by group or others");
    o.list_cmd->add_option("--keystore-dir", o.keystore_dir, "directory to list")->required();
    o.list_cmd->add_flag("--json", o.json, "print {keys: [{address, path, mode, insecure}]}");

    o.export_cmd = keys->add_subcommand(
        "export", "Decrypt a keystore file and print its private key (needs --show-private-key)");
    o.export_cmd->add_option("--keystore", o.keystore, "the keystore file");
    o.export_cmd->add_option("--keystore-dir", o.keystore_dir,
                             "with --address: the directory to find the key in");
    o.export_cmd->add_option("--address", o.address, "with --keystore-dir: the key's address");
    o.export_cmd->add_flag("--show-private-key", o.show_private_key,
                           "really print the private key (it will be on the screen)");
    add_password_options(*o.export_cmd, o);
    o.export_cmd->add_flag("--json", o.json, "print {address, private_key} as JSON");
    return keys;
}

int run_keys(const KeysOptions& o, std::ostream& out, std::ostream& e) {
    if (o.new_cmd != nullptr && o.new_cmd->parsed()) return run_new(o, out, e);
    if (o.import_cmd != nullptr && o.import_cmd->parsed()) return run_import(o, out, e);
    if (o.list_cmd != nullptr && o.list_cmd->parsed()) return run_list(o, out, e);
    if (o.export_cmd != nullptr && o.export_cmd->parsed()) return run_export(o, out, e);
    e << "ferry keys: a subcommand is required: new, import, list or export" << std::endl;
    return kExitUsage;
}

}  // namespace ferry::cli

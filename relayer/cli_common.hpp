// Pieces shared by the ferry subcommands: exit codes, the signing key options (environment
// variable or keystore file), the RPC options, input parsers that name the bad input, and a
// runner for a subcommand's coroutine on one io_context.
#pragma once

#include "chains/chain.hpp"
#include "chains/evm/rpc_client.hpp"
#include "crypto/types.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace ferry::relayer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // bad input, unreachable node, reverted transaction
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

/// One line for the user, naming the bad input. Never holds key material.
struct CliError {
    std::string message;
};

[[noreturn]] inline void throw_exception_from_error(const CliError& e,
                                                    const boost::source_location&) {
    throw std::runtime_error(e.message);
}

template <class T>
using CliResult = boost::system::result<T, CliError>;

/// Where the signing key comes from.
struct KeyOptions {
    std::string env_var;        // --key-env: name of a variable holding the key as hex
    std::string keystore;       // --keystore: keystore v3 file
    std::string password_file;  // --password-file: its password (one trailing newline dropped)
};

/// Adds --key-env, --keystore and --password-file to `cmd`.
void add_key_options(CLI::App& cmd, KeyOptions& options);
/// The usage error when the options do not name exactly one key source, else empty.
std::string key_usage_error(const KeyOptions& options);

/// The key and its address. Errors name the variable or file, never the key. The key is wiped
/// when the Signer is destroyed or moved from (crypto::PrivateKey); the password read for a
/// keystore is held in a crypto::SecretBuffer and wiped before load_signer() returns.
struct Signer {
    crypto::PrivateKey key;
    crypto::Address address;
};
CliResult<Signer> load_signer(const KeyOptions& options);

/// Adds --rpc (one or more, in order of preference) and --rpc-timeout to `cmd`.
struct RpcOptions {
    std::vector<std::string> urls;
    unsigned timeout_seconds = 10;
};
void add_rpc_options(CLI::App& cmd, RpcOptions& options);

/// The RPC client for the options (bad URLs are reported redacted).
CliResult<chains::evm::RpcClient> make_rpc_client(boost::asio::any_io_executor executor,
                                                  const RpcOptions& options);

/// Parsers; `what` names the input in the error ("--outbox").
CliResult<crypto::Address> parse_address(std::string_view text, std::string_view what);
CliResult<std::uint64_t> parse_u64(std::string_view text, std::string_view what);

/// A validator set for Inbox.configureSource:
/// "srcChainId:outbox:val1,val2,...:threshold:ordered|unordered".
struct SourceSpec {
    crypto::ChainId chain_id{};
    crypto::Address outbox;
    std::vector<crypto::Address> validators;
    std::uint8_t threshold = 0;
    bool ordered = true;
};
CliResult<SourceSpec> parse_source(std::string_view text);

/// Runs `task` on a fresh io_context until it finishes; its value is the exit code. An
/// exception escaping it is reported on stderr as an internal error (exit 1).
int run_task(std::string_view command,
             std::function<chains::Task<int>(boost::asio::any_io_executor)> task);

/// Prints "ferry <command>: error: <message>" on stderr.
void print_error(std::string_view command, std::string_view message);

}  // namespace ferry::relayer

// Pieces shared by the ferry subcommands: exit codes, the signing key options (environment
// variable or keystore file), the RPC options, input parsers that name the bad input, and a
// runner for a subcommand's coroutine on one io_context.
#pragma once

#include "crypto/app_error.hpp"

#include "chains/chain.hpp"
#include "chains/evm/deployment.hpp"
#include "chains/evm/rpc_client.hpp"
#include "crypto/types.hpp"
#include "relayer/signer.hpp"

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

namespace ferry::cli {

using relayer::KeyOptions;
using relayer::load_signer;
using relayer::Signer;

/// Adds --key-env, --keystore and --password-file to `cmd`.
void add_key_options(CLI::App& cmd, KeyOptions& options);
/// The usage error when the options do not name exactly one key source, else empty.
std::string key_usage_error(const KeyOptions& options);

/// Adds --rpc (one or more, in order of preference) and --rpc-timeout to `cmd`.
struct RpcOptions {
    std::vector<std::string> urls;
    unsigned timeout_seconds = 10;
};
void add_rpc_options(CLI::App& cmd, RpcOptions& options);

/// The RPC client for the options (bad URLs are reported redacted).
AppResult<chains::evm::RpcClient> make_rpc_client(boost::asio::any_io_executor executor,
                                                  const RpcOptions& options);

/// A signing key, an RPC client and the chain id its endpoint reported: what `ferry deploy` and
/// `ferry send` start from. Errors name the key source, the bad URL or the unreachable chain.
struct SigningClient {
    Signer signer;
    chains::evm::RpcClient rpc;
    std::uint64_t chain_id = 0;
};
chains::Task<AppResult<SigningClient>> open_signing_client(boost::asio::any_io_executor executor,
                                                           const KeyOptions& key,
                                                           const RpcOptions& rpc);

/// Parsers; `what` names the input in the error ("--outbox").
AppResult<crypto::Address> parse_address(std::string_view text, std::string_view what);
AppResult<std::uint64_t> parse_u64(std::string_view text, std::string_view what);

/// A validator set for Inbox.configureSource:
/// "srcChainId:outbox:val1,val2,...:threshold:ordered|unordered".
using chains::evm::SourceSpec;
AppResult<SourceSpec> parse_source(std::string_view text);

/// Runs `task` on a fresh io_context until it finishes; its value is the exit code. An
/// exception escaping it is reported on stderr as an internal error (exit 1).
int run_task(std::string_view command,
             std::function<chains::Task<int>(boost::asio::any_io_executor)> task);

}  // namespace ferry::cli

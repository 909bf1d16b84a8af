#include "cli/cli_common.hpp"

#include "chains/evm/rpc_error.hpp"
#include "crypto/hex.hpp"
#include "crypto/keystore.hpp"
#include "crypto/quote.hpp"
#include "crypto/secp256k1.hpp"
#include "crypto/secret.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <sstream>
#include <utility>

namespace ferry::cli {
namespace {

AppError err(std::string message) { return AppError{std::move(message)}; }

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto at = text.find(sep, start);
        if (at == std::string_view::npos) {
            parts.push_back(text.substr(start));
            return parts;
        }
        parts.push_back(text.substr(start, at - start));
        start = at + 1;
    }
}

}  // namespace

void add_key_options(CLI::App& cmd, KeyOptions& options) {
    auto* env = cmd.add_option("--key-env", options.env_var,
                               "name of an environment variable holding the signing key as hex "
                               "(the key itself never goes on the command line)");
    auto* keystore = cmd.add_option("--keystore", options.keystore,
                                    "keystore v3 file holding the signing key (mode 0600)");
    auto* password = cmd.add_option("--password-file", options.password_file,
                                    "file holding the keystore's password");
    env->excludes(keystore)->excludes(password);
    keystore->needs(password);
    password->needs(keystore);
    env->group("Signing key (one of)");
    keystore->group("Signing key (one of)");
    password->group("Signing key (one of)");
}

std::string key_usage_error(const KeyOptions& options) {
    if (options.env_var.empty() && options.keystore.empty())
        return "a signing key is required: --key-env VAR, or --keystore FILE --password-file FILE";
    return {};
}

void add_rpc_options(CLI::App& cmd, RpcOptions& options) {
    cmd.add_option("--rpc", options.urls,
                   "JSON-RPC endpoint URL (http:// or https://); repeat for fallbacks, in order")
        ->required()
        ->take_all();
    cmd.add_option("--rpc-timeout", options.timeout_seconds,
                   "seconds allowed for one JSON-RPC request")
        ->capture_default_str()
        ->check(CLI::Range(1u, 600u));
}

AppResult<chains::evm::RpcClient> make_rpc_client(boost::asio::any_io_executor executor,
                                                  const RpcOptions& options) {
    chains::evm::RpcClientConfig config;
    config.endpoints = options.urls;
    const std::chrono::milliseconds timeout{std::chrono::seconds(options.timeout_seconds)};
    config.http.connect_timeout = std::min(timeout, std::chrono::milliseconds(5000));
    config.http.request_timeout = timeout;
    auto client = chains::evm::RpcClient::create(std::move(executor), std::move(config));
    if (!client) return err("--rpc: " + client.error().message);
    return std::move(*client);
}

chains::Task<AppResult<SigningClient>> open_signing_client(boost::asio::any_io_executor executor,
                                                           const KeyOptions& key,
                                                           const RpcOptions& rpc) {
    auto signer = load_signer(key);
    if (!signer) co_return signer.error();
    auto client = make_rpc_client(std::move(executor), rpc);
    if (!client) co_return client.error();
    auto chain_id = co_await client->chain_id();
    if (!chain_id)
        co_return err("cannot reach the chain: " +
                      to_chain_error(chain_id.error(), "eth_chainId").message);
    co_return SigningClient{std::move(*signer), std::move(*client), *chain_id};
}

AppResult<crypto::Address> parse_address(std::string_view text, std::string_view what) {
    auto address = crypto::Address::from_hex(text, crypto::HexPrefix::required);
    if (!address)
        return err(std::string(what) + ": " + crypto::quote_input(text) +
                   " is not an address (0x and 40 hex digits)");
    return *address;
}

AppResult<std::uint64_t> parse_u64(std::string_view text, std::string_view what) {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end)
        return err(std::string(what) + ": " + crypto::quote_input(text) +
                   " is not a whole number in 0 .. 2^64-1");
    return value;
}

AppResult<SourceSpec> parse_source(std::string_view text) {
    const auto bad = [&](std::string why) {
        return err("--source " + crypto::quote_input(text) + ": " + why +
                   " (expected srcChainId:outbox:val1,val2,...:threshold:ordered|unordered)");
    };
    const auto parts = split(text, ':');
    if (parts.size() != 5) return bad("needs 5 fields separated by ':'");
    SourceSpec spec;
    auto chain = parse_u64(parts[0], "source chain id");
    if (!chain || *chain == 0) return bad("bad source chain id " + crypto::quote_input(parts[0]));
    spec.chain_id = crypto::ChainId{*chain};
    auto outbox = parse_address(parts[1], "outbox");
    if (!outbox) return bad(outbox.error().message);
    spec.outbox = *outbox;
    for (const auto v : split(parts[2], ',')) {
        auto validator = parse_address(v, "validator");
        if (!validator) return bad(validator.error().message);
        for (const auto& seen : spec.validators)
            if (seen == *validator) return bad("validator " + validator->hex() + " is repeated");
        spec.validators.push_back(*validator);
    }
    auto threshold = parse_u64(parts[3], "threshold");
    if (!threshold || *threshold == 0 || *threshold > spec.validators.size() ||
        *threshold > std::numeric_limits<std::uint8_t>::max())
        return bad("threshold " + crypto::quote_input(parts[3]) + " must be 1 .. " +
                   std::to_string(spec.validators.size()) + " (the number of validators)");
    spec.threshold = static_cast<std::uint8_t>(*threshold);
    if (parts[4] == "ordered") {
        spec.ordered = true;
    } else if (parts[4] == "unordered") {
        spec.ordered = false;
    } else {
        return bad("the last field must be 'ordered' or 'unordered', not " +
                   crypto::quote_input(parts[4]));
    }
    return spec;
}

int run_task(std::string_view command,
             std::function<chains::Task<int>(boost::asio::any_io_executor)> task) {
    boost::asio::io_context io;
    int code = kExitFailure;
    boost::asio::co_spawn(io, task(io.get_executor()), [&](std::exception_ptr failure, int result) {
        if (!failure) {
            code = result;
            return;
        }
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            print_error(command, std::string("internal error: ") + e.what());
        } catch (...) {
            print_error(command, "internal error");
        }
        code = kExitFailure;
    });
    io.run();
    return code;
}

}  // namespace ferry::cli

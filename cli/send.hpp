// `ferry send`: sends one packet through an Outbox and prints its id and nonce.
#pragma once

#include "cli/cli_common.hpp"

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace ferry::cli {

struct SendOptions {
    RpcOptions rpc;
    KeyOptions key;
    std::string outbox;
    std::uint64_t dst_chain = 0;
    std::string recipient;
    std::uint64_t expiry = 0;
    std::string body_hex;
    std::string body_text;
    bool json = false;
};

/// Adds the `send` subcommand to `app`, filling `options` when parsed.
CLI::App* add_send_command(CLI::App& app, SendOptions& options);

/// Runs it; the exit code.
int run_send(const SendOptions& options);

}  // namespace ferry::cli

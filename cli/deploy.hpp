// `ferry deploy`: deploys the Outbox and/or the Inbox, configures the Inbox's sources and
// writes the addresses to a deployment JSON file.
#pragma once

#include "cli/cli_common.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ferry::cli {

struct DeployOptions {
    RpcOptions rpc;
    KeyOptions key;
    bool outbox = false;
    bool inbox = false;
    std::uint64_t max_body_bytes = 32768;
    std::uint64_t handle_gas_limit = 500'000;
    std::vector<std::string> sources;
    std::string out;
};

/// Adds the `deploy` subcommand to `app`, filling `options` when parsed.
CLI::App* add_deploy_command(CLI::App& app, DeployOptions& options);

/// Runs it; the exit code.
int run_deploy(const DeployOptions& options);

}  // namespace ferry::cli

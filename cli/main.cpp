// The ferry command line: one subcommand per task; `ferry --help` lists those in this build.
#include "cli/cli_common.hpp"
#include "cli/cli_ops.hpp"
#include "cli/deploy.hpp"
#include "cli/devnet_cmd.hpp"
#include "cli/keys_cmd.hpp"
#include "cli/send.hpp"
#include "cli/start_cmd.hpp"
#include "relayer/node.hpp"
#include "relayer/version.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

namespace {

using ferry::kExitFailure;
using ferry::kExitOk;
using ferry::kExitUsage;

/// CLI11's own exit codes are 100+; Ferry uses 0 for help and 2 for any usage error.
int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == static_cast<int>(CLI::ExitCodes::Success) ? kExitOk : kExitUsage;
}

int usage_error(const CLI::App& cmd, const std::string& message) {
    std::cerr << message << "\nRun with --help for more information." << std::endl;
    (void)cmd;
    return kExitUsage;
}

/// A subcommand that owns its options and runs with std::cout and std::cerr (the operator
/// commands: status, packets, packet, retry, keys).
struct OperatorCommand {
    CLI::App* cmd = nullptr;
    std::function<int()> run;
};

template <class Options>
OperatorCommand operator_command(CLI::App& app, CLI::App* (*add)(CLI::App&, Options&),
                                 int (*run)(const Options&, std::ostream&, std::ostream&)) {
    auto options = std::make_shared<Options>();
    CLI::App* cmd = add(app, *options);
    return {cmd, [options, run] { return run(*options, std::cout, std::cerr); }};
}

int run(int argc, char** argv) {
    CLI::App app("ferry - cross-chain message relayer node", "ferry");
    app.require_subcommand(1);
    app.set_version_flag("--version", "ferry " + std::string(ferry::relayer::version()));
    app.footer("Run 'ferry <command> --help' for a command's options.");

    auto* version = app.add_subcommand("version", "Print the version and exit");
    ferry::relayer::StartOptions start;
    auto* start_cmd = ferry::cli::add_start_command(app, start);
    ferry::cli::DeployOptions deploy;
    auto* deploy_cmd = ferry::cli::add_deploy_command(app, deploy);
    ferry::cli::SendOptions send;
    auto* send_cmd = ferry::cli::add_send_command(app, send);
    ferry::cli::DevnetCommandOptions devnet;
    auto* devnet_cmd = ferry::cli::add_devnet_command(app, devnet);
    const OperatorCommand operator_commands[] = {
        operator_command(app, ferry::cli::add_status_command, ferry::cli::run_status),
        operator_command(app, ferry::cli::add_packets_command, ferry::cli::run_packets),
        operator_command(app, ferry::cli::add_packet_command, ferry::cli::run_packet),
        operator_command(app, ferry::cli::add_retry_command, ferry::cli::run_retry),
        operator_command(app, ferry::cli::add_keys_command, ferry::cli::run_keys),
    };

    if (argc <= 1) {
        std::cout << app.help();
        return kExitOk;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return usage_exit(app, e);
    }

    if (version->parsed()) {
        std::cout << "ferry " << ferry::relayer::version() << '\n';
        return kExitOk;
    }
    if (start_cmd->parsed()) return ferry::relayer::run_start(start);
    if (deploy_cmd->parsed()) {
        if (auto why = ferry::cli::key_usage_error(deploy.key); !why.empty())
            return usage_error(*deploy_cmd, "ferry deploy: " + why);
        return ferry::cli::run_deploy(deploy);
    }
    if (send_cmd->parsed()) {
        if (auto why = ferry::cli::key_usage_error(send.key); !why.empty())
            return usage_error(*send_cmd, "ferry send: " + why);
        if (send_cmd->count("--body-hex") + send_cmd->count("--body") == 0)
            return usage_error(*send_cmd,
                               "ferry send: a body is required: --body-hex 0x.. or "
                               "--body TEXT");
        return ferry::cli::run_send(send);
    }
    if (devnet_cmd->parsed()) return ferry::cli::run_devnet(devnet);
    for (const auto& command : operator_commands)
        if (command.cmd->parsed()) return command.run();
    return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "ferry: internal error: " << e.what() << std::endl;
    } catch (...) {
        std::cerr << "ferry: internal error" << std::endl;
    }
    return kExitFailure;
}

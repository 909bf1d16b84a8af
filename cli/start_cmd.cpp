#include "cli/start_cmd.hpp"

#include <CLI/CLI.hpp>

namespace ferry::cli {

CLI::App* add_start_command(CLI::App& app, relayer::StartOptions& options) {
    auto* cmd =
        app.add_subcommand("start", "Run the node (relayer and/or validator) from a config");
    cmd->add_option("-c,--config", options.config, "Config file (JSON, comments allowed)")
        ->required();
    cmd->add_option("--log-level", options.log_level, "trace, debug, info, warn or error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    cmd->add_option("--log-format", options.log_format,
                    "text (one line per event) or json (one JSON object per line: ts, level, "
                    "msg and the event's fields, e.g. id, route, nonce)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->footer(
        "Keys come from the environment variable or keystore file the config names; they are "
        "never printed. The API listens on api.listen (port 0 picks a free port; the chosen "
        "address is printed as 'ferry: listening on HOST:PORT'). SIGINT or SIGTERM stops the "
        "node cleanly.");
    return cmd;
}

}  // namespace ferry::cli

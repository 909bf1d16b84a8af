// `ferry start -c <config>`: runs the node (relayer/node.hpp).
#pragma once

#include "relayer/node.hpp"

namespace CLI {
class App;
}

namespace ferry::cli {

/// Adds the `start` subcommand to `app`, filling `options` when parsed.
CLI::App* add_start_command(CLI::App& app, relayer::StartOptions& options);

}  // namespace ferry::cli

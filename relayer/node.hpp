// `ferry start -c <config>`: assembles the node from its config (docs/design.md §6) — one
// io_context for all I/O, a small thread pool for signature recovery, one SQLite queue per role, an
// RPC client per chain, the watchers, validator signer, attestors, submitters and the API server —
// and runs it until SIGINT or SIGTERM.
#pragma once

#include <string>

namespace ferry::relayer {

struct StartOptions {
    std::string config;
    std::string log_level = "info";
    std::string log_format = "text";  ///< "text" or "json" (one JSON object per line)
};

int run_start(const StartOptions& options);

}  // namespace ferry::relayer

// `ferry devnet`: two local anvil chains, the contracts, validators and a relayer, demo
// packets shown delivered (devnet/devnet.hpp does the work).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace ferry::cli {

struct DevnetCommandOptions {
    std::string anvil;
    std::string work_dir = ".devnet";
    std::size_t packets = 5;
    bool once = false;
    double block_time_s = 1.0;
    std::size_t validators = 3;
    std::uint32_t threshold = 2;
    bool keep = false;
    std::uint64_t timeout_s = 60;
};

/// Adds the `devnet` subcommand to `app`, filling `options` when parsed.
CLI::App* add_devnet_command(CLI::App& app, DevnetCommandOptions& options);

/// Runs it; the exit code.
int run_devnet(const DevnetCommandOptions& options);

}  // namespace ferry::cli

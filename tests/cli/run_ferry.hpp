// Runs the real ferry binary as a child process (stdin fed from a string, stdout and stderr
// captured, killed after a timeout) for the CLI tests.
#pragma once

#include "tests/support/run_process.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace ferry::test {

/// Runs FERRY_BINARY with `args`; `env` entries ("NAME=value") are added to this process's
/// environment, minus the names in `unset`. Killed after 60 s.
inline RunResult run_ferry(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}, const std::string& input = {},
                           const std::vector<std::string>& unset = {}) {
    return run_process(
        FERRY_BINARY, args,
        {.env = env, .unset = unset, .input = input, .timeout = std::chrono::seconds(60)});
}

}  // namespace ferry::test

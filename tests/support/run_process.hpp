// Runs a program as a child process and captures what it writes: stdin fed from a string,
// stdout and stderr read until the child closes them, the child killed after a timeout. For
// tests that drive the real ferry binary.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ferry::test {

struct RunResult {
    int exit_code = -1;  // 128 + signal when killed by one
    std::string out;
    std::string err;
    std::chrono::milliseconds elapsed{0};  // from spawn to exit
};

struct RunOptions {
    /// "NAME=value" entries added to this process's environment (replacing entries of the
    /// same name).
    std::vector<std::string> env;
    /// Names dropped from this process's environment.
    std::vector<std::string> unset;
    /// Written to the child's stdin, which is then closed.
    std::string input;
    /// SIGKILL after this long.
    std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

/// Runs `program` with `args` in a new session (no controlling terminal: a password prompt
/// never blocks a test). Throws std::runtime_error when the process cannot be started.
RunResult run_process(const std::string& program, const std::vector<std::string>& args,
                      const RunOptions& options = {});

}  // namespace ferry::test

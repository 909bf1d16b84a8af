// Child processes for `ferry devnet`, the tests and the benchmarks: spawning a program with its
// output in a log file, signalling, waiting, stopping (SIGTERM, then SIGKILL), reading its peak
// memory and CPU time, and an anvil node on a free loopback port.
#pragma once

#include "crypto/app_error.hpp"

#include <sys/types.h>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::devnet {

/// How a child ended.
struct ExitStatus {
    int code = -1;   // exit code when it exited, else -1
    int signal = 0;  // the signal that killed it, else 0

    bool exited() const noexcept { return signal == 0 && code >= 0; }
    bool signaled() const noexcept { return signal != 0; }
    /// Exited with code 0.
    bool success() const noexcept { return exited() && code == 0; }
    /// "exit code 3", "killed by signal 9 (SIGKILL)".
    std::string to_string() const;

    friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

struct SpawnOptions {
    /// The program; run as given (no PATH search).
    std::filesystem::path executable;
    /// argv[1..]; argv[0] is the executable.
    std::vector<std::string> args;
    /// "NAME=value" entries added to (or replacing in) this process's environment. Use it for
    /// secrets: unlike args they are not visible in /proc/<pid>/cmdline to other users, and
    /// nothing here ever prints them.
    std::vector<std::string> env;
    /// stdout and stderr are appended to this file (created 0644); empty: /dev/null.
    std::filesystem::path log_file;
    /// The child's working directory; empty: this process's.
    std::filesystem::path working_dir;
    /// Put the child in its own process group, so a terminal's Ctrl-C reaches only this
    /// process, which then stops its children in order.
    bool new_process_group = true;
    /// Short name for messages ("anvil alpha"); empty: the executable's file name.
    std::string name;
};

/// One child process. It receives SIGTERM if the thread that spawned it dies
/// (PR_SET_PDEATHSIG): spawn from a thread that lives as long as the child should. stdin is
/// /dev/null; no file descriptor of this process but stdout/stderr leaks into it.
///
/// Move-only; the destructor terminates a child that still runs. Not thread-safe.
class ChildProcess {
public:
    static constexpr std::chrono::milliseconds kDefaultGrace{5'000};

    /// Starts the program. Errors (program missing or not executable, log file not writable,
    /// fork failure) name the program and the reason.
    static AppResult<ChildProcess> spawn(const SpawnOptions& options);

    ChildProcess() = default;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    /// -1 for a default-constructed or moved-from object.
    pid_t pid() const noexcept { return pid_; }
    const std::string& name() const noexcept { return name_; }
    const std::filesystem::path& log_file() const noexcept { return log_file_; }

    /// True while the child has not exited (reaps it when it has).
    bool running();
    /// How it ended, once it has been reaped.
    const std::optional<ExitStatus>& exit_status() const noexcept { return status_; }

    /// Sends `sig`; false when the child is gone.
    bool signal(int sig) noexcept;
    /// Waits up to `timeout` for the child to exit; its status, or nullopt while it runs.
    std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
    /// SIGTERM, up to `grace` for it to exit, then SIGKILL; how it ended. Idempotent.
    ExitStatus terminate(std::chrono::milliseconds grace = kDefaultGrace) noexcept;

    /// What the child wrote to its log file since it was spawned (the file may hold earlier
    /// runs: those are skipped).
    std::string output() const;
    /// The last `lines` lines of output(), for error messages.
    std::string output_tail(std::size_t lines = 20) const;
    /// Waits until the child writes a complete line containing `needle`, and returns that
    /// line (without the newline). Errors: the child exited, or `timeout` passed; the message
    /// ends with the tail of its output.
    AppResult<std::string> wait_for_line(std::string_view needle,
                                         std::chrono::milliseconds timeout);

    /// Peak resident memory (VmHWM) in bytes, while the child runs.
    std::optional<std::uint64_t> peak_rss_bytes() const;
    /// User + system CPU seconds used so far, while the child runs.
    std::optional<double> cpu_seconds() const;

private:
    void reap(int wait_status) noexcept;
    void release() noexcept;

    pid_t pid_ = -1;
    std::string name_;
    std::filesystem::path log_file_;
    std::uintmax_t log_offset_ = 0;
    std::optional<ExitStatus> status_;
};

/// Peak resident set size (VmHWM of /proc/<pid>/status) in bytes; nullopt when unreadable.
std::optional<std::uint64_t> peak_rss_bytes(pid_t pid);
/// utime + stime of /proc/<pid>/stat in seconds; nullopt when unreadable.
std::optional<double> cpu_seconds(pid_t pid);

/// A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the port, closes.
/// Another process may take it before the caller binds it; use it only where port 0 cannot be.
AppResult<std::uint16_t> free_loopback_port();

struct AnvilOptions {
    /// The anvil executable.
    std::filesystem::path anvil;
    std::uint64_t chain_id = 31337;
    /// Interval mining every this many seconds (fractions allowed); empty: a block per tx.
    std::optional<double> block_time_s;
    /// The first block's base fee (wei); empty: anvil's default. From 0 it stays near 0 however
    /// full the blocks are (EIP-1559 raises it in proportion to itself).
    std::optional<std::uint64_t> base_fee_wei;
    /// Where anvil's output goes; empty: a temporary file, removed by stop().
    std::filesystem::path log_file;
    /// Longest wait for anvil to listen and answer eth_chainId.
    std::chrono::milliseconds start_timeout{30'000};
    /// Name for messages ("anvil alpha"); empty: "anvil".
    std::string name;
};

/// One anvil process on 127.0.0.1 with --port 0. start() returns once the node answers
/// eth_chainId with the configured chain id. The destructor stops it.
class AnvilNode {
public:
    static AppResult<AnvilNode> start(AnvilOptions options);

    AnvilNode(AnvilNode&& other) noexcept;
    AnvilNode& operator=(AnvilNode&& other) noexcept;
    AnvilNode(const AnvilNode&) = delete;
    AnvilNode& operator=(const AnvilNode&) = delete;
    ~AnvilNode();

    /// "http://127.0.0.1:<port>".
    const std::string& url() const noexcept { return url_; }
    std::uint16_t port() const noexcept { return port_; }
    std::uint64_t chain_id() const noexcept { return options_.chain_id; }
    const std::filesystem::path& log_file() const noexcept { return options_.log_file; }
    ChildProcess& process() noexcept { return process_; }
    /// Everything anvil printed since it started.
    std::string output() const { return process_.output(); }

    /// Stops anvil (SIGTERM, then SIGKILL) and removes a temporary log file; idempotent.
    void stop() noexcept;

private:
    AnvilNode() = default;

    AnvilOptions options_;
    bool temp_log_ = false;
    ChildProcess process_;
    std::uint16_t port_ = 0;
    std::string url_;
};

}  // namespace ferry::devnet

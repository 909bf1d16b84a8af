#include "devnet/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace ferry::devnet {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uintmax_t kMaxTailBytes = 64 * 1024;

AppError err(std::string message) { return AppError{std::move(message)}; }

std::string errno_text(int code) { return std::system_category().message(code); }

std::string signal_name(int sig) {
    switch (sig) {
        case SIGHUP:
            return "SIGHUP";
        case SIGINT:
            return "SIGINT";
        case SIGQUIT:
            return "SIGQUIT";
        case SIGILL:
            return "SIGILL";
        case SIGABRT:
            return "SIGABRT";
        case SIGBUS:
            return "SIGBUS";
        case SIGFPE:
            return "SIGFPE";
        case SIGKILL:
            return "SIGKILL";
        case SIGSEGV:
            return "SIGSEGV";
        case SIGPIPE:
            return "SIGPIPE";
        case SIGALRM:
            return "SIGALRM";
        case SIGTERM:
            return "SIGTERM";
        case SIGUSR1:
            return "SIGUSR1";
        case SIGUSR2:
            return "SIGUSR2";
        default:
            return "signal " + std::to_string(sig);
    }
}

/// Bytes [from, end of file) of `path`, at most `limit` of the last ones.
std::string read_from(const std::filesystem::path& path, std::uintmax_t from,
                      std::uintmax_t limit = UINTMAX_MAX) {
    if (path.empty()) return {};
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    in.seekg(0, std::ios::end);
    const auto end_pos = in.tellg();
    if (end_pos < 0) return {};
    const auto size = static_cast<std::uintmax_t>(end_pos);
    if (from >= size) return {};
    if (size - from > limit) from = size - limit;
    in.seekg(static_cast<std::streamoff>(from));
    std::string out(static_cast<std::size_t>(size - from), '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return out;
}

std::string last_lines(std::string_view text, std::size_t lines) {
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    std::size_t start = text.size();
    for (std::size_t seen = 0; start > 0; --start) {
        if (text[start - 1] == '\n' && ++seen == lines) break;
    }
    return std::string(text.substr(start));
}

/// The environment for a child: ours with `extra` ("NAME=value") added or replacing.
AppResult<std::vector<std::string>> child_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> names;
    for (const auto& entry : extra) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0)
            return err("environment entry '" + entry.substr(0, eq == std::string::npos ? 0 : eq) +
                       "...' is not NAME=value");
        names.push_back(entry.substr(0, eq + 1));
    }
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const bool replaced = std::any_of(
            names.begin(), names.end(), [&](const std::string& n) { return entry.starts_with(n); });
        if (!replaced) env.emplace_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

}  // namespace

// ---------------------------------------------------------------------------- ExitStatus

// ---------------------------------------------------------------------------- ExitStatus

std::string ExitStatus::to_string() const {
    if (signaled())
        return "killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
    if (exited()) return "exit code " + std::to_string(code);
    return "ended (status unknown)";
}

// ---------------------------------------------------------------------------- ChildProcess

namespace {

/// What the child runs with, all prepared before fork: between fork and exec only
/// async-signal-safe calls are allowed.
struct ChildExec {
    std::vector<char*> argv;  // null-terminated, pointing into the parent's strings
    std::vector<char*> envp;  // null-terminated, pointing into the parent's strings
    int in_fd = -1;
    int out_fd = -1;
    int report_fd = -1;  // the status pipe's write end: the errno of a failed exec
    const char* working_dir = nullptr;
    int max_fd = 1024;
    bool new_group = false;
    pid_t parent = 0;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

/// The child's side of the fork: descriptors, signals, directory, then exec. Never returns.
[[noreturn]] void exec_child(const ChildExec& c) noexcept {
    const int report = c.report_fd;
    const auto fail = [report](int code) {
        [[maybe_unused]] const auto n = ::write(report, &code, sizeof code);
        ::_exit(127);
    };
    if (c.new_group) ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != c.parent) ::_exit(127);  // the parent died before prctl
    // Handlers are reset by exec, but ignored signals and the mask are inherited.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD})
        ::signal(sig, SIG_DFL);
    if (::dup2(c.in_fd, STDIN_FILENO) < 0 || ::dup2(c.out_fd, STDOUT_FILENO) < 0 ||
        ::dup2(c.out_fd, STDERR_FILENO) < 0)
        fail(errno);
    if (c.working_dir != nullptr && ::chdir(c.working_dir) != 0) fail(errno);
    // Close every other descriptor but the status pipe (close-on-exec anyway).
    const auto lo = static_cast<unsigned>(STDERR_FILENO + 1);
    const auto keep = static_cast<unsigned>(report);
    if ((keep > lo && ::close_range(lo, keep - 1, 0) != 0) ||
        ::close_range(keep + 1, ~0U, 0) != 0) {
        for (int fd = STDERR_FILENO + 1; fd < c.max_fd; ++fd)
            if (fd != report) ::close(fd);
    }
    ::execve(c.argv[0], c.argv.data(), c.envp.data());
    fail(errno);
    ::_exit(127);
}

}  // namespace

AppResult<ChildProcess> ChildProcess::spawn(const SpawnOptions& options) {
    ChildProcess child;
    child.name_ = options.name.empty() ? options.executable.filename().string() : options.name;
    const std::string what = child.name_ + " (" + options.executable.string() + ")";

    if (::access(options.executable.c_str(), X_OK) != 0)
        return err("cannot run " + what + ": " + errno_text(errno));
    auto env_strings = child_environment(options.env);
    if (!env_strings) return err("cannot run " + what + ": " + env_strings.error().message);

    std::vector<std::string> arg_strings;
    arg_strings.push_back(options.executable.string());
    arg_strings.insert(arg_strings.end(), options.args.begin(), options.args.end());
    ChildExec exec;
    exec.argv = pointers(arg_strings);
    exec.envp = pointers(*env_strings);

    const int out_fd =
        options.log_file.empty()
            ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
            : ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        const int code = errno;
        return err("cannot open the log file " + options.log_file.string() + " for " + what + ": " +
                   errno_text(code));
    }
    struct stat st {};
    if (!options.log_file.empty() && ::fstat(out_fd, &st) == 0)
        child.log_offset_ = static_cast<std::uintmax_t>(st.st_size);
    child.log_file_ = options.log_file;

    const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int status_pipe[2] = {-1, -1};
    if (in_fd < 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0) {
        const int code = errno;
        ::close(out_fd);
        if (in_fd >= 0) ::close(in_fd);
        return err("cannot run " + what + ": " + errno_text(code));
    }
    exec.in_fd = in_fd;
    exec.out_fd = out_fd;
    exec.report_fd = status_pipe[1];
    exec.working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    exec.max_fd = open_max > 0 && open_max < INT_MAX ? static_cast<int>(open_max) : 1024;
    exec.new_group = options.new_process_group;
    exec.parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int code = errno;
        ::close(out_fd);
        ::close(in_fd);
        ::close(status_pipe[0]);
        ::close(status_pipe[1]);
        return err("cannot run " + what + ": fork: " + errno_text(code));
    }
    if (pid == 0) exec_child(exec);

    ::close(out_fd);
    ::close(in_fd);
    ::close(status_pipe[1]);
    child.pid_ = pid;
    // The pipe closes without data when exec succeeded; else it carries the child's errno.
    int child_errno = 0;
    ssize_t n = 0;
    do {
        n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(status_pipe[0]);
    if (n > 0) {
        child.wait_for(5s);
        child.release();
        return err("cannot run " + what + ": " + errno_text(child_errno));
    }
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      name_(std::move(other.name_)),
      log_file_(std::move(other.log_file_)),
      log_offset_(other.log_offset_),
      status_(std::move(other.status_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0 && !status_) terminate();
        pid_ = std::exchange(other.pid_, -1);
        name_ = std::move(other.name_);
        log_file_ = std::move(other.log_file_);
        log_offset_ = other.log_offset_;
        status_ = std::move(other.status_);
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && !status_) terminate();
}

void ChildProcess::release() noexcept {
    if (!status_) status_ = ExitStatus{};
}

void ChildProcess::reap(int wait_status) noexcept {
    ExitStatus status;
    if (WIFEXITED(wait_status)) {
        status.code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
        status.signal = WTERMSIG(wait_status);
    }
    status_ = status;
}

bool ChildProcess::running() {
    if (pid_ <= 0 || status_) return false;
    int wait_status = 0;
    const pid_t r = ::waitpid(pid_, &wait_status, WNOHANG);
    if (r == pid_) {
        reap(wait_status);
        return false;
    }
    if (r < 0 && errno == ECHILD) {  // reaped by someone else
        release();
        return false;
    }
    return true;
}

bool ChildProcess::signal(int sig) noexcept {
    if (pid_ <= 0 || status_) return false;
    return ::kill(pid_, sig) == 0;
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto step = 1ms;
    while (running()) {
        const auto now = Clock::now();
        if (now >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::min<Clock::duration>(step, deadline - now));
        step = std::min(step * 2, std::chrono::milliseconds(20));
    }
    return status_;
}

ExitStatus ChildProcess::terminate(std::chrono::milliseconds grace) noexcept {
    if (pid_ <= 0) return status_.value_or(ExitStatus{});
    try {
        if (signal(SIGTERM)) {
            if (auto done = wait_for(grace)) return *done;
            signal(SIGKILL);
        }
        if (auto done = wait_for(std::chrono::minutes(1))) return *done;
    } catch (...) {
        // sleep_for cannot really throw; fall through to a blocking wait
    }
    if (!status_) {
        ::kill(pid_, SIGKILL);
        int wait_status = 0;
        pid_t r = 0;
        do {
            r = ::waitpid(pid_, &wait_status, 0);
        } while (r < 0 && errno == EINTR);
        if (r == pid_) {
            reap(wait_status);
        } else {
            release();
        }
    }
    return *status_;
}

std::string ChildProcess::output() const { return read_from(log_file_, log_offset_); }

std::string ChildProcess::output_tail(std::size_t lines) const {
    return last_lines(read_from(log_file_, log_offset_, kMaxTailBytes), lines);
}

AppResult<std::string> ChildProcess::wait_for_line(std::string_view needle,
                                                   std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::uintmax_t position = log_offset_;
    std::string partial;
    const auto failure = [&](const std::string& why) {
        std::string message = name_ + " " + why + " before printing '" + std::string(needle) + "'";
        if (const auto tail = output_tail(); !tail.empty())
            message += "; its last output (" + log_file_.string() + "):\n" + tail;
        return err(std::move(message));
    };
    for (;;) {
        const bool alive = running();  // read after checking, so a last line is not missed
        std::string chunk = read_from(log_file_, position);
        position += chunk.size();
        partial += chunk;
        std::size_t start = 0;
        for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos;
             start = nl + 1) {
            const std::string_view line(partial.data() + start, nl - start);
            if (line.find(needle) != std::string_view::npos) {
                std::string found(line);
                if (!found.empty() && found.back() == '\r') found.pop_back();
                // (AppError is constructible from a string too: say which one this is.)
                return AppResult<std::string>(boost::system::in_place_value, std::move(found));
            }
        }
        partial.erase(0, start);
        if (!alive) return failure("exited (" + status_.value_or(ExitStatus{}).to_string() + ")");
        if (Clock::now() >= deadline)
            return failure("did not answer within " + std::to_string(timeout.count() / 1000) +
                           " s");
        std::this_thread::sleep_for(20ms);
    }
}

std::optional<std::uint64_t> ChildProcess::peak_rss_bytes() const {
    if (pid_ <= 0 || status_) return std::nullopt;
    return devnet::peak_rss_bytes(pid_);
}

std::optional<double> ChildProcess::cpu_seconds() const {
    if (pid_ <= 0 || status_) return std::nullopt;
    return devnet::cpu_seconds(pid_);
}

}  // namespace ferry::devnet

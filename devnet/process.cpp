#include "devnet/process.hpp"

#include "chains/evm/rpc_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace ferry::devnet {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uintmax_t kMaxTailBytes = 64 * 1024;
constexpr std::string_view kAnvilListening = "Listening on ";

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

std::string format_seconds(double seconds) {
    std::array<char, 64> buffer{};
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), seconds);
    if (ec != std::errc{}) return std::to_string(seconds);
    return std::string(buffer.data(), end);
}

}  // namespace

// ---------------------------------------------------------------------------- ExitStatus

std::string ExitStatus::to_string() const {
    if (signaled())
        return "killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
    if (exited()) return "exit code " + std::to_string(code);
    return "ended (status unknown)";
}

// ---------------------------------------------------------------------------- ChildProcess

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
    std::vector<char*> argv;
    for (auto& a : arg_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : *env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    // Everything the child needs is opened here: between fork and exec only async-signal-safe
    // calls are allowed.
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
    const char* working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    const int max_fd = open_max > 0 && open_max < INT_MAX ? static_cast<int>(open_max) : 1024;
    const bool new_group = options.new_process_group;
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int code = errno;
        ::close(out_fd);
        ::close(in_fd);
        ::close(status_pipe[0]);
        ::close(status_pipe[1]);
        return err("cannot run " + what + ": fork: " + errno_text(code));
    }
    if (pid == 0) {
        const int report = status_pipe[1];
        const auto fail = [report](int code) {
            [[maybe_unused]] const auto n = ::write(report, &code, sizeof code);
            ::_exit(127);
        };
        if (new_group) ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
        // Handlers are reset by exec, but ignored signals and the mask are inherited.
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD})
            ::signal(sig, SIG_DFL);
        if (::dup2(in_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
            ::dup2(out_fd, STDERR_FILENO) < 0)
            fail(errno);
        if (working_dir != nullptr && ::chdir(working_dir) != 0) fail(errno);
        // Close every other descriptor but the status pipe (close-on-exec anyway).
        const auto lo = static_cast<unsigned>(STDERR_FILENO + 1);
        const auto keep = static_cast<unsigned>(report);
        if ((keep > lo && ::close_range(lo, keep - 1, 0) != 0) ||
            ::close_range(keep + 1, ~0U, 0) != 0) {
            for (int fd = STDERR_FILENO + 1; fd < max_fd; ++fd)
                if (fd != report) ::close(fd);
        }
        ::execve(argv[0], argv.data(), envp.data());
        fail(errno);
    }

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

// ---------------------------------------------------------------------------- /proc readers

std::optional<std::uint64_t> peak_rss_bytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with("VmHWM:")) continue;
        std::istringstream fields(line.substr(6));
        std::uint64_t kib = 0;
        std::string unit;
        if (!(fields >> kib >> unit) || unit != "kB") return std::nullopt;
        return kib * 1024;
    }
    return std::nullopt;
}

std::optional<double> cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; it ends at the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 1));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    // After ')': state is field 3; utime and stime are fields 14 and 15.
    for (int index = 3; index <= 15; ++index) {
        if (!(fields >> field)) return std::nullopt;
        if (index == 14 || index == 15) {
            std::uint64_t value = 0;
            const auto [end, ec] =
                std::from_chars(field.data(), field.data() + field.size(), value);
            if (ec != std::errc{} || end != field.data() + field.size()) return std::nullopt;
            (index == 14 ? utime : stime) = value;
        }
    }
    const long ticks = ::sysconf(_SC_CLK_TCK);
    if (ticks <= 0) return std::nullopt;
    return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

AppResult<std::uint16_t> free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return err("socket: " + errno_text(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
    const int code = errno;
    ::close(fd);
    if (!ok) return err("cannot bind a free port on 127.0.0.1: " + errno_text(code));
    return ntohs(address.sin_port);
}

// ---------------------------------------------------------------------------- AnvilNode

namespace {

/// The port of anvil's "Listening on 127.0.0.1:<port>" line, or 0.
std::uint16_t listening_port(std::string_view line) {
    const auto colon = line.rfind(':');
    if (colon == std::string_view::npos) return 0;
    const auto digits = line.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end == digits.data() || value == 0 || value > 65535) return 0;
    return static_cast<std::uint16_t>(value);
}

/// Asks `url` for eth_chainId until it answers or `deadline` passes.
AppResult<std::uint64_t> await_chain_id(const std::string& url, Clock::time_point deadline) {
    boost::asio::io_context io;
    chains::evm::RpcClientConfig config;
    config.endpoints = {url};
    config.http.connect_timeout = 2s;
    config.http.request_timeout = 2s;
    auto client = chains::evm::RpcClient::create(io.get_executor(), std::move(config));
    if (!client) return err(client.error().to_string());
    std::string last_error = "no answer";
    for (;;) {
        std::optional<chains::evm::RpcResult<std::uint64_t>> answer;
        boost::asio::co_spawn(
            io, client->chain_id(),
            [&](std::exception_ptr failure, chains::evm::RpcResult<std::uint64_t> r) {
                if (failure) {
                    answer = chains::evm::make_rpc_error(chains::evm::RpcError::Code::node_error,
                                                         "eth_chainId failed");
                } else {
                    answer = std::move(r);
                }
            });
        io.restart();
        while (!answer && io.run_one() > 0) {
        }
        if (answer && *answer) return **answer;
        if (answer) last_error = answer->error().to_string();
        if (Clock::now() >= deadline) return err("eth_chainId: " + last_error);
        std::this_thread::sleep_for(50ms);
    }
}

}  // namespace

AppResult<AnvilNode> AnvilNode::start(AnvilOptions options) {
    AnvilNode node;
    if (options.name.empty()) options.name = "anvil";
    if (options.log_file.empty()) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "ferry-anvil-XXXXXX.log").string();
        const int fd = ::mkstemps(pattern.data(), 4);
        if (fd < 0) return err("cannot create a log file for anvil: " + errno_text(errno));
        ::close(fd);
        options.log_file = pattern;
        node.temp_log_ = true;
    }
    node.options_ = std::move(options);
    const auto& opts = node.options_;

    SpawnOptions spawn;
    spawn.executable = opts.anvil;
    spawn.name = opts.name;
    spawn.log_file = opts.log_file;
    spawn.args = {"--host",  "127.0.0.1",  "--port",
                  "0",       "--chain-id", std::to_string(opts.chain_id),
                  "--color", "never"};
    if (opts.block_time_s) {
        if (!(*opts.block_time_s > 0) || *opts.block_time_s > 3600)
            return err(opts.name + ": block time " + format_seconds(*opts.block_time_s) +
                       " s is not in (0, 3600]");
        spawn.args.emplace_back("--block-time");
        spawn.args.push_back(format_seconds(*opts.block_time_s));
    }
    const auto deadline = Clock::now() + opts.start_timeout;
    auto child = ChildProcess::spawn(spawn);
    if (!child) return child.error();
    node.process_ = std::move(*child);

    const auto fail = [&](const std::string& why) {
        std::string message = "starting " + opts.name + " (chain " + std::to_string(opts.chain_id) +
                              ") failed: " + why;
        node.stop();
        return err(std::move(message));
    };
    auto line = node.process_.wait_for_line(kAnvilListening, opts.start_timeout);
    if (!line) return fail(line.error().message);
    node.port_ = listening_port(*line);
    if (node.port_ == 0) return fail("cannot read the port from '" + *line + "'");
    node.url_ = "http://127.0.0.1:" + std::to_string(node.port_);
    auto chain_id = await_chain_id(node.url_, deadline);
    if (!chain_id)
        return fail(chain_id.error().message + "; its last output:\n" +
                    node.process_.output_tail());
    if (*chain_id != opts.chain_id)
        return fail(node.url_ + " reports chain id " + std::to_string(*chain_id));
    return node;
}

AnvilNode::AnvilNode(AnvilNode&& other) noexcept
    : options_(std::move(other.options_)),
      temp_log_(std::exchange(other.temp_log_, false)),
      process_(std::move(other.process_)),
      port_(std::exchange(other.port_, 0)),
      url_(std::move(other.url_)) {}

AnvilNode& AnvilNode::operator=(AnvilNode&& other) noexcept {
    if (this != &other) {
        stop();
        options_ = std::move(other.options_);
        temp_log_ = std::exchange(other.temp_log_, false);
        process_ = std::move(other.process_);
        port_ = std::exchange(other.port_, 0);
        url_ = std::move(other.url_);
    }
    return *this;
}

AnvilNode::~AnvilNode() { stop(); }

void AnvilNode::stop() noexcept {
    process_.terminate();
    if (temp_log_) {
        std::error_code ec;
        std::filesystem::remove(options_.log_file, ec);
        temp_log_ = false;
    }
}

}  // namespace ferry::devnet

#include "tests/support/anvil.hpp"

#include "tests/support/rpc_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ferry::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 30s;
constexpr auto kStopTimeout = 5s;
constexpr auto kPollInterval = 20ms;
constexpr std::string_view kListening = "Listening on 127.0.0.1:";

}  // namespace

AnvilProcess::AnvilProcess(Options options) : options_(options) {
    char log_template[] = "/tmp/ferry-anvil-XXXXXX";
    const int log_fd = ::mkstemp(log_template);
    if (log_fd < 0) throw std::runtime_error("mkstemp: " + std::string(std::strerror(errno)));
    log_path_ = log_template;

    std::vector<std::string> args = {FERRY_ANVIL,
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     "0",
                                     "--chain-id",
                                     std::to_string(options_.chain_id),
                                     "--color",
                                     "never"};
    if (options_.block_time) {
        args.emplace_back("--block-time");
        args.push_back(std::to_string(*options_.block_time));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(log_fd);
        ::unlink(log_path_.c_str());
        throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    }
    if (pid_ == 0) {
        // Only async-signal-safe calls between fork and exec.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(log_fd);

    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    try {
        while (port_ == 0) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("anvil exited during start-up");
            }
            const std::string out = output();
            if (const auto at = out.find(kListening); at != std::string::npos) {
                const auto begin = at + kListening.size();
                const auto end = out.find_first_not_of("0123456789", begin);
                if (end != std::string::npos && end > begin)
                    port_ = static_cast<std::uint16_t>(std::stoul(out.substr(begin, end - begin)));
            }
            if (port_ == 0) {
                if (std::chrono::steady_clock::now() > deadline)
                    throw std::runtime_error("anvil did not report its port");
                std::this_thread::sleep_for(kPollInterval);
            }
        }
        url_ = "http://127.0.0.1:" + std::to_string(port_);
        RpcClient rpc(url_, 2s);
        for (;;) {
            try {
                rpc.call("eth_chainId");
                break;
            } catch (const std::exception&) {
                if (std::chrono::steady_clock::now() > deadline) throw;
                std::this_thread::sleep_for(kPollInterval);
            }
        }
    } catch (const std::exception& e) {
        const std::string out = output();
        stop();
        throw std::runtime_error(std::string("starting anvil failed: ") + e.what() +
                                 "\n--- anvil output ---\n" + out);
    }
}

AnvilProcess::~AnvilProcess() { stop(); }

std::string AnvilProcess::output() const {
    std::ifstream in(log_path_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void AnvilProcess::stop() noexcept {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
        int status = 0;
        pid_t reaped = 0;
        while ((reaped = ::waitpid(pid_, &status, WNOHANG)) == 0 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(kPollInterval);
        if (reaped == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }
    if (!log_path_.empty()) {
        ::unlink(log_path_.c_str());
        log_path_.clear();
    }
}

}  // namespace ferry::test

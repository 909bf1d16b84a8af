// Proves ChildProcess spawns, logs, signals, waits for and stops real processes, that the
// /proc readers and free_loopback_port return real values, and that nothing leaks into a child.
#include "devnet/process.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ferry::devnet::ChildProcess;
using ferry::devnet::ExitStatus;
using ferry::devnet::SpawnOptions;

class ChildProcessTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("ferry-process-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    /// /bin/sh -c `script`, logging to `log` (a file in the test dir) unless empty.
    SpawnOptions shell(const std::string& script, const std::string& log = "out.log") const {
        SpawnOptions options;
        options.executable = "/bin/sh";
        options.args = {"-c", script};
        if (!log.empty()) options.log_file = dir_ / log;
        return options;
    }

    ChildProcess spawn(const SpawnOptions& options) {
        auto child = ChildProcess::spawn(options);
        if (!child) ADD_FAILURE() << child.error().message;
        return child ? std::move(*child) : ChildProcess{};
    }

    static bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

    std::filesystem::path dir_;
};

TEST_F(ChildProcessTest, reports_the_exit_code) {
    auto child = spawn(shell("exit 7"));
    ASSERT_GT(child.pid(), 0);
    const auto status = child.wait_for(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->exited());
    EXPECT_FALSE(status->signaled());
    EXPECT_EQ(status->code, 7);
    EXPECT_FALSE(status->success());
    EXPECT_EQ(status->to_string(), "exit code 7");
    EXPECT_FALSE(child.running());
    EXPECT_EQ(child.exit_status(), status);

    auto ok = spawn(shell("exit 0"));
    const auto ok_status = ok.wait_for(10s);
    ASSERT_TRUE(ok_status.has_value());
    EXPECT_TRUE(ok_status->success());
}

TEST_F(ChildProcessTest, wait_for_times_out_while_the_child_runs) {
    auto child = spawn(shell("exec sleep 30"));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(child.wait_for(150ms).has_value());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
    EXPECT_TRUE(child.running());
    EXPECT_FALSE(child.exit_status().has_value());
}

TEST_F(ChildProcessTest, a_signal_kills_it_and_is_reported) {
    auto child = spawn(shell("exec sleep 30"));
    ASSERT_TRUE(child.running());
    EXPECT_TRUE(child.signal(SIGUSR1));
    const auto status = child.wait_for(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->signaled());
    EXPECT_EQ(status->signal, SIGUSR1);
    EXPECT_EQ(status->code, -1);
    EXPECT_EQ(status->to_string(), "killed by signal " + std::to_string(SIGUSR1) + " (SIGUSR1)");
    EXPECT_FALSE(child.signal(SIGUSR1)) << "a reaped child takes no signal";
}

TEST_F(ChildProcessTest, terminate_sends_sigterm_first) {
    auto child = spawn(shell("exec sleep 30"));
    const auto start = std::chrono::steady_clock::now();
    const auto status = child.terminate(10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(status.signal, SIGTERM);
    // Idempotent.
    EXPECT_EQ(child.terminate(), status);
}

TEST_F(ChildProcessTest, terminate_lets_a_child_exit_cleanly_on_sigterm) {
    auto child =
        spawn(shell("trap 'echo bye; exit 3' TERM; echo ready; while :; do sleep 0.05; done"));
    ASSERT_TRUE(child.wait_for_line("ready", 10s));
    const auto status = child.terminate(10s);
    EXPECT_TRUE(status.exited());
    EXPECT_EQ(status.code, 3);
    EXPECT_NE(child.output().find("bye"), std::string::npos) << child.output();
}

TEST_F(ChildProcessTest, terminate_kills_a_child_that_ignores_sigterm) {
    // An ignored signal stays ignored across exec, so sleep ignores SIGTERM too.
    auto child = spawn(shell("trap '' TERM; echo ready; exec sleep 30"));
    ASSERT_TRUE(child.wait_for_line("ready", 10s));
    const auto pid = child.pid();
    const auto start = std::chrono::steady_clock::now();
    const auto status = child.terminate(300ms);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(status.signal, SIGKILL);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 10s);
    EXPECT_FALSE(alive(pid));
}

TEST_F(ChildProcessTest, the_destructor_stops_a_running_child) {
    pid_t pid = -1;
    {
        auto child = spawn(shell("exec sleep 30"));
        pid = child.pid();
        ASSERT_GT(pid, 0);
        ASSERT_TRUE(alive(pid));
    }
    EXPECT_FALSE(alive(pid));
}

TEST_F(ChildProcessTest, a_moved_child_is_stopped_once_by_its_new_owner) {
    auto first = spawn(shell("exec sleep 30"));
    const auto pid = first.pid();
    ChildProcess second = std::move(first);
    EXPECT_EQ(first.pid(), -1);  // NOLINT(bugprone-use-after-move): documented state
    EXPECT_FALSE(first.running());
    EXPECT_EQ(second.pid(), pid);
    EXPECT_TRUE(second.running());
    EXPECT_EQ(second.terminate().signal, SIGTERM);
}

TEST_F(ChildProcessTest, output_goes_to_the_log_and_only_this_runs_part_is_returned) {
    auto one = spawn(shell("echo first-out; echo first-err >&2"));
    ASSERT_TRUE(one.wait_for(10s));
    EXPECT_EQ(one.output(), "first-out\nfirst-err\n");

    auto two = spawn(shell("echo second"));
    ASSERT_TRUE(two.wait_for(10s));
    EXPECT_EQ(two.output(), "second\n");
    std::ifstream in(dir_ / "out.log");
    const std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(whole, "first-out\nfirst-err\nsecond\n") << "the log file is appended to";
    EXPECT_EQ(two.log_file(), dir_ / "out.log");
}

TEST_F(ChildProcessTest, output_tail_keeps_the_last_lines) {
    auto child = spawn(shell("for i in 1 2 3 4 5 6; do echo line$i; done"));
    ASSERT_TRUE(child.wait_for(10s));
    EXPECT_EQ(child.output_tail(2), "line5\nline6");
    EXPECT_EQ(child.output_tail(100), "line1\nline2\nline3\nline4\nline5\nline6");
}

TEST_F(ChildProcessTest, without_a_log_file_output_is_discarded) {
    auto child = spawn(shell("echo nowhere", ""));
    const auto status = child.wait_for(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->success());
    EXPECT_EQ(child.output(), "");
}

TEST_F(ChildProcessTest, wait_for_line_returns_the_whole_line) {
    auto child =
        spawn(shell("sleep 0.2; printf 'noise\\nferry: listening on 127.0.0.1:4567\\n'; "
                    "exec sleep 30"));
    auto line = child.wait_for_line("listening on ", 10s);
    ASSERT_TRUE(line) << line.error().message;
    EXPECT_EQ(*line, "ferry: listening on 127.0.0.1:4567");
    EXPECT_TRUE(child.running());
}

TEST_F(ChildProcessTest, wait_for_line_fails_when_the_child_exits_first) {
    auto child = spawn(shell("echo starting; echo 'bad config' >&2; exit 1"));
    auto line = child.wait_for_line("listening on ", 10s);
    ASSERT_FALSE(line);
    const auto& message = line.error().message;
    EXPECT_NE(message.find("exited (exit code 1)"), std::string::npos) << message;
    EXPECT_NE(message.find("bad config"), std::string::npos) << message;
    EXPECT_NE(message.find("listening on "), std::string::npos) << message;
}

TEST_F(ChildProcessTest, wait_for_line_times_out) {
    auto child = spawn(shell("echo something else; exec sleep 30"));
    const auto start = std::chrono::steady_clock::now();
    auto line = child.wait_for_line("never printed", 300ms);
    ASSERT_FALSE(line);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    EXPECT_NE(line.error().message.find("did not answer"), std::string::npos)
        << line.error().message;
    EXPECT_NE(line.error().message.find("something else"), std::string::npos);
}

TEST_F(ChildProcessTest, a_partial_line_is_not_a_match_until_it_ends) {
    auto child = spawn(shell("printf 'ready-ish'; sleep 0.4; printf ' now\\n'; exec sleep 30"));
    auto line = child.wait_for_line("ready", 10s);
    ASSERT_TRUE(line) << line.error().message;
    EXPECT_EQ(*line, "ready-ish now");
}

TEST_F(ChildProcessTest, extra_environment_is_added_and_replaces) {
    ASSERT_EQ(::setenv("FERRY_PROCESS_TEST_OLD", "parent", 1), 0);
    auto options = shell(
        "echo \"new=$FERRY_PROCESS_TEST_NEW old=$FERRY_PROCESS_TEST_OLD "
        "path=${PATH:+set}\"");
    options.env = {"FERRY_PROCESS_TEST_NEW=a=b c", "FERRY_PROCESS_TEST_OLD=child"};
    auto child = spawn(options);
    ASSERT_TRUE(child.wait_for(10s));
    ::unsetenv("FERRY_PROCESS_TEST_OLD");
    EXPECT_EQ(child.output(), "new=a=b c old=child path=set\n");
}

TEST_F(ChildProcessTest, a_bad_environment_entry_is_refused_without_echoing_its_value) {
    auto options = shell("exit 0");
    options.env = {"NO_EQUALS_SIGN_secretvalue"};
    auto child = ChildProcess::spawn(options);
    ASSERT_FALSE(child);
    EXPECT_NE(child.error().message.find("not NAME=value"), std::string::npos)
        << child.error().message;
    EXPECT_EQ(child.error().message.find("secretvalue"), std::string::npos)
        << child.error().message;
}

TEST_F(ChildProcessTest, a_missing_program_is_an_error_naming_it) {
    SpawnOptions options;
    options.executable = dir_ / "no-such-program";
    auto child = ChildProcess::spawn(options);
    ASSERT_FALSE(child);
    EXPECT_NE(child.error().message.find("no-such-program"), std::string::npos)
        << child.error().message;
    EXPECT_NE(child.error().message.find("No such file"), std::string::npos)
        << child.error().message;
}

TEST_F(ChildProcessTest, an_unwritable_log_file_is_an_error) {
    auto options = shell("exit 0", "missing-dir/out.log");
    auto child = ChildProcess::spawn(options);
    ASSERT_FALSE(child);
    EXPECT_NE(child.error().message.find("missing-dir/out.log"), std::string::npos)
        << child.error().message;
}

TEST_F(ChildProcessTest, runs_in_the_working_dir_and_its_own_process_group) {
    auto options = shell("pwd; exec sleep 30");
    options.working_dir = dir_;
    auto child = spawn(options);
    ASSERT_TRUE(child.wait_for_line("/", 10s));
    EXPECT_EQ(std::filesystem::path(child.output_tail(1)), std::filesystem::canonical(dir_));
    EXPECT_EQ(::getpgid(child.pid()), child.pid());

    auto same_group = shell("exec sleep 30");
    same_group.new_process_group = false;
    auto other = spawn(same_group);
    EXPECT_EQ(::getpgid(other.pid()), ::getpgid(0));
}

TEST_F(ChildProcessTest, no_descriptor_of_the_parent_leaks_into_the_child) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);  // deliberately without O_CLOEXEC
    auto child = spawn(shell("for fd in " + std::to_string(fds[0]) + " " + std::to_string(fds[1]) +
                             "; do if [ -e /proc/$$/fd/$fd ]; then echo leaked $fd; fi; done; "
                             "echo checked; read line && echo stdin-had-data || echo stdin-empty"));
    ASSERT_TRUE(child.wait_for(10s));
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_EQ(child.output(), "checked\nstdin-empty\n");
}

TEST_F(ChildProcessTest, ignored_signals_are_reset_in_the_child) {
    struct sigaction ignore {};
    struct sigaction old {};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGTERM, &ignore, &old), 0);
    auto child = spawn(shell("exec sleep 30"));
    ::sigaction(SIGTERM, &old, nullptr);
    EXPECT_EQ(child.terminate(10s).signal, SIGTERM);
}

TEST_F(ChildProcessTest, reads_peak_memory_and_cpu_time_while_it_runs) {
    // The shell itself stays (no exec: exec starts a new memory image with a fresh peak).
    auto child =
        spawn(shell("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo busy-done; "
                    "while :; do sleep 0.05; done"));
    ASSERT_TRUE(child.wait_for_line("busy-done", 60s));
    const auto rss = child.peak_rss_bytes();
    ASSERT_TRUE(rss.has_value());
    EXPECT_GT(*rss, 64u * 1024);           // a shell maps more than 64 KiB
    EXPECT_LT(*rss, 1024u * 1024 * 1024);  // and less than 1 GiB
    const auto cpu = child.cpu_seconds();
    ASSERT_TRUE(cpu.has_value());
    EXPECT_GT(*cpu, 0.0) << "the loop took CPU time";
    EXPECT_LT(*cpu, 60.0);
    child.terminate();
    EXPECT_FALSE(child.peak_rss_bytes().has_value());
    EXPECT_FALSE(child.cpu_seconds().has_value());
}

TEST(process_proc, readers_work_for_this_process_and_fail_for_a_bad_pid) {
    volatile double sink = 0;
    for (int i = 0; i < 20'000'000; ++i) sink = sink + 1.0;
    const auto rss = ferry::devnet::peak_rss_bytes(::getpid());
    ASSERT_TRUE(rss.has_value());
    EXPECT_GT(*rss, 1024u * 1024);
    const auto cpu = ferry::devnet::cpu_seconds(::getpid());
    ASSERT_TRUE(cpu.has_value());
    EXPECT_GT(*cpu, 0.0);
    EXPECT_FALSE(ferry::devnet::peak_rss_bytes(-5).has_value());
    EXPECT_FALSE(ferry::devnet::cpu_seconds(-5).has_value());
}

TEST(process_port, free_loopback_port_can_be_bound_again) {
    auto port = ferry::devnet::free_loopback_port();
    ASSERT_TRUE(port) << port.error().message;
    EXPECT_GT(*port, 0);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(*port);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
}

TEST(process_exit_status, describes_itself) {
    EXPECT_EQ((ExitStatus{0, 0}).to_string(), "exit code 0");
    EXPECT_EQ((ExitStatus{-1, SIGKILL}).to_string(), "killed by signal 9 (SIGKILL)");
    EXPECT_EQ((ExitStatus{}).to_string(), "ended (status unknown)");
    EXPECT_TRUE((ExitStatus{0, 0}).success());
    EXPECT_FALSE((ExitStatus{}).exited());
}

}  // namespace

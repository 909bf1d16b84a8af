// Starts a real anvil chain (FERRY_ANVIL) on a free loopback port for a test and stops it again.
// A thin test-facing wrapper over devnet::AnvilNode (devnet/process.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ferry::devnet {
class AnvilNode;
}

namespace ferry::test {

/// One anvil process. The constructor returns once the node answers JSON-RPC; the destructor
/// stops it (SIGTERM, then SIGKILL) and reaps it. The child is also killed if the test process
/// dies first (PR_SET_PDEATHSIG), so no chain outlives its test.
class AnvilProcess {
public:
    struct Options {
        std::uint64_t chain_id = 31337;
        /// Interval mining every this many seconds; empty means automine (a block per tx).
        std::optional<unsigned> block_time;
    };

    /// Starts anvil on 127.0.0.1 with --port 0 and reads the port it bound from its output.
    /// Throws std::runtime_error (with anvil's output) if it does not answer within 30 s.
    explicit AnvilProcess(Options options);
    AnvilProcess() : AnvilProcess(Options{}) {}
    ~AnvilProcess();

    AnvilProcess(const AnvilProcess&) = delete;
    AnvilProcess& operator=(const AnvilProcess&) = delete;

    /// "http://127.0.0.1:<port>".
    const std::string& url() const noexcept { return url_; }
    std::uint16_t port() const noexcept { return port_; }
    std::uint64_t chain_id() const noexcept { return options_.chain_id; }
    /// Everything anvil has printed so far.
    std::string output() const;

    /// Stops the process now; idempotent.
    void stop() noexcept;

private:
    Options options_;
    std::unique_ptr<devnet::AnvilNode> node_;
    std::uint16_t port_ = 0;
    std::string url_;
};

}  // namespace ferry::test

// A killable TCP forwarder on 127.0.0.1 in front of one upstream port, for RPC outages in the
// end-to-end fault tests and the soak test. Runs on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ferry::test {

/// Listens on 127.0.0.1 (port chosen by the system) and forwards each connection to
/// 127.0.0.1:<upstream_port>. close() closes the listener and every open connection; reopen()
/// listens again on the same port. Every method may be called from any one thread at a time.
class TcpProxy {
public:
    /// Throws std::system_error when it cannot listen.
    explicit TcpProxy(std::uint16_t upstream_port);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    std::uint16_t port() const noexcept;
    /// "http://127.0.0.1:<port>".
    std::string url() const;
    /// Connections accepted so far.
    std::size_t accepted() const noexcept;
    /// True while listening (between the constructor or reopen() and close()).
    bool open() const noexcept;

    void close();
    /// Throws std::system_error when the port cannot be bound again.
    void reopen();
    /// Forwards new connections to 127.0.0.1:<upstream_port> from now on and closes the open
    /// ones (a provider that swapped the node behind its address).
    void retarget(std::uint16_t upstream_port);
    /// Holds every request chunk of connections accepted from now on back by `delay` (a slow
    /// or distant provider); answers pass at once.
    void set_delay(std::chrono::milliseconds delay);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::test

#include "tests/support/tcp_proxy.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <thread>
#include <vector>

namespace ferry::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

/// One forwarded connection: bytes pumped both ways until either side closes.
struct Link : std::enable_shared_from_this<Link> {
    Link(asio::io_context& io, std::chrono::milliseconds request_delay)
        : client(io), upstream(io), up_timer(io), delay(request_delay) {}
    tcp::socket client;
    tcp::socket upstream;
    asio::steady_timer up_timer;      // holds requests back by `delay`
    std::chrono::milliseconds delay;  // of each chunk from the client
    std::array<char, 16384> up_buf{};
    std::array<char, 16384> down_buf{};

    void shut() {
        boost::system::error_code ec;
        client.close(ec);
        upstream.close(ec);
    }
    void pump(tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buf) {
        from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf](
                                                    boost::system::error_code ec, std::size_t n) {
            if (ec) return self->shut();
            auto forward = [self, &from, &to, &buf, n] {
                asio::async_write(
                    to, asio::buffer(buf.data(), n),
                    [self, &from, &to, &buf](boost::system::error_code wec, std::size_t) {
                        if (wec) return self->shut();
                        self->pump(from, to, buf);
                    });
            };
            if (&from != &self->client || self->delay.count() == 0) return forward();
            self->up_timer.expires_after(self->delay);
            self->up_timer.async_wait([self, forward](boost::system::error_code tec) {
                if (tec) return self->shut();
                forward();
            });
        });
    }
};

}  // namespace

struct TcpProxy::Impl {
    explicit Impl(std::uint16_t upstream)
        : upstream_port(upstream), work(asio::make_work_guard(io)) {}

    std::uint16_t upstream_port;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::optional<tcp::acceptor> acceptor;   // I/O thread only
    std::vector<std::weak_ptr<Link>> links;  // I/O thread only
    std::atomic<std::uint16_t> port{0};
    std::atomic<std::size_t> accepted{0};
    std::atomic<bool> listening{false};
    std::atomic<std::int64_t> delay_ms{0};
    std::thread thread;

    /// Runs `f` on the I/O thread and waits for it; rethrows what it throws.
    void run_sync(const std::function<void()>& f) {
        std::promise<void> done;
        auto fut = done.get_future();
        asio::post(io, [&] {
            try {
                f();
                done.set_value();
            } catch (...) {
                done.set_exception(std::current_exception());
            }
        });
        fut.get();
    }

    void listen(std::uint16_t at) {
        acceptor.emplace(io);
        const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), at);
        acceptor->open(ep.protocol());
        acceptor->set_option(tcp::acceptor::reuse_address(true));
        acceptor->bind(ep);
        acceptor->listen();
        port = acceptor->local_endpoint().port();
        listening = true;
        accept();
    }

    void accept() {
        acceptor->async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;  // closed
            ++accepted;
            auto link = std::make_shared<Link>(io, std::chrono::milliseconds(delay_ms.load()));
            link->client = std::move(socket);
            // Forget links that have ended, so a long soak does not grow the list.
            std::erase_if(links, [](const std::weak_ptr<Link>& w) { return w.expired(); });
            links.push_back(link);
            const tcp::endpoint up(asio::ip::make_address("127.0.0.1"), upstream_port);
            link->upstream.async_connect(up, [link](boost::system::error_code cec) {
                if (cec) return link->shut();
                link->pump(link->client, link->upstream, link->up_buf);
                link->pump(link->upstream, link->client, link->down_buf);
            });
            accept();
        });
    }

    void shut() {
        listening = false;
        if (acceptor) {
            boost::system::error_code ec;
            acceptor->close(ec);
            acceptor.reset();
        }
        for (auto& weak : links)
            if (auto link = weak.lock()) link->shut();
        links.clear();
    }
};

TcpProxy::TcpProxy(std::uint16_t upstream_port) : impl_(std::make_unique<Impl>(upstream_port)) {
    impl_->thread = std::thread([this] { impl_->io.run(); });
    try {
        impl_->run_sync([this] { impl_->listen(0); });
    } catch (...) {
        impl_->work.reset();
        impl_->io.stop();
        impl_->thread.join();
        throw;
    }
}

TcpProxy::~TcpProxy() {
    try {
        impl_->run_sync([this] { impl_->shut(); });
    } catch (...) {
    }
    impl_->work.reset();
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t TcpProxy::port() const noexcept { return impl_->port.load(); }
std::string TcpProxy::url() const { return "http://127.0.0.1:" + std::to_string(port()); }
std::size_t TcpProxy::accepted() const noexcept { return impl_->accepted.load(); }
bool TcpProxy::open() const noexcept { return impl_->listening.load(); }

void TcpProxy::close() {
    impl_->run_sync([this] { impl_->shut(); });
}

void TcpProxy::set_delay(std::chrono::milliseconds delay) { impl_->delay_ms = delay.count(); }

void TcpProxy::retarget(std::uint16_t upstream_port) {
    impl_->run_sync([this, upstream_port] {
        impl_->upstream_port = upstream_port;
        for (auto& weak : impl_->links)
            if (auto link = weak.lock()) link->shut();
        impl_->links.clear();
    });
}

void TcpProxy::reopen() {
    impl_->run_sync([this] { impl_->listen(impl_->port.load()); });
}

}  // namespace ferry::test

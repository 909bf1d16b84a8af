#include "tests/support/http_test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace ferry::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

void close_lowest(tcp::socket& s) {
    boost::system::error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
}
void close_lowest(ssl::stream<tcp::socket>& s) { close_lowest(s.next_layer()); }

}  // namespace

struct HttpTestServer::Impl {
    std::unique_ptr<ssl::context> tls;  // outlives the io_context and the streams it holds
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    Handler handler;
    std::atomic<std::size_t> requests{0};
    std::atomic<std::size_t> connections{0};
    std::uint16_t port = 0;
    std::thread thread;

    template <class Stream>
    asio::awaitable<void> serve(Stream& stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            auto [read_ec, n] = co_await http::async_read(stream, buffer, req, kNoThrow);
            if (read_ec) co_return;
            ++requests;
            const HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                                      std::string(req[http::field::authorization]), req.body()};
            const HttpReply reply = handler(request);
            switch (reply.action) {
                case HttpReply::Action::hang: {
                    asio::steady_timer forever(ioc, std::chrono::hours(1));
                    co_await forever.async_wait(kNoThrow);
                    co_return;
                }
                case HttpReply::Action::close:
                    close_lowest(stream);
                    co_return;
                case HttpReply::Action::close_mid_body: {
                    const std::string head =
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(2 * reply.body.size() + 1) + "\r\n\r\n" + reply.body;
                    co_await asio::async_write(stream, asio::buffer(head), kNoThrow);
                    close_lowest(stream);
                    co_return;
                }
                case HttpReply::Action::respond:
                    break;
            }
            http::response<http::string_body> res{static_cast<http::status>(reply.status),
                                                  req.version()};
            res.set(http::field::content_type, "application/json");
            res.keep_alive(reply.keep_alive && req.keep_alive());
            res.body() = reply.body;
            if (reply.chunked) {
                res.chunked(true);
            } else {
                res.prepare_payload();
            }
            auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
            if (write_ec || !res.keep_alive() || reply.close_after) {
                close_lowest(stream);
                co_return;
            }
        }
    }

    asio::awaitable<void> session(tcp::socket socket) {
        ++connections;
        if (!tls) {
            co_await serve(socket);
            co_return;
        }
        ssl::stream<tcp::socket> stream(std::move(socket), *tls);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
        if (!ec) co_await serve(stream);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
            if (ec) co_return;
            asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
        }
    }
};

HttpTestServer::HttpTestServer(Handler handler, std::optional<TlsFiles> tls)
    : impl_(std::make_unique<Impl>()) {
    impl_->handler = std::move(handler);
    if (tls) {
        impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
        boost::system::error_code ec;
        impl_->tls->use_certificate_chain_file(tls->cert_file, ec);
        if (!ec) impl_->tls->use_private_key_file(tls->key_file, ssl::context::pem, ec);
        if (ec) throw std::runtime_error("test server: cannot load TLS files: " + ec.message());
    }
    const tcp::endpoint where(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(where.protocol());
    impl_->acceptor.bind(where);
    impl_->acceptor.listen();
    impl_->port = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

HttpTestServer::~HttpTestServer() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint16_t HttpTestServer::port() const noexcept { return impl_->port; }

std::string HttpTestServer::url() const {
    return std::string(impl_->tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + "/";
}

std::size_t HttpTestServer::requests() const noexcept { return impl_->requests; }

std::size_t HttpTestServer::connections() const noexcept { return impl_->connections; }

std::uint16_t unused_port() {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

}  // namespace ferry::test

// A blocking loopback HTTP/1.1 client for the API server tests: raw requests over one TCP
// connection (so tests can send garbage, half requests or pipelined ones) and answers read with a
// deadline. POSIX sockets only; 127.0.0.1 only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::test {

struct HttpAnswer {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

/// One TCP connection to 127.0.0.1:<port>, with deadlines on every read. Not thread-safe.
class HttpClient {
public:
    using Clock = std::chrono::steady_clock;

    /// `source`: the local IPv4 address to connect from (127.0.0.2 etc. are loopback too).
    explicit HttpClient(std::uint16_t port, const char* source = nullptr);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    bool connected() const { return connected_; }

    /// Sends all of `data`; false when the connection fails first.
    bool send(std::string_view data);

    void shutdown_write();

    /// One answer (status line, headers, Content-Length body); nullopt when the connection
    /// ends or the deadline passes first.
    std::optional<HttpAnswer> read_answer(
        std::chrono::milliseconds timeout = std::chrono::seconds(15));

    /// True when the server closes the connection within `timeout` (anything it sends first is
    /// dropped).
    bool closed_within(std::chrono::milliseconds timeout);

    /// Whatever arrived so far and was not read as an answer (after closed_within: nothing).
    const std::string& buffered() const { return buffer_; }

    /// 1: bytes appended; 0: the peer closed (or reset); -1: the deadline passed.
    int read_some(Clock::time_point deadline);

private:
    int fd_ = -1;
    bool connected_ = false;
    std::string buffer_;
};

/// "POST / HTTP/1.1" with a JSON body; `extra_headers` are whole lines ("Name: value\r\n").
std::string post_request(std::string_view body, std::string_view extra_headers = "");

/// A request without a body ("GET /health HTTP/1.1" by default).
std::string get_request(std::string_view target, std::string_view verb = "GET");

}  // namespace ferry::test

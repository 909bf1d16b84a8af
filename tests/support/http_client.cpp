#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

namespace ferry::test {

HttpClient::HttpClient(std::uint16_t port, const char* source)
    : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (source != nullptr && fd_ >= 0) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, source, &local.sin_addr);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) return;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 &&
                 ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

HttpClient::~HttpClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool HttpClient::send(std::string_view data) {
    while (!data.empty()) {
        const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void HttpClient::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

std::optional<HttpAnswer> HttpClient::read_answer(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::size_t head_end = 0;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
        if (read_some(deadline) <= 0) return std::nullopt;
    }
    HttpAnswer answer;
    const std::string head = buffer_.substr(0, head_end);
    const auto line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.rfind("HTTP/1.", 0) != 0) return std::nullopt;
    answer.status = static_cast<unsigned>(std::stoul(status_line.substr(9, 3)));
    std::size_t pos = line_end;
    while (pos != std::string::npos && pos < head.size()) {
        const std::size_t start = pos + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string line = head.substr(start, end - start);
        if (const auto colon = line.find(':'); colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            answer.headers[name] = value;
        }
        pos = end;
    }
    std::size_t length = 0;
    if (const auto it = answer.headers.find("content-length"); it != answer.headers.end())
        length = std::stoul(it->second);
    const std::size_t total = head_end + 4 + length;
    while (buffer_.size() < total) {
        if (read_some(deadline) <= 0) return std::nullopt;
    }
    answer.body = buffer_.substr(head_end + 4, length);
    buffer_.erase(0, total);
    return answer;
}

bool HttpClient::closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const int r = read_some(deadline);
        if (r == 0) return true;
        if (r < 0) return false;
        buffer_.clear();
    }
}

int HttpClient::read_some(Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return -1;
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return -1;
        if (ready < 0) return 0;
        char chunk[65536];
        const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return 0;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return 1;
    }
}

std::string post_request(std::string_view body, std::string_view extra_headers) {
    return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" +
           std::string(body);
}

std::string get_request(std::string_view target, std::string_view verb) {
    return std::string(verb) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

}  // namespace ferry::test

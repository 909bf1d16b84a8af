// What the devnet asks the operating system: a process's peak memory and CPU time from /proc,
// and a free loopback port.
#include "devnet/process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace ferry::devnet {

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
    if (fd < 0) return AppError{"socket: " + std::system_category().message(errno)};
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
    if (!ok)
        return AppError{"cannot bind a free port on 127.0.0.1: " +
                        std::system_category().message(code)};
    return ntohs(address.sin_port);
}

}  // namespace ferry::devnet

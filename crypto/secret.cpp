#include "crypto/secret.hpp"

#include "crypto/types.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

namespace ferry::crypto {

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept
    : data_(std::move(other.data_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
    if (this != &other) {
        release();
        data_ = std::move(other.data_);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

SecretBuffer::~SecretBuffer() { release(); }

void SecretBuffer::release() noexcept {
    if (data_) secure_wipe(data_.get(), capacity_);
    data_.reset();
    size_ = 0;
    capacity_ = 0;
}

void SecretBuffer::reserve(std::size_t n) {
    if (n <= capacity_) return;
    const std::size_t grown = std::max({n, 2 * capacity_, std::size_t{64}});
    auto block = std::make_unique<char[]>(grown);  // zero-filled
    if (size_ != 0) std::memcpy(block.get(), data_.get(), size_);
    const std::size_t size = size_;
    release();
    data_ = std::move(block);
    size_ = size;
    capacity_ = grown;
}

void SecretBuffer::append(std::string_view text) {
    if (text.empty()) return;
    reserve(size_ + text.size());
    std::memcpy(data_.get() + size_, text.data(), text.size());
    size_ += text.size();
}

void SecretBuffer::append(ByteView bytes) {
    append(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void SecretBuffer::pop_back() noexcept {
    --size_;
    secure_wipe(data_.get() + size_, 1);
}

void SecretBuffer::clear() noexcept {
    if (data_) secure_wipe(data_.get(), capacity_);
    size_ = 0;
}

std::string SecretFileError::message(std::size_t limit) const {
    const std::string name = path.empty() ? std::string("input") : path.string();
    if (code == Code::too_large)
        return name + " is larger than " + std::to_string(limit) + " bytes";
    return "cannot read " + name + ": " + std::generic_category().message(system_error);
}

boost::system::result<SecretBuffer, SecretFileError> read_secret_fd(int fd, std::size_t limit) {
    SecretBuffer secret;
    std::array<char, 4096> chunk{};
    std::optional<SecretFileError> failure;
    for (;;) {
        const ssize_t n = ::read(fd, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            failure = SecretFileError{SecretFileError::Code::cannot_read, {}, errno};
            break;
        }
        if (n == 0) break;
        if (secret.size() + static_cast<std::size_t>(n) > limit) {
            failure = SecretFileError{SecretFileError::Code::too_large, {}, 0};
            break;
        }
        secret.append(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
    }
    secure_wipe(chunk.data(), chunk.size());
    if (failure) return *failure;
    return secret;
}

boost::system::result<SecretBuffer, SecretFileError> read_secret_file(
    const std::filesystem::path& path, std::size_t limit) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SecretFileError{SecretFileError::Code::cannot_open, path, errno};
    auto secret = read_secret_fd(fd, limit);
    ::close(fd);
    if (!secret) {
        SecretFileError e = secret.error();
        e.path = path;
        return e;
    }
    return secret;
}

}  // namespace ferry::crypto

// A byte buffer for secrets that are not keys: passwords, key text read from a file or the
// environment. It never leaves a copy of its bytes behind in freed memory.
#pragma once

#include "crypto/bytes.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace ferry::crypto {

/// Owns a heap buffer whose every byte (up to capacity) is wiped with secure_wipe() on clear(),
/// on destruction, when it is moved from, and before its storage is freed to grow. Unlike
/// std::string it has no small-string buffer and no hidden copies: growing copies into a new
/// block and wipes the old one. Move-only.
class SecretBuffer {
public:
    SecretBuffer() = default;
    explicit SecretBuffer(std::string_view text) { append(text); }
    SecretBuffer(const SecretBuffer&) = delete;
    SecretBuffer& operator=(const SecretBuffer&) = delete;
    SecretBuffer(SecretBuffer&& other) noexcept;
    SecretBuffer& operator=(SecretBuffer&& other) noexcept;
    ~SecretBuffer();

    /// Makes room for at least `n` bytes (wiping the old block when it moves).
    void reserve(std::size_t n);
    void append(std::string_view text);
    void append(ByteView bytes);
    /// Removes the last byte and wipes it. Precondition: !empty().
    void pop_back() noexcept;
    /// Wipes every byte of the storage and sets the size to 0; the storage is kept.
    void clear() noexcept;

    const char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }
    char back() const noexcept { return data_[size_ - 1]; }
    std::string_view view() const noexcept { return {data_.get(), size_}; }
    ByteView bytes() const noexcept {
        return {reinterpret_cast<const std::uint8_t*>(data_.get()), size_};
    }

private:
    void release() noexcept;

    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

/// Why read_secret_file() or read_secret_fd() gave no secret.
struct SecretFileError {
    enum class Code {
        cannot_open,  ///< open() failed; `system_error` says why
        cannot_read,  ///< read() failed; `system_error` says why
        too_large,    ///< more bytes than the limit
    };
    Code code = Code::cannot_read;
    std::filesystem::path path;  ///< the file (empty for read_secret_fd)
    int system_error = 0;        ///< errno of the failed call, 0 for too_large

    /// "cannot read FILE: reason" or "FILE is larger than N bytes": names the file, never any of
    /// its content.
    std::string message(std::size_t limit) const;
};

/// Reads all of `path` (a file, or a pipe read to its end: blocking) into a SecretBuffer. Every
/// byte read passes through one stack buffer that is wiped before returning. More than `limit`
/// bytes is too_large. No newline is stripped. Thread-safe.
boost::system::result<SecretBuffer, SecretFileError> read_secret_file(
    const std::filesystem::path& path, std::size_t limit);

/// read_secret_file() on an open descriptor (stdin), which is left open.
boost::system::result<SecretBuffer, SecretFileError> read_secret_fd(int fd, std::size_t limit);

}  // namespace ferry::crypto

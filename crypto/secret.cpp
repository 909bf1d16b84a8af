#include "crypto/secret.hpp"

#include "crypto/types.hpp"

#include <algorithm>
#include <cstring>
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

}  // namespace ferry::crypto

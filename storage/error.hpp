// Error codes of ferry::storage. Every fallible queue operation returns Result<T> carrying one of
// these; the backend's last_error() adds the detail (which packet, which states, SQLite's text).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace ferry::storage {

enum class Error {
    ok = 0,
    // opening and the file itself
    open_failed,
    not_a_database,
    foreign_database,
    schema_too_new,
    corrupt,
    busy,
    disk_full,
    io,
    sqlite,
    // the queue's rules
    invalid_argument,
    not_found,
    illegal_transition,
    duplicate_delivery,
    delivery_not_live,
    account_nonce_mismatch,
    receipt_exists,
};

/// The category named "ferry.storage". Thread-safe; returns the same object on every call.
const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(Error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

template <class T>
using Result = boost::system::result<T>;

}  // namespace ferry::storage

template <>
struct boost::system::is_error_code_enum<ferry::storage::Error> : std::true_type {};

// Error codes of ferry::crypto. Every decoder of untrusted bytes in this library returns
// boost::system::result<T> carrying one of these; nothing here throws across the API.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace ferry::crypto {

enum class Error {
    ok = 0,
    // hex
    hex_odd_length,
    hex_bad_digit,
    hex_wrong_size,
    hex_missing_prefix,
    hex_unexpected_prefix,
    // keys and signatures
    invalid_private_key,
    invalid_public_key,
    invalid_signature,
    signature_high_s,
    signature_bad_v,
    recovery_failed,
    signing_failed,
    // keystore v3
    keystore_malformed,
    keystore_unsupported,
    keystore_wrong_password,
    keystore_kdf_failed,
    keystore_io,
    keystore_insecure_permissions,
    keystore_file_exists,
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(Error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

template <class T>
using Result = boost::system::result<T>;

}  // namespace ferry::crypto

template <>
struct boost::system::is_error_code_enum<ferry::crypto::Error> : std::true_type {};

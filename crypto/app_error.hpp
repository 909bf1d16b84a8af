// Ferry's one application error: a line for the user that names the bad input or what failed
// and how to fix it. Never holds key material or a secret-bearing URL. Layers with richer
// failure kinds keep their own types (storage::Error, chains::ChainError, evm::RpcError) and
// are turned into an AppError where they reach the user.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry {

struct AppError {
    std::string message;
};

[[noreturn]] inline void throw_exception_from_error(const AppError& e,
                                                    const boost::source_location&) {
    throw std::runtime_error(e.message);
}

template <class T>
using AppResult = boost::system::result<T, AppError>;

/// Exit codes of the `ferry` commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // bad input, unreachable node, reverted transaction
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

/// Prints "ferry <command>: error: <message>" on stderr, control bytes but newlines replaced
/// (messages may carry chain- or node-supplied text).
void print_error(std::string_view command, std::string_view message);

}  // namespace ferry

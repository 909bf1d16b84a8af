// What the fuzz targets share: FUZZ_CHECK aborts with a message when a property is violated
// (libFuzzer then keeps the input as a crash file), and a hex helper for messages.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/hex.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ferry::fuzz {

[[noreturn]] inline void property_violated(const char* target, const char* what, const char* file,
                                           int line, const std::string& detail) {
    std::fprintf(stderr, "\n%s: PROPERTY VIOLATED at %s:%d: %s\n", target, file, line, what);
    if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
    std::fflush(stderr);
    std::abort();
}

/// Shortened hex of bytes for messages.
inline std::string short_hex(crypto::ByteView bytes, std::size_t max = 64) {
    if (bytes.size() <= max) return crypto::to_hex(bytes);
    return crypto::to_hex(bytes.first(max)) + "...(" + std::to_string(bytes.size()) + " bytes)";
}

}  // namespace ferry::fuzz

/// Aborts with `what` (and `detail`, a std::string expression evaluated only on failure).
#define FUZZ_CHECK(cond, what, detail)                                                       \
    do {                                                                                     \
        if (!(cond))                                                                         \
            ::ferry::fuzz::property_violated(kFuzzTarget, what, __FILE__, __LINE__, detail); \
    } while (0)

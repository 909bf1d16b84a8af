#include "crypto/app_error.hpp"

#include <iostream>

namespace ferry {

void print_error(std::string_view command, std::string_view message) {
    std::string clean;
    clean.reserve(message.size());
    for (const char c : message) {
        const auto u = static_cast<unsigned char>(c);
        clean += (u == '\n' || (u >= 0x20 && u != 0x7f)) ? c : '?';
    }
    std::cerr << "ferry " << command << ": error: " << clean << std::endl;
}

}  // namespace ferry

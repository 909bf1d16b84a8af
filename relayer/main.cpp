// The ferry command line. Subcommands arrive with the issues that build them.
#include "relayer/version.hpp"

#include <iostream>
#include <string_view>

namespace {

constexpr std::string_view kUsage = R"(ferry - cross-chain message relayer node

Usage: ferry <command> [options]

Commands available in this build:
  version     print the version and exit

Options:
  -h, --help  show this help
)";

}  // namespace

int main(int argc, char** argv) {
    const std::string_view cmd = argc > 1 ? argv[1] : "";
    if (cmd == "version" || cmd == "--version") {
        std::cout << "ferry " << ferry::relayer::version() << '\n';
        return 0;
    }
    if (cmd.empty() || cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::cout << kUsage;
        return 0;
    }
    std::cerr << "ferry: unknown command '" << cmd << "'\n\n" << kUsage;
    return 2;
}

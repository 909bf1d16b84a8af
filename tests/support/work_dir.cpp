#include "tests/support/work_dir.hpp"

#include "devnet/devnet.hpp"

#include <stdlib.h>

#include <iostream>
#include <stdexcept>
#include <system_error>

namespace ferry::test {

std::filesystem::path make_work_dir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    const char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    return made;
}

void finish_devnet(devnet::Devnet& net, bool test_failed) {
    net.stop_all();
    if (test_failed) {
        for (const auto& f : net.log_files()) std::cerr << "log kept: " << f << '\n';
    } else {
        std::error_code ec;
        std::filesystem::remove_all(net.work_dir(), ec);
    }
}

}  // namespace ferry::test

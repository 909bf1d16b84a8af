// Scratch directories for tests and benchmarks that run devnets (devnet/devnet.hpp), and the
// common end of such a test: logs kept when it failed, everything removed when it passed.
#pragma once

#include <filesystem>
#include <string>

namespace ferry::devnet {
class Devnet;
}

namespace ferry::test {

/// A new, empty directory <temp dir>/<prefix>-XXXXXX (mkdtemp). Throws std::runtime_error
/// naming the pattern when it cannot be made.
std::filesystem::path make_work_dir(const std::string& prefix);

/// Stops every process of `net`. When `test_failed`, its work directory is kept and the log
/// files are listed on stderr; otherwise the work directory is removed.
void finish_devnet(devnet::Devnet& net, bool test_failed);

}  // namespace ferry::test

#include "tests/support/vectors.hpp"

#include <fstream>
#include <stdexcept>

namespace ferry::test {

nlohmann::json load_vectors(const std::string& name) {
    const std::string path = std::string(FERRY_VECTORS_DIR) + "/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open test vectors " + path);
    return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
}

}  // namespace ferry::test

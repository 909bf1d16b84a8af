// Loads JSON test vectors from tests/vectors/.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ferry::test {

/// Parses tests/vectors/<name>; throws with the path when the file is missing or malformed.
nlohmann::json load_vectors(const std::string& name);

}  // namespace ferry::test

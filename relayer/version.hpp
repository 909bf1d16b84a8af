// Build identity of this Ferry binary.
#pragma once

#include <string_view>

namespace ferry::relayer {

/// Semantic version of this build, e.g. "0.1.0".
std::string_view version() noexcept;

}  // namespace ferry::relayer

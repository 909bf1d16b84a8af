#include "relayer/version.hpp"

namespace ferry::relayer {

std::string_view version() noexcept { return FERRY_VERSION; }

}  // namespace ferry::relayer

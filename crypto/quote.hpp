// Quoting untrusted text into a message for the user or a log line (docs/style.md, Errors).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry::crypto {

/// `text` in single quotes, cut after `max_chars` characters (then "..." follows) and with
/// control bytes replaced by '?', so that input can never forge lines or terminal escapes.
/// Never pass a secret: quoting does not hide it.
std::string quote_input(std::string_view text, std::size_t max_chars = 80);

}  // namespace ferry::crypto

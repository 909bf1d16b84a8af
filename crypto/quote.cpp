#include "crypto/quote.hpp"

namespace ferry::crypto {

std::string quote_input(std::string_view text, std::size_t max_chars) {
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < max_chars; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    }
    if (text.size() > max_chars) out += "...";
    return out + "'";
}

}  // namespace ferry::crypto

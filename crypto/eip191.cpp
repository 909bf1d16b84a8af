#include "crypto/eip191.hpp"

#include "crypto/keccak.hpp"

#include <array>
#include <string>

namespace ferry::crypto {

Hash32 personal_message_hash(ByteView message) {
    std::string prefix(1, '\x19');
    prefix += "Ethereum Signed Message:\n";
    prefix += std::to_string(message.size());
    Keccak256 h;
    h.update(as_bytes(prefix)).update(message);
    return h.finish();
}

Hash32 attestation_domain(ChainId src_chain, const Address& outbox) noexcept {
    std::array<std::uint8_t, 8 + 20 + 5> buf{};
    const std::uint64_t id = to_u64(src_chain);
    for (std::size_t i = 0; i < 8; ++i) buf[i] = static_cast<std::uint8_t>(id >> (56 - 8 * i));
    std::copy(outbox.bytes.begin(), outbox.bytes.end(), buf.begin() + 8);
    constexpr std::string_view kTag = "FERRY";
    std::copy(kTag.begin(), kTag.end(), buf.begin() + 28);
    return keccak256(buf);
}

Hash32 attestation_digest(ChainId src_chain, const Address& outbox, const PacketId& id) {
    std::array<std::uint8_t, 64> buf{};
    const Hash32 domain = attestation_domain(src_chain, outbox);
    std::copy(domain.bytes.begin(), domain.bytes.end(), buf.begin());
    std::copy(id.bytes.begin(), id.bytes.end(), buf.begin() + 32);
    return personal_message_hash(keccak256(buf).view());
}

}  // namespace ferry::crypto

#include "storage/queue.hpp"

#include <array>
#include <cmath>
#include <cstring>

namespace ferry::storage {
namespace {

constexpr std::array<std::string_view, kPacketStateCount> kStateNames = {
    "observed", "attested", "submitted", "delivered", "failed", "dead", "rejected", "expired",
};

// splitmix64: a fixed, well-mixed bijection, so the jitter is reproducible from its inputs.
std::uint64_t mix(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

std::string_view to_string(PacketState state) noexcept {
    const auto i = static_cast<std::size_t>(state);
    return i < kStateNames.size() ? kStateNames[i] : std::string_view("unknown");
}

std::optional<PacketState> packet_state_from_string(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kStateNames.size(); ++i)
        if (kStateNames[i] == name) return static_cast<PacketState>(i);
    return std::nullopt;
}

std::string route_name(const Route& route) {
    return std::to_string(crypto::to_u64(route.src)) + "->" +
           std::to_string(crypto::to_u64(route.dst));
}

bool is_valid(const BackoffPolicy& p) noexcept {
    return p.initial_delay_ms >= 0 && p.max_delay_ms >= p.initial_delay_ms &&
           std::isfinite(p.multiplier) && p.multiplier >= 1.0 && std::isfinite(p.jitter) &&
           p.jitter >= 0.0 && p.jitter <= 1.0 && p.max_attempts >= 1;
}

UnixMillis backoff_delay(const BackoffPolicy& p, std::uint32_t attempts,
                         const PacketId& id) noexcept {
    const double cap = static_cast<double>(p.max_delay_ms);
    double delay = static_cast<double>(p.initial_delay_ms);
    for (std::uint32_t i = 1; i < attempts && delay < cap; ++i) delay *= p.multiplier;
    if (delay > cap) delay = cap;

    std::uint64_t seed = mix(attempts);
    for (std::size_t i = 0; i < PacketId::kSize; i += sizeof(std::uint64_t)) {
        std::uint64_t word = 0;
        std::memcpy(&word, id.data() + i, sizeof(word));
        seed = mix(seed ^ word);
    }
    const std::uint64_t r = seed;
    const double u = static_cast<double>(r >> 11) * 0x1.0p-53;  // [0, 1)
    delay *= 1.0 - p.jitter * u;
    return static_cast<UnixMillis>(delay);
}

}  // namespace ferry::storage

// SQL text assembled at compile time, and the state numbers the queue's tables store, as named
// pieces of that text. Internal to storage/: SqliteQueue builds its statements from these pieces
// instead of writing `state = 1`, which means attested in one table and mined in another.
#pragma once

#include "storage/queue.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace ferry::storage::sql {

/// A compile-time string of N − 1 characters and a terminating zero.
template <std::size_t N>
struct Text {
    char chars[N]{};

    constexpr Text() = default;
    /// Implicit, so that a string literal can be a Text template argument.
    constexpr Text(const char (&s)[N]) {
        for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
    }
    constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
    /// Implicit, so that a Text goes wherever SQL text is taken.
    constexpr operator std::string_view() const noexcept { return view(); }
};

namespace detail {

template <class T>
struct Length;
template <std::size_t N>
struct Length<char[N]> {
    static constexpr std::size_t value = N - 1;
};
template <std::size_t N>
struct Length<Text<N>> {
    static constexpr std::size_t value = N - 1;
};

template <class T>
inline constexpr std::size_t kLength = Length<std::remove_cvref_t<T>>::value;

template <std::size_t N, class Part>
constexpr std::size_t append(Text<N>& out, std::size_t at, const Part& part) {
    const std::string_view s(part);
    for (const char c : s) out.chars[at++] = c;
    return at;
}

}  // namespace detail

/// Concatenates string literals and Text pieces into one Text, at compile time.
template <class... Parts>
consteval auto cat(const Parts&... parts) {
    Text<(detail::kLength<Parts> + ... + 1)> out;
    std::size_t at = 0;
    ((at = detail::append(out, at, parts)), ...);
    return out;
}

/// The value a one-number Text stands for (decimal digits only; −1 when it is not one).
template <std::size_t N>
consteval std::int64_t number(const Text<N>& text) {
    if (N < 2) return -1;
    std::int64_t v = 0;
    for (const char c : text.view()) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

template <class Enum>
consteval std::int64_t stored(Enum e) {
    return static_cast<std::int64_t>(static_cast<std::underlying_type_t<Enum>>(e));
}

/// `digits`, the number the database stores for `value`. The numbers are on disk: they are
/// written out, not derived from the enums, so that renumbering an enum fails to compile here
/// instead of changing what stored rows mean.
template <auto value, Text digits>
consteval auto pinned() {
    static_assert(number(digits) == stored(value), "a state's SQL number differs from its enum");
    return digits;
}

// packets.state
inline constexpr auto kObserved = pinned<PacketState::observed, "0">();
inline constexpr auto kAttested = pinned<PacketState::attested, "1">();
inline constexpr auto kSubmitted = pinned<PacketState::submitted, "2">();
inline constexpr auto kDelivered = pinned<PacketState::delivered, "3">();
inline constexpr auto kFailed = pinned<PacketState::failed, "4">();
inline constexpr auto kDead = pinned<PacketState::dead, "5">();
inline constexpr auto kRejected = pinned<PacketState::rejected, "6">();
inline constexpr auto kExpired = pinned<PacketState::expired, "7">();
static_assert(kPacketStateCount == 8, "a new packet state needs its SQL number here");

// deliveries.state
inline constexpr auto kLive = pinned<DeliveryState::live, "0">();
inline constexpr auto kMined = pinned<DeliveryState::mined, "1">();
inline constexpr auto kReplaced = pinned<DeliveryState::replaced, "2">();
inline constexpr auto kDropped = pinned<DeliveryState::dropped, "3">();
inline constexpr auto kDeliveryFailed = pinned<DeliveryState::failed, "4">();

/// Whether `list` ("0, 1, 2, 4") holds exactly the numbers of the packet states for which
/// `holds` is true.
consteval bool lists_exactly(std::string_view list, bool (*holds)(PacketState) noexcept) {
    bool listed[kPacketStateCount]{};
    std::size_t value = 0;
    bool in_number = false;
    for (const char c : list) {
        if (c >= '0' && c <= '9') {
            value = value * 10 + static_cast<std::size_t>(c - '0');
            in_number = true;
        } else if (in_number) {
            if (value >= kPacketStateCount) return false;
            listed[value] = true;
            value = 0;
            in_number = false;
        }
    }
    if (in_number) {
        if (value >= kPacketStateCount) return false;
        listed[value] = true;
    }
    for (std::size_t i = 0; i < kPacketStateCount; ++i)
        if (listed[i] != holds(static_cast<PacketState>(i))) return false;
    return true;
}

/// The pending packet states (see is_pending) as an SQL list: "0, 1, 2, 4".
inline constexpr auto kPending = cat(kObserved, ", ", kAttested, ", ", kSubmitted, ", ", kFailed);
static_assert(lists_exactly(kPending, is_pending), "kPending must list what is_pending holds for");

}  // namespace ferry::storage::sql

// Internal to SqliteQueue's source files: the row readers, statement helpers and row types they
// share. Not part of storage's interface.
#pragma once

#include "storage/sql_text.hpp"
#include "storage/sqlite_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::storage {

// Looked-up facts about one delivery row.
struct SqliteQueue::DeliveryRow {
    std::int64_t id = 0;
    ChainId chain{};
    Address account;
    std::uint64_t account_nonce = 0;
    DeliveryState state = DeliveryState::live;
    bool has_receipt = false;
};

// A submitted packet about to be settled by its delivery.
struct SqliteQueue::SubmittedPacket {
    std::int64_t seq = 0;
    PacketId id;
    std::uint32_t attempts = 0;
};

namespace detail {

inline constexpr std::int64_t kMinKey = std::numeric_limits<std::int64_t>::min();

constexpr std::int64_t sql_int(std::uint64_t v) noexcept { return static_cast<std::int64_t>(v); }
constexpr std::int64_t sql_int(PacketState s) noexcept { return static_cast<std::int64_t>(s); }
constexpr std::int64_t sql_int(DeliveryState s) noexcept { return static_cast<std::int64_t>(s); }
/// `n` as an SQL LIMIT, saturated at the largest SQLite integer.
std::int64_t sql_limit(std::size_t n) noexcept;

/// A stored delivery state; an out-of-range number reads as the nearest state.
constexpr DeliveryState delivery_state(std::int64_t stored) noexcept {
    return static_cast<DeliveryState>(
        std::clamp<std::int64_t>(stored, 0, sql_int(DeliveryState::failed)));
}

std::string describe(const Route& r);
std::string_view delivery_state_name(DeliveryState s);

/// SELECT of a PacketRecord's columns FROM packets p `indexed_by`, with its joins, then `rest`.
std::string packet_query(std::string_view indexed_by, std::string_view rest);
/// Reads a row of packet_query(); false when its state is out of range.
bool read_record(const Stmt& st, PacketRecord& r);

/// SELECT of a Delivery's columns (the row id first) FROM deliveries.
inline constexpr sql::Text kDeliveryColumns{
    "SELECT id, chain, tx_hash, account, account_nonce, max_fee_per_gas, "
    "max_priority_fee_per_gas, gas_limit, state, created_at FROM deliveries "};
void read_delivery(const Stmt& st, Delivery& d);

/// Writes `d` as a live delivery and returns its row id.
Result<std::int64_t> insert_delivery(Database& db, const Delivery& d, UnixMillis now);
Result<void> set_delivery_state(Database& db, std::int64_t id, DeliveryState state, UnixMillis now);

/// Makes the commits in its scope reach the disk, then restores synchronous = NORMAL.
class SyncScope {
public:
    explicit SyncScope(Database& db, Sync configured)
        : db_(db), active_(configured != Sync::full) {}
    SyncScope(const SyncScope&) = delete;
    SyncScope& operator=(const SyncScope&) = delete;
    Result<void> enter() { return active_ ? db_.set_sync(Sync::full) : Result<void>{}; }
    ~SyncScope() {
        if (active_) (void)db_.set_sync(Sync::normal);
    }

private:
    Database& db_;
    bool active_;
};

}  // namespace detail
}  // namespace ferry::storage

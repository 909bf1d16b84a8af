// SqliteQueue: the embedded Queue backend — one SQLite file in WAL mode, schema migrated on open,
// one connection, cached prepared statements, every mutating call one transaction.
#pragma once

#include "storage/queue.hpp"
#include "storage/sqlite.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ferry::storage {

struct SqliteQueueOptions {
    BackoffPolicy backoff;
    /// Delivered packets older than this may be pruned by prune_delivered().
    UnixMillis retention_ms = 7LL * 24 * 3600 * 1000;
    /// SQLite page cache of this connection, KiB.
    std::int64_t cache_kib = 8 * 1024;
    int busy_timeout_ms = 5000;
    /// Sync::normal: commits survive a crash of the process; after a power loss the last
    /// commits may roll back, cursor and packets together, so the watcher rescans them. Writes of
    /// deliveries (which precede sending a tx) are always fsynced. Sync::full fsyncs every commit.
    Sync sync = Sync::normal;
};

/// Not thread-safe: use one instance per thread. Several instances (or processes) may open the
/// same file; reads see committed data only, and writers are serialised by SQLite's lock, but
/// the design has one writer per file.
class SqliteQueue final : public Queue {
public:
    /// Opens or creates the queue at `path` (":memory:" for a private in-memory queue) and
    /// migrates it to kSchemaVersion. Errors: invalid_argument (bad options), open_failed,
    /// not_a_database, foreign_database, schema_too_new, corrupt, busy; `detail` (when given)
    /// gets a sentence for the operator.
    static Result<std::unique_ptr<SqliteQueue>> open(const std::string& path,
                                                     const SqliteQueueOptions& options = {},
                                                     std::string* detail = nullptr);

    std::string_view last_error() const noexcept override { return last_error_; }

    Result<InsertOutcome> insert_packets(std::span<const NewPacket> packets, const Cursor& cursor,
                                         UnixMillis now) override;
    Result<std::optional<Cursor>> cursor(ChainId chain, const Address& contract) override;
    Result<std::optional<Nonce>> lowest_nonce_gap(const Route& route) override;

    Result<std::size_t> store_attestations(std::span<const Attestation> attestations,
                                           UnixMillis now) override;
    Result<std::vector<Attestation>> attestations(const PacketId& packet) override;
    Result<void> mark_attested(std::span<const PacketId> ids, UnixMillis now) override;
    Result<void> reject(std::span<const PacketId> ids, std::string_view reason,
                        UnixMillis now) override;
    Result<std::size_t> expire_due(UnixMillis now) override;

    Result<std::vector<PacketRecord>> next_attested(const Route& route, std::size_t limit) override;
    Result<void> mark_delivered_elsewhere(std::span<const PacketId> ids, UnixMillis now) override;
    Result<std::vector<MinedDelivery>> unconfirmed_deliveries(ChainId chain,
                                                              std::uint64_t up_to_block,
                                                              std::size_t limit) override;
    Result<void> confirm_delivery(const Hash32& tx, UnixMillis now) override;
    Result<std::size_t> revert_delivery(const Hash32& tx, UnixMillis now) override;
    Result<void> record_delivery(const Delivery& delivery, UnixMillis now) override;
    Result<void> replace_delivery(const Hash32& old_tx, const Delivery& replacement,
                                  UnixMillis now) override;
    Result<std::size_t> drop_delivery(const Hash32& tx, UnixMillis now) override;
    Result<std::size_t> fail_delivery(const Hash32& tx, std::string_view error, FailureKind kind,
                                      UnixMillis now) override;
    Result<void> fail_packets(std::span<const PacketId> ids, std::string_view error,
                              FailureKind kind, UnixMillis now) override;
    Result<std::vector<PacketRecord>> due_retries(UnixMillis now, std::size_t limit) override;
    Result<void> requeue(std::span<const PacketId> ids, UnixMillis now) override;
    Result<std::optional<std::uint64_t>> account_nonce(ChainId chain,
                                                       const Address& account) override;
    Result<void> set_account_nonce(ChainId chain, const Address& account, std::uint64_t next_nonce,
                                   UnixMillis now) override;

    Result<std::vector<Delivery>> pending_deliveries(ChainId chain, std::size_t limit) override;
    Result<ReceiptOutcome> record_receipt(const Receipt& receipt, UnixMillis now) override;

    Result<void> retry_packet(const PacketId& id, UnixMillis now) override;
    Result<std::size_t> retry_dead(const Route& route, UnixMillis now) override;
    Result<std::size_t> prune_delivered(UnixMillis now, std::size_t limit) override;

    Result<std::optional<PacketRecord>> packet(const PacketId& id) override;
    Result<PacketPage> list_packets(const PacketFilter& filter) override;
    Result<std::vector<RouteStateCount>> counts() override;
    Result<std::vector<RoutePendingAge>> oldest_pending() override;
    Result<std::vector<RouteInfo>> routes() override;

    /// The underlying connection, for diagnostics and tests (integrity checks). Writing through
    /// it bypasses the queue's rules.
    Database& database() noexcept { return db_; }
    const SqliteQueueOptions& options() const noexcept { return options_; }

private:
    struct DeliveryRow;
    struct SubmittedPacket;
    struct RouteWatermark;
    struct NonceHolder;

    SqliteQueue(Database db, const SqliteQueueOptions& options)
        : db_(std::move(db)), options_(options) {}

    // Errors and transactions (sqlite_queue.cpp).
    Error fail(Error e, std::string message);
    boost::system::error_code fail_db(boost::system::error_code e, std::string_view context);
    Result<Transaction> begin();
    Result<void> commit(Transaction& tx);

    // Packet moves shared by several operations (sqlite_queue.cpp).
    Result<void> transition(std::span<const PacketId> ids, std::string_view sql, PacketState to,
                            std::string_view extra_text, UnixMillis now);
    boost::system::error_code explain_refusal(const PacketId& id, PacketState to);
    Result<bool> fail_one(std::int64_t seq, const PacketId& id, std::uint32_t attempts,
                          std::string_view error, FailureKind kind, UnixMillis now);
    Result<void> each_row(Stmt& st, std::string_view context,
                          const std::function<void(const Stmt&)>& on_row);
    Result<std::vector<PacketRecord>> read_packets(std::string_view sql,
                                                   const std::function<void(Stmt&)>& bind);
    Result<std::vector<PacketId>> delivery_packets(std::int64_t delivery_id, PacketState state);

    // insert_packets, step by step (sqlite_queue_packets.cpp).
    Result<void> check_source_chain(std::span<const NewPacket> packets, const Cursor& cursor);
    Result<RouteWatermark> load_watermark(const Route& route);
    Result<std::optional<std::int64_t>> insert_packet(const NewPacket& p, UnixMillis now);
    Result<bool> check_equivocation(const NewPacket& p, std::int64_t seq, RouteWatermark& route,
                                    UnixMillis now);
    Result<std::vector<NonceHolder>> nonce_holders(const NewPacket& p, std::int64_t seq);
    /// Whether any packet of p's route holds p's nonce.
    Result<bool> nonce_held(const NewPacket& p);
    Result<void> reject_seq(std::int64_t seq, const std::string& why, UnixMillis now);
    Result<void> save_watermark(const Route& route, RouteWatermark& watermark);
    Result<void> save_cursor(const Cursor& cursor, UnixMillis now);

    // Delivery lookups and the shared transition skeleton (sqlite_queue_deliveries.cpp).
    Result<std::optional<DeliveryRow>> find_delivery(const Hash32& tx_hash);
    Result<DeliveryRow> load_delivery(const Hash32& tx_hash);
    Result<DeliveryRow> load_delivery(const Hash32& tx_hash, DeliveryState want);
    Result<void> check_new_delivery(const Hash32& tx_hash);
    Result<std::size_t> settle_delivery(
        const Hash32& tx_hash, DeliveryState from, DeliveryState to, UnixMillis now,
        const std::function<Result<std::size_t>(std::int64_t delivery_id)>& move_packets);
    Result<std::size_t> update_delivery_packets(std::string_view sql, std::int64_t delivery_id,
                                                UnixMillis now, std::string_view preparing);
    Result<std::vector<SubmittedPacket>> submitted_packets(std::int64_t delivery_id);
    Result<void> submit_packet(const PacketId& id, const Delivery& delivery,
                               std::int64_t delivery_id, UnixMillis now);
    Result<std::optional<std::pair<std::int64_t, Hash32>>> live_delivery_of_nonce(
        ChainId chain, const Address& account, std::uint64_t account_nonce,
        std::string_view context);
    Result<void> check_nonce_free(const Delivery& delivery);
    Result<void> advance_account_nonce(const Delivery& delivery, UnixMillis now);

    // record_receipt, step by step (sqlite_queue_receipts.cpp).
    Result<std::int64_t> packet_holder(const DeliveryRow& mined, const Hash32& tx_hash);
    Result<void> store_receipt(std::int64_t delivery_id, const Receipt& receipt, UnixMillis now);
    Result<ReceiptOutcome> settle_receipt_packets(std::int64_t holder, std::int64_t mined,
                                                  const Receipt& receipt, UnixMillis now);

    // Pruning, step by step (sqlite_queue_reads.cpp).
    Result<void> prune_packet(std::int64_t seq);
    Result<void> prune_deliveries(std::vector<std::int64_t> deliveries, UnixMillis cutoff);

    Database db_;
    SqliteQueueOptions options_;
    std::string last_error_;
};

}  // namespace ferry::storage

// SqliteQueue, the submitter's deliveries: recording, replacing, dropping and failing the
// destination-chain transactions that carry packets, and the relayer accounts' nonces.
#include "storage/sqlite_queue.hpp"

#include "crypto/hex.hpp"
#include "storage/sqlite_queue_detail.hpp"

#include <utility>

namespace ferry::storage {

using detail::delivery_state_name;
using detail::sql_int;

// ---- delivery lookups and the transition skeleton ----

// The delivery whose tx is `tx`, or nullopt. Errors are SQLite's, not yet reported.
Result<std::optional<SqliteQueue::DeliveryRow>> SqliteQueue::find_delivery(const Hash32& tx) {
    auto st = db_.prepare(
        "SELECT id, chain, account, account_nonce, state, receipt_status IS NOT NULL "
        "FROM deliveries WHERE tx_hash = ?1");
    if (!st) return st.error();
    st->bind(1, tx);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<DeliveryRow>();
    DeliveryRow d;
    d.id = st->i64(0);
    d.chain = ChainId{st->u64(1)};
    d.account = st->fixed<20>(2);
    d.account_nonce = st->u64(3);
    d.state = detail::delivery_state(st->i64(4));
    d.has_receipt = st->i64(5) != 0;
    return std::optional<DeliveryRow>(d);
}

Result<SqliteQueue::DeliveryRow> SqliteQueue::load_delivery(const Hash32& tx_hash) {
    auto found = find_delivery(tx_hash);
    if (!found) return fail_db(found.error(), "looking up a delivery");
    if (!*found) return fail(Error::not_found, "no delivery with tx " + tx_hash.hex());
    return **found;
}

Result<SqliteQueue::DeliveryRow> SqliteQueue::load_delivery(const Hash32& tx_hash,
                                                            DeliveryState want) {
    auto d = load_delivery(tx_hash);
    if (!d) return d.error();
    if (d->state != want)
        return fail(Error::delivery_not_live, "delivery " + tx_hash.hex() + " is " +
                                                  std::string(delivery_state_name(d->state)) +
                                                  ", not " +
                                                  std::string(delivery_state_name(want)));
    return d;
}

Result<void> SqliteQueue::check_new_delivery(const Hash32& tx_hash) {
    auto existing = find_delivery(tx_hash);
    if (!existing) return fail_db(existing.error(), "looking up a delivery");
    if (!*existing) return {};
    // The identical transaction again (same nonce, packets and fees) after it failed to send or
    // left the pool: the old row holds no packets any more and goes, the new one takes its place.
    const auto state = (*existing)->state;
    if ((state == DeliveryState::failed || state == DeliveryState::dropped) &&
        !(*existing)->has_receipt) {
        auto st = db_.prepare("DELETE FROM deliveries WHERE id = ?1");
        if (!st) return fail_db(st.error(), "preparing a delivery delete");
        st->bind(1, (*existing)->id);
        if (auto r = st->run(); !r) return fail_db(r.error(), "deleting a settled delivery");
        return {};
    }
    return fail(Error::duplicate_delivery,
                "tx " + tx_hash.hex() + " is already recorded as a delivery");
}

// In one transaction: loads the delivery of `tx_hash`, which must be `from`, lets `move_packets`
// move its packets (given the delivery's row id) and sets the delivery to `to`. Returns how many
// packets moved.
Result<std::size_t> SqliteQueue::settle_delivery(
    const Hash32& tx_hash, DeliveryState from, DeliveryState to, UnixMillis now,
    const std::function<Result<std::size_t>(std::int64_t delivery_id)>& move_packets) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto d = load_delivery(tx_hash, from);
    if (!d) return d.error();
    auto moved = move_packets(d->id);
    if (!moved) return moved.error();
    if (auto r = detail::set_delivery_state(db_, d->id, to, now); !r)
        return fail_db(r.error(), "marking a delivery " + std::string(delivery_state_name(to)));
    if (auto r = commit(*tx); !r) return r.error();
    return moved;
}

// Runs `sql` with ?1 = the delivery's row id and ?2 = now. Returns how many packets it changed.
Result<std::size_t> SqliteQueue::update_delivery_packets(std::string_view sql,
                                                         std::int64_t delivery_id, UnixMillis now,
                                                         std::string_view preparing) {
    auto st = db_.prepare(sql);
    if (!st) return fail_db(st.error(), preparing);
    st->bind(1, delivery_id).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "returning packets to attested");
    return static_cast<std::size_t>(db_.changes());
}

Result<std::vector<SqliteQueue::SubmittedPacket>> SqliteQueue::submitted_packets(
    std::int64_t delivery_id) {
    static constexpr auto kSql =
        sql::cat("SELECT seq, id, attempts FROM packets WHERE delivery_id = ?1 AND state = ",
                 sql::kSubmitted);
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a delivery query");
    st->bind(1, delivery_id);
    std::vector<SubmittedPacket> rows;
    auto read = each_row(*st, "reading a delivery's packets", [&](const Stmt& row) {
        rows.push_back({row.i64(0), row.fixed<32>(1), static_cast<std::uint32_t>(row.u64(2))});
    });
    if (!read) return read.error();
    return rows;
}

// ---- submitter ----

Result<void> SqliteQueue::record_delivery(const Delivery& delivery, UnixMillis now) {
    if (delivery.packets.empty())
        return fail(Error::invalid_argument, "a delivery must carry at least one packet");
    detail::SyncScope sync(db_, options_.sync);
    if (auto r = sync.enter(); !r) return fail_db(r.error(), "setting synchronous");
    auto tx = begin();
    if (!tx) return tx.error();
    if (auto r = check_new_delivery(delivery.tx_hash); !r) return r.error();
    if (auto r = check_nonce_free(delivery); !r) return r.error();
    auto id = detail::insert_delivery(db_, delivery, now);
    if (!id) return fail_db(id.error(), "writing delivery " + delivery.tx_hash.hex());
    for (const auto& pid : delivery.packets)
        if (auto r = submit_packet(pid, delivery, *id, now); !r) return r.error();
    if (auto r = advance_account_nonce(delivery, now); !r) return r.error();
    return commit(*tx);
}

// The live delivery of (chain, account, account nonce), as (row id, tx hash), or nullopt.
Result<std::optional<std::pair<std::int64_t, Hash32>>> SqliteQueue::live_delivery_of_nonce(
    ChainId chain, const Address& account, std::uint64_t account_nonce, std::string_view context) {
    static constexpr auto kSql = sql::cat(
        "SELECT id, tx_hash FROM deliveries INDEXED BY deliveries_account_nonce "
        "WHERE chain = ?1 AND account = ?2 AND account_nonce = ?3 AND state = ",
        sql::kLive);
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a delivery query");
    st->bind(1, chain).bind(2, account).bind(3, account_nonce);
    auto row = st->step();
    if (!row) return fail_db(row.error(), context);
    if (!*row) return std::optional<std::pair<std::int64_t, Hash32>>();
    return std::optional(std::pair(st->i64(0), st->fixed<32>(1)));
}

// Fails unless no live delivery holds the delivery's account nonce.
Result<void> SqliteQueue::check_nonce_free(const Delivery& delivery) {
    auto live = live_delivery_of_nonce(delivery.chain, delivery.account, delivery.account_nonce,
                                       "looking up live deliveries");
    if (!live) return live.error();
    if (*live)
        return fail(Error::invalid_argument, "account " + delivery.account.hex() + " nonce " +
                                                 std::to_string(delivery.account_nonce) +
                                                 " already has the live tx " +
                                                 (*live)->second.hex() + "; replace it instead");
    return {};
}

// attested → submitted for one packet of `delivery`.
Result<void> SqliteQueue::submit_packet(const PacketId& id, const Delivery& delivery,
                                        std::int64_t delivery_id, UnixMillis now) {
    static constexpr auto kSql =
        sql::cat("UPDATE packets SET state = ", sql::kSubmitted,
                 ", delivery_id = ?3, updated_at = ?2 WHERE id = ?1 AND state = ", sql::kAttested,
                 " AND dst_chain = ?4");
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a submission");
    st->bind(1, id).bind(2, now).bind(3, delivery_id).bind(4, delivery.chain);
    if (auto r = st->run(); !r) return fail_db(r.error(), "submitting packet " + id.hex());
    if (db_.changes() == 1) return {};
    auto probe = db_.prepare("SELECT state, dst_chain FROM packets WHERE id = ?1");
    if (!probe) return fail_db(probe.error(), "preparing a packet probe");
    probe->bind(1, id);
    auto row = probe->step();
    if (!row) return fail_db(row.error(), "probing a packet");
    if (*row && probe->i64(0) == sql_int(PacketState::attested))
        return fail(Error::invalid_argument, "packet " + id.hex() + " goes to chain " +
                                                 std::to_string(probe->u64(1)) + ", not to chain " +
                                                 std::to_string(crypto::to_u64(delivery.chain)));
    return explain_refusal(id, PacketState::submitted);
}

// The account's next nonce becomes at least the delivery's nonce + 1.
Result<void> SqliteQueue::advance_account_nonce(const Delivery& delivery, UnixMillis now) {
    auto st = db_.prepare(
        "INSERT INTO accounts (chain, address, next_nonce, updated_at) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (chain, address) DO UPDATE SET "
        "next_nonce = max(next_nonce, excluded.next_nonce), updated_at = excluded.updated_at");
    if (!st) return fail_db(st.error(), "preparing an account update");
    st->bind(1, delivery.chain)
        .bind(2, delivery.account)
        .bind(3, delivery.account_nonce + 1)
        .bind(4, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "advancing the account nonce");
    return {};
}

Result<void> SqliteQueue::replace_delivery(const Hash32& old_tx, const Delivery& replacement,
                                           UnixMillis now) {
    detail::SyncScope sync(db_, options_.sync);
    if (auto r = sync.enter(); !r) return fail_db(r.error(), "setting synchronous");
    auto tx = begin();
    if (!tx) return tx.error();
    auto old = load_delivery(old_tx, DeliveryState::live);
    if (!old) return old.error();
    if (replacement.chain != old->chain || replacement.account != old->account ||
        replacement.account_nonce != old->account_nonce)
        return fail(Error::account_nonce_mismatch,
                    "replacement " + replacement.tx_hash.hex() + " must use chain " +
                        std::to_string(crypto::to_u64(old->chain)) + ", account " +
                        old->account.hex() + " and nonce " + std::to_string(old->account_nonce));
    if (auto r = check_new_delivery(replacement.tx_hash); !r) return r.error();
    auto id = detail::insert_delivery(db_, replacement, now);
    if (!id) return fail_db(id.error(), "writing delivery " + replacement.tx_hash.hex());
    if (auto r = detail::set_delivery_state(db_, old->id, DeliveryState::replaced, now); !r)
        return fail_db(r.error(), "marking a delivery replaced");
    static constexpr auto kRelink = sql::cat(
        "UPDATE packets SET delivery_id = ?2, updated_at = ?3 WHERE delivery_id = ?1 "
        "AND state = ",
        sql::kSubmitted);
    auto st = db_.prepare(kRelink);
    if (!st) return fail_db(st.error(), "preparing a relink");
    st->bind(1, old->id).bind(2, *id).bind(3, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "moving packets to the replacement");
    return commit(*tx);
}

Result<std::size_t> SqliteQueue::drop_delivery(const Hash32& tx_hash, UnixMillis now) {
    static constexpr auto kSql =
        sql::cat("UPDATE packets SET state = ", sql::kAttested,
                 ", delivery_id = NULL, updated_at = ?2 WHERE delivery_id = ?1 AND state = ",
                 sql::kSubmitted);
    return settle_delivery(tx_hash, DeliveryState::live, DeliveryState::dropped, now,
                           [&](std::int64_t id) {
                               return update_delivery_packets(kSql, id, now, "preparing a drop");
                           });
}

Result<std::size_t> SqliteQueue::fail_delivery(const Hash32& tx_hash, std::string_view error,
                                               FailureKind kind, UnixMillis now) {
    return settle_delivery(tx_hash, DeliveryState::live, DeliveryState::failed, now,
                           [&](std::int64_t id) -> Result<std::size_t> {
                               auto rows = submitted_packets(id);
                               if (!rows) return rows.error();
                               for (const auto& r : *rows)
                                   if (auto f = fail_one(r.seq, r.id, r.attempts, error, kind, now);
                                       !f)
                                       return f.error();
                               return rows->size();
                           });
}

Result<std::optional<std::uint64_t>> SqliteQueue::account_nonce(ChainId chain,
                                                                const Address& account) {
    auto st = db_.prepare("SELECT next_nonce FROM accounts WHERE chain = ?1 AND address = ?2");
    if (!st) return fail_db(st.error(), "preparing an account query");
    st->bind(1, chain).bind(2, account);
    auto row = st->step();
    if (!row) return fail_db(row.error(), "reading an account");
    if (!*row) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(st->u64(0));
}

Result<void> SqliteQueue::set_account_nonce(ChainId chain, const Address& account,
                                            std::uint64_t next_nonce, UnixMillis now) {
    auto st = db_.prepare(
        "INSERT INTO accounts (chain, address, next_nonce, updated_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (chain, address) DO UPDATE SET next_nonce = excluded.next_nonce, "
        "updated_at = excluded.updated_at");
    if (!st) return fail_db(st.error(), "preparing an account update");
    st->bind(1, chain).bind(2, account).bind(3, next_nonce).bind(4, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "setting an account nonce");
    return {};
}

}  // namespace ferry::storage

// SqliteQueue, the receipt tracker's side: live deliveries to watch, receipts, and the
// confirmation or reorg of mined deliveries.
#include "storage/sqlite_queue.hpp"

#include "crypto/hex.hpp"
#include "storage/sqlite_queue_detail.hpp"

#include <unordered_map>
#include <utility>

namespace ferry::storage {

using detail::delivery_state_name;
using detail::sql_limit;

Result<std::vector<Delivery>> SqliteQueue::pending_deliveries(ChainId chain, std::size_t limit) {
    auto tx = Transaction::begin(db_, Transaction::Mode::read);
    if (!tx) return fail_db(tx.error(), "starting a read");
    std::vector<std::pair<std::int64_t, Delivery>> found;
    {
        static constexpr auto kSql =
            sql::cat(detail::kDeliveryColumns,
                     "INDEXED BY deliveries_live WHERE chain = ?1 AND state = ", sql::kLive,
                     " ORDER BY id LIMIT ?2");
        auto st = db_.prepare(kSql);
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, chain).bind(2, sql_limit(limit));
        auto read = each_row(*st, "reading deliveries", [&](const Stmt& row) {
            Delivery d;
            detail::read_delivery(row, d);
            found.emplace_back(row.i64(0), std::move(d));
        });
        if (!read) return read.error();
    }
    std::vector<Delivery> out;
    out.reserve(found.size());
    for (auto& [id, d] : found) {
        auto ids = delivery_packets(id, PacketState::submitted);
        if (!ids) return ids.error();
        d.packets = std::move(*ids);
        static constexpr auto kReplaced = sql::cat(
            "SELECT tx_hash FROM deliveries INDEXED BY deliveries_account_nonce "
            "WHERE chain = ?1 AND account = ?2 AND account_nonce = ?3 AND state = ",
            sql::kReplaced, " ORDER BY id");
        auto st = db_.prepare(kReplaced);
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, d.chain).bind(2, d.account).bind(3, d.account_nonce);
        auto read = each_row(*st, "reading replaced deliveries",
                             [&](const Stmt& row) { d.replaced.push_back(row.fixed<32>(0)); });
        if (!read) return read.error();
        out.push_back(std::move(d));
    }
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

Result<ReceiptOutcome> SqliteQueue::record_receipt(const Receipt& receipt, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto mined = load_delivery(receipt.tx_hash);
    if (!mined) return mined.error();
    if (mined->has_receipt)
        return fail(Error::receipt_exists,
                    "the receipt of tx " + receipt.tx_hash.hex() + " is already recorded");
    auto holder = packet_holder(*mined, receipt.tx_hash);
    if (!holder) return holder.error();
    if (auto r = store_receipt(mined->id, receipt, now); !r) return r.error();
    if (*holder != mined->id) {
        if (auto r = detail::set_delivery_state(db_, *holder, DeliveryState::replaced, now); !r)
            return fail_db(r.error(), "retiring the replacement");
    }
    auto out = settle_receipt_packets(*holder, mined->id, receipt, now);
    if (!out) return out.error();
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

// The packets sit with the live tx of the mined tx's account nonce: the mined tx itself, or the
// replacement that superseded it. Returns that delivery's row id.
Result<std::int64_t> SqliteQueue::packet_holder(const DeliveryRow& mined, const Hash32& tx_hash) {
    if (mined.state == DeliveryState::live) return mined.id;
    if (mined.state != DeliveryState::replaced)
        return fail(Error::delivery_not_live, "delivery " + tx_hash.hex() + " is " +
                                                  std::string(delivery_state_name(mined.state)) +
                                                  ", not live");
    auto live = live_delivery_of_nonce(mined.chain, mined.account, mined.account_nonce,
                                       "looking up the live replacement");
    if (!live) return live.error();
    if (!*live)
        return fail(Error::delivery_not_live,
                    "tx " + tx_hash.hex() + " was replaced and no live tx of its nonce remains");
    return (*live)->first;
}

Result<void> SqliteQueue::store_receipt(std::int64_t delivery_id, const Receipt& receipt,
                                        UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "UPDATE deliveries SET state = ", sql::kMined,
        ", receipt_block = ?2, receipt_block_hash = ?3, receipt_status = ?4, gas_used = ?5, "
        "effective_gas_price = ?6, updated_at = ?7 WHERE id = ?1");
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a receipt update");
    st->bind(1, delivery_id)
        .bind(2, receipt.block_number)
        .bind(3, receipt.block_hash)
        .bind(4, std::int64_t{receipt.status ? 1 : 0})
        .bind(5, receipt.gas_used)
        .bind(6, receipt.effective_gas_price)
        .bind(7, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "recording a receipt");
    return {};
}

// The holder's packets with a PacketDelivered log go submitted → delivered (now carried by the
// mined delivery); the others go to failed, or dead.
Result<ReceiptOutcome> SqliteQueue::settle_receipt_packets(std::int64_t holder, std::int64_t mined,
                                                           const Receipt& receipt, UnixMillis now) {
    std::unordered_map<PacketId, bool> logs;
    for (const auto& p : receipt.delivered) logs.emplace(p.id, p.success);
    auto rows = submitted_packets(holder);
    if (!rows) return rows.error();
    ReceiptOutcome out;
    const std::string missing =
        receipt.status
            ? "tx " + receipt.tx_hash.hex() + " was mined without a PacketDelivered for this packet"
            : "tx " + receipt.tx_hash.hex() + " reverted";
    static constexpr auto kDeliveredSql = sql::cat(
        "UPDATE packets SET state = ", sql::kDelivered,
        ", delivered_success = ?2, delivery_id = ?3, next_attempt_at = NULL, updated_at = ?4 "
        "WHERE seq = ?1 AND state = ",
        sql::kSubmitted);
    for (const auto& r : *rows) {
        const auto log = logs.find(r.id);
        if (log == logs.end()) {
            auto dead = fail_one(r.seq, r.id, r.attempts, missing, FailureKind::transient, now);
            if (!dead) return dead.error();
            ++(*dead ? out.dead : out.failed);
            continue;
        }
        auto st = db_.prepare(kDeliveredSql);
        if (!st) return fail_db(st.error(), "preparing a delivery update");
        st->bind(1, r.seq).bind(2, std::int64_t{log->second ? 1 : 0}).bind(3, mined).bind(4, now);
        if (auto u = st->run(); !u)
            return fail_db(u.error(), "marking " + r.id.hex() + " delivered");
        ++out.delivered;
        logs.erase(log);
    }
    out.unexpected = logs.size();
    return out;
}

Result<std::vector<MinedDelivery>> SqliteQueue::unconfirmed_deliveries(ChainId chain,
                                                                       std::uint64_t up_to_block,
                                                                       std::size_t limit) {
    auto tx = Transaction::begin(db_, Transaction::Mode::read);
    if (!tx) return fail_db(tx.error(), "starting a read");
    std::vector<std::pair<std::int64_t, MinedDelivery>> found;
    {
        static constexpr auto kSql = sql::cat(
            "SELECT id, tx_hash, receipt_block, receipt_block_hash FROM deliveries "
            "INDEXED BY deliveries_unconfirmed WHERE chain = ?1 AND state = ",
            sql::kMined,
            " AND confirmed = 0 AND receipt_block <= ?2 ORDER BY receipt_block, id LIMIT ?3");
        auto st = db_.prepare(kSql);
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, chain).bind(2, up_to_block).bind(3, sql_limit(limit));
        auto read = each_row(*st, "reading mined deliveries", [&](const Stmt& row) {
            MinedDelivery d;
            d.tx_hash = row.fixed<32>(1);
            d.block_number = row.u64(2);
            d.block_hash = row.fixed<32>(3);
            found.emplace_back(row.i64(0), std::move(d));
        });
        if (!read) return read.error();
    }
    std::vector<MinedDelivery> out;
    out.reserve(found.size());
    for (auto& [id, d] : found) {
        auto ids = delivery_packets(id, PacketState::delivered);
        if (!ids) return ids.error();
        d.packets = std::move(*ids);
        out.push_back(std::move(d));
    }
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

Result<void> SqliteQueue::confirm_delivery(const Hash32& tx_hash, UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "UPDATE deliveries SET confirmed = 1, updated_at = ?2 WHERE tx_hash = ?1 AND state = ",
        sql::kMined);
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a confirmation");
    st->bind(1, tx_hash).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "confirming a delivery");
    if (db_.changes() != 1)
        return fail(Error::delivery_not_live, "tx " + tx_hash.hex() + " is not a mined delivery");
    return {};
}

Result<std::size_t> SqliteQueue::revert_delivery(const Hash32& tx_hash, UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "UPDATE packets SET state = ", sql::kAttested,
        ", delivery_id = NULL, delivered_success = NULL, last_error = 'delivery reorged out', "
        "updated_at = ?2 WHERE delivery_id = ?1 AND state = ",
        sql::kDelivered);
    return settle_delivery(tx_hash, DeliveryState::mined, DeliveryState::dropped, now,
                           [&](std::int64_t id) {
                               return update_delivery_packets(kSql, id, now, "preparing a revert");
                           });
}

}  // namespace ferry::storage

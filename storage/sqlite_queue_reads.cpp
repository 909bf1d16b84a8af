// SqliteQueue, the reads: packets by state and by page, counts, routes and ages for status, and
// the pruning of delivered packets.
#include "storage/sqlite_queue.hpp"

#include "storage/sqlite_queue_detail.hpp"

#include <algorithm>
#include <utility>

namespace ferry::storage {

using detail::kMinKey;
using detail::packet_query;
using detail::sql_int;
using detail::sql_limit;

// ---- submitter ----

Result<std::vector<PacketRecord>> SqliteQueue::next_attested(const Route& route,
                                                             std::size_t limit) {
    static const std::string sql = packet_query(
        "INDEXED BY packets_state",
        sql::cat("WHERE p.state = ", sql::kAttested,
                 " AND p.src_chain = ?1 AND p.dst_chain = ?2 ORDER BY p.nonce, p.seq LIMIT ?3"));
    return read_packets(
        sql, [&](Stmt& st) { st.bind(1, route.src).bind(2, route.dst).bind(3, sql_limit(limit)); });
}

Result<std::vector<PacketRecord>> SqliteQueue::due_retries(UnixMillis now, std::size_t limit) {
    static const std::string sql = packet_query(
        "INDEXED BY packets_retry",
        sql::cat("WHERE p.state = ", sql::kFailed,
                 " AND p.next_attempt_at <= ?1 ORDER BY p.next_attempt_at, p.seq LIMIT ?2"));
    return read_packets(sql, [&](Stmt& st) { st.bind(1, now).bind(2, sql_limit(limit)); });
}

// ---- operator ----

Result<std::size_t> SqliteQueue::prune_delivered(UnixMillis now, std::size_t limit) {
    const UnixMillis cutoff = now - options_.retention_ms;
    auto tx = begin();
    if (!tx) return tx.error();
    std::vector<std::int64_t> seqs;
    std::vector<std::int64_t> deliveries;
    {
        static constexpr auto kSql = sql::cat(
            "SELECT seq, delivery_id FROM packets INDEXED BY packets_prunable WHERE state = ",
            sql::kDelivered, " AND pruned = 0 AND updated_at <= ?1 ORDER BY updated_at LIMIT ?2");
        auto st = db_.prepare(kSql);
        if (!st) return fail_db(st.error(), "preparing a prune");
        st->bind(1, cutoff).bind(2, sql_limit(limit));
        auto read = each_row(*st, "finding prunable packets", [&](const Stmt& row) {
            seqs.push_back(row.i64(0));
            if (!row.is_null(1)) deliveries.push_back(row.i64(1));
        });
        if (!read) return read.error();
    }
    for (const auto seq : seqs)
        if (auto r = prune_packet(seq); !r) return r.error();
    if (auto r = prune_deliveries(std::move(deliveries), cutoff); !r) return r.error();
    if (auto r = commit(*tx); !r) return r.error();
    return seqs.size();
}

// Drops a delivered packet's bytes and attestations, and its row when its nonce is at or below
// its route's watermark (every nonce up to it was seen: insert_packets recognises a replay of
// it by the watermark); otherwise the row stays, marked pruned, and recognises the replay.
Result<void> SqliteQueue::prune_packet(std::int64_t seq) {
    constexpr std::string_view kPrune[] = {
        "DELETE FROM packet_data WHERE seq = ?1",
        "DELETE FROM attestations WHERE packet_seq = ?1",
        "DELETE FROM packets WHERE seq = ?1 AND nonce <= (SELECT r.contiguous_nonce FROM routes r "
        "WHERE r.src_chain = packets.src_chain AND r.dst_chain = packets.dst_chain)",
        "UPDATE packets SET pruned = 1, delivery_id = NULL WHERE seq = ?1",
    };
    for (const auto sql : kPrune) {
        auto st = db_.prepare(sql);
        if (!st) return fail_db(st.error(), "preparing a prune");
        st->bind(1, seq);
        if (auto r = st->run(); !r) return fail_db(r.error(), "pruning a packet");
    }
    return {};
}

// Deletes the deliveries of pruned packets, and finished ones older than `cutoff`, once no
// packet points at them.
Result<void> SqliteQueue::prune_deliveries(std::vector<std::int64_t> deliveries,
                                           UnixMillis cutoff) {
    std::sort(deliveries.begin(), deliveries.end());
    deliveries.erase(std::unique(deliveries.begin(), deliveries.end()), deliveries.end());
    for (const auto id : deliveries) {
        // The mined tx and the txs it replaced go once no unpruned packet points at them.
        static constexpr auto kSql =
            sql::cat("DELETE FROM deliveries WHERE state != ", sql::kLive,
                     " AND (chain, account, account_nonce) = "
                     "(SELECT chain, account, account_nonce FROM deliveries WHERE id = ?1) "
                     "AND NOT EXISTS (SELECT 1 FROM packets WHERE delivery_id = ?1)");
        auto st = db_.prepare(kSql);
        if (!st) return fail_db(st.error(), "preparing a delivery prune");
        st->bind(1, id);
        if (auto r = st->run(); !r) return fail_db(r.error(), "pruning deliveries");
    }
    // Dropped and failed txs carry no packet any more; they go with the same retention. The
    // WHERE clause repeats the partial index's, so that SQLite can use it.
    static constexpr auto kFinished =
        sql::cat("DELETE FROM deliveries INDEXED BY deliveries_finished WHERE state IN (",
                 sql::kDropped, ", ", sql::kDeliveryFailed,
                 ") AND updated_at <= ?1 AND NOT EXISTS "
                 "(SELECT 1 FROM packets WHERE delivery_id = deliveries.id)");
    auto st = db_.prepare(kFinished);
    if (!st) return fail_db(st.error(), "preparing a delivery prune");
    st->bind(1, cutoff);
    if (auto r = st->run(); !r) return fail_db(r.error(), "pruning deliveries");
    return {};
}

// ---- status ----

Result<std::optional<PacketRecord>> SqliteQueue::packet(const PacketId& id) {
    static const std::string sql = packet_query("", "WHERE p.id = ?1");
    auto rows = read_packets(sql, [&](Stmt& st) { st.bind(1, id); });
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<PacketRecord>();
    return std::optional<PacketRecord>(std::move(rows->front()));
}

Result<PacketPage> SqliteQueue::list_packets(const PacketFilter& filter) {
    if (filter.limit == 0 || filter.limit > 1000)
        return fail(Error::invalid_argument, "page size must be 1..1000");
    // One statement per filter shape; the key (route, nonce, seq) follows the index order.
    static const std::string by_state_route = packet_query(
        "INDEXED BY packets_state",
        "WHERE p.state = ?1 AND p.src_chain = ?2 AND p.dst_chain = ?3 AND (p.nonce, p.seq) > "
        "(?4, ?5) ORDER BY p.src_chain, p.dst_chain, p.nonce, p.seq LIMIT ?6");
    static const std::string by_state = packet_query(
        "INDEXED BY packets_state",
        "WHERE p.state = ?1 AND (p.src_chain, p.dst_chain, p.nonce, p.seq) > (?2, ?3, ?4, ?5) "
        "ORDER BY p.src_chain, p.dst_chain, p.nonce, p.seq LIMIT ?6");
    static const std::string by_route = packet_query(
        "INDEXED BY packets_route_nonce",
        "WHERE ?1 IS NULL AND p.src_chain = ?2 AND p.dst_chain = ?3 AND (p.nonce, p.seq) > "
        "(?4, ?5) ORDER BY p.src_chain, p.dst_chain, p.nonce, p.seq LIMIT ?6");
    static const std::string all = packet_query(
        "INDEXED BY packets_route_nonce",
        "WHERE ?1 IS NULL AND (p.src_chain, p.dst_chain, p.nonce, p.seq) > (?2, ?3, ?4, ?5) "
        "ORDER BY p.src_chain, p.dst_chain, p.nonce, p.seq LIMIT ?6");
    const std::string& sql =
        filter.state ? (filter.route ? by_state_route : by_state) : (filter.route ? by_route : all);

    std::int64_t src = kMinKey, dst = kMinKey, nonce = kMinKey, seq = kMinKey;
    if (filter.route) {
        src = sql_int(crypto::to_u64(filter.route->src));
        dst = sql_int(crypto::to_u64(filter.route->dst));
    }
    if (filter.after && (!filter.route || filter.after->route == *filter.route)) {
        src = sql_int(crypto::to_u64(filter.after->route.src));
        dst = sql_int(crypto::to_u64(filter.after->route.dst));
        nonce = sql_int(crypto::to_u64(filter.after->nonce));
        // seq is an SQLite integer: a key past its range means "after every seq".
        seq =
            filter.after->seq > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                ? std::numeric_limits<std::int64_t>::max()
                : sql_int(filter.after->seq);
    }
    auto rows = read_packets(sql, [&](Stmt& st) {
        if (filter.state)
            st.bind(1, sql_int(*filter.state));
        else
            st.bind_null(1);
        st.bind(2, src).bind(3, dst).bind(4, nonce).bind(5, seq);
        st.bind(6, static_cast<std::int64_t>(filter.limit + 1));
    });
    if (!rows) return rows.error();
    PacketPage page;
    page.packets = std::move(*rows);
    if (page.packets.size() > filter.limit) {
        page.packets.resize(filter.limit);
        const auto& last = page.packets.back();
        page.next = PageKey{last.route, last.nonce, last.seq};
    }
    return page;
}

Result<std::vector<RouteStateCount>> SqliteQueue::counts() {
    auto st = db_.prepare(
        "SELECT src_chain, dst_chain, state, count FROM route_counts WHERE count != 0 "
        "ORDER BY src_chain, dst_chain, state");
    if (!st) return fail_db(st.error(), "preparing a count query");
    std::vector<RouteStateCount> out;
    bool corrupt = false;
    auto read = each_row(*st, "reading counts", [&](const Stmt& row) {
        const std::int64_t state = row.i64(2);
        corrupt = corrupt || state < 0 || state >= static_cast<std::int64_t>(kPacketStateCount);
        out.push_back({{ChainId{row.u64(0)}, ChainId{row.u64(1)}},
                       static_cast<PacketState>(state),
                       row.u64(3)});
    });
    if (!read) return read.error();
    if (corrupt) return fail(Error::corrupt, "a count row has an invalid state");
    return out;
}

Result<std::vector<RouteInfo>> SqliteQueue::routes() {
    auto st = db_.prepare(
        "SELECT src_chain, dst_chain, contiguous_nonce, max_nonce, equivocations FROM routes "
        "ORDER BY src_chain, dst_chain");
    if (!st) return fail_db(st.error(), "preparing a route query");
    std::vector<RouteInfo> out;
    auto read = each_row(*st, "reading routes", [&](const Stmt& row) {
        out.push_back({{ChainId{row.u64(0)}, ChainId{row.u64(1)}},
                       Nonce{row.u64(2)},
                       Nonce{row.u64(3)},
                       row.u64(4)});
    });
    if (!read) return read.error();
    return out;
}

Result<std::vector<RoutePendingAge>> SqliteQueue::oldest_pending() {
    auto tx = Transaction::begin(db_, Transaction::Mode::read);
    if (!tx) return fail_db(tx.error(), "starting a read");
    auto all = routes();
    if (!all) return all.error();
    std::vector<RoutePendingAge> out;
    for (const auto& info : *all) {
        static constexpr auto kSql = sql::cat(
            "SELECT created_at FROM packets INDEXED BY packets_pending_age "
            "WHERE src_chain = ?1 AND dst_chain = ?2 AND state IN (",
            sql::kPending, ") ORDER BY created_at LIMIT 1");
        auto st = db_.prepare(kSql);
        if (!st) return fail_db(st.error(), "preparing a pending query");
        st->bind(1, info.route.src).bind(2, info.route.dst);
        auto row = st->step();
        if (!row) return fail_db(row.error(), "reading the oldest pending packet");
        if (*row) out.push_back({info.route, st->i64(0)});
    }
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

}  // namespace ferry::storage

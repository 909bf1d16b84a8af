// SqliteQueue, the packet side: what the watcher inserts, what the attestor stores and moves, and
// the single-packet moves of the submitter and the operator.
#include "storage/sqlite_queue.hpp"

#include "crypto/hex.hpp"
#include "storage/sqlite_queue_detail.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace ferry::storage {

using detail::describe;
using detail::sql_int;

// What routes holds for one route while insert_packets adds to it.
struct SqliteQueue::RouteWatermark {
    std::uint64_t contiguous = 0;
    std::uint64_t max = 0;
    std::uint64_t equivocations = 0;
};

// A packet that already holds the nonce a new packet claims.
struct SqliteQueue::NonceHolder {
    std::int64_t seq = 0;
    PacketId id;
    PacketState state = PacketState::observed;
};

// ---- watcher ----

Result<InsertOutcome> SqliteQueue::insert_packets(std::span<const NewPacket> packets,
                                                  const Cursor& cursor, UnixMillis now) {
    if (auto r = check_source_chain(packets, cursor); !r) return r.error();
    auto tx = begin();
    if (!tx) return tx.error();
    std::map<Route, RouteWatermark> touched;
    InsertOutcome out;
    for (const auto& p : packets) {
        auto [it, fresh] = touched.try_emplace(p.route);
        if (fresh) {
            auto watermark = load_watermark(p.route);
            if (!watermark) return watermark.error();
            it->second = *watermark;
        }
        // A nonce at or below the route's watermark that no row holds was pruned: a replay.
        if (crypto::to_u64(p.nonce) <= it->second.contiguous) {
            auto held = nonce_held(p);
            if (!held) return held.error();
            if (!*held) {
                ++out.duplicates;
                continue;
            }
        }
        auto seq = insert_packet(p, now);
        if (!seq) return seq.error();
        if (!*seq) {
            ++out.duplicates;
            continue;
        }
        ++out.inserted;
        auto equivocation = check_equivocation(p, **seq, it->second, now);
        if (!equivocation) return equivocation.error();
        if (*equivocation) ++out.equivocations;
    }
    for (auto& [route, watermark] : touched)
        if (auto r = save_watermark(route, watermark); !r) return r.error();
    if (auto r = save_cursor(cursor, now); !r) return r.error();
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

Result<void> SqliteQueue::check_source_chain(std::span<const NewPacket> packets,
                                             const Cursor& cursor) {
    for (const auto& p : packets)
        if (p.route.src != cursor.chain)
            return fail(Error::invalid_argument, "packet " + p.id.hex() + " comes from chain " +
                                                     std::to_string(crypto::to_u64(p.route.src)) +
                                                     " but the cursor is of chain " +
                                                     std::to_string(crypto::to_u64(cursor.chain)));
    return {};
}

Result<SqliteQueue::RouteWatermark> SqliteQueue::load_watermark(const Route& route) {
    auto st = db_.prepare(
        "SELECT contiguous_nonce, max_nonce, equivocations FROM routes "
        "WHERE src_chain = ?1 AND dst_chain = ?2");
    if (!st) return fail_db(st.error(), "reading a route");
    st->bind(1, route.src).bind(2, route.dst);
    auto row = st->step();
    if (!row) return fail_db(row.error(), "reading a route");
    if (!*row) return RouteWatermark{};
    return RouteWatermark{st->u64(0), st->u64(1), st->u64(2)};
}

// Inserts `p` as observed with its bytes. Returns its seq, or nullopt when its id is known.
Result<std::optional<std::int64_t>> SqliteQueue::insert_packet(const NewPacket& p, UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "INSERT INTO packets (id, src_chain, dst_chain, nonce, sender, recipient, expiry, "
        "source_block, state, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ",
        sql::kObserved, ", ?9, ?9) ON CONFLICT (id) DO NOTHING");
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a packet insert");
    // Expiries beyond 2^63 − 1 s mean "never" in practice; clamp so they stay positive.
    const auto expiry = std::min<std::uint64_t>(
        p.expiry, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    st->bind(1, p.id)
        .bind(2, p.route.src)
        .bind(3, p.route.dst)
        .bind(4, p.nonce)
        .bind(5, p.sender)
        .bind(6, p.recipient)
        .bind(7, expiry)
        .bind(8, p.source_block)
        .bind(9, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "inserting packet " + p.id.hex());
    if (db_.changes() == 0) return std::optional<std::int64_t>();
    const std::int64_t seq = db_.last_insert_rowid();
    auto data = db_.prepare("INSERT INTO packet_data (seq, encoded) VALUES (?1, ?2)");
    if (!data) return fail_db(data.error(), "preparing a packet insert");
    data->bind(1, seq).bind(2, crypto::ByteView(p.encoded));
    if (auto r = data->run(); !r) return fail_db(r.error(), "storing packet bytes");
    return std::optional<std::int64_t>(seq);
}

// Raises the route's highest nonce, or, when another id already holds the new packet's nonce,
// rejects both (the other only while it can still be called back). True on equivocation.
Result<bool> SqliteQueue::check_equivocation(const NewPacket& p, std::int64_t seq,
                                             RouteWatermark& route, UnixMillis now) {
    const std::uint64_t nonce = crypto::to_u64(p.nonce);
    if (nonce > route.max) {
        route.max = nonce;  // above everything seen: no other packet can hold this nonce
        return false;
    }
    // A late packet fills a gap, or another id already holds this nonce: equivocation.
    auto holders = nonce_holders(p, seq);
    if (!holders) return {boost::system::in_place_error, holders.error()};
    if (holders->empty()) return false;
    ++route.equivocations;
    const std::string where = describe(p.route) + " nonce " + std::to_string(nonce);
    for (const auto& h : *holders) {
        // A packet already handed to the destination chain cannot be called back.
        const bool can_reject = h.state == PacketState::observed ||
                                h.state == PacketState::attested ||
                                h.state == PacketState::failed || h.state == PacketState::dead;
        if (!can_reject) continue;
        const std::string why = "equivocation: " + where + " is also claimed by " + p.id.hex();
        if (auto r = reject_seq(h.seq, why, now); !r)
            return {boost::system::in_place_error, r.error()};
    }
    const std::string why =
        "equivocation: " + where + " is already held by " + holders->front().id.hex();
    if (auto r = reject_seq(seq, why, now); !r) return {boost::system::in_place_error, r.error()};
    return true;
}

Result<bool> SqliteQueue::nonce_held(const NewPacket& p) {
    auto st =
        db_.prepare("SELECT 1 FROM packets WHERE src_chain = ?1 AND dst_chain = ?2 AND nonce = ?3");
    if (!st) return {boost::system::in_place_error, fail_db(st.error(), "preparing a nonce probe")};
    st->bind(1, p.route.src).bind(2, p.route.dst).bind(3, p.nonce);
    auto row = st->step();
    if (!row) return {boost::system::in_place_error, fail_db(row.error(), "probing a nonce")};
    return *row;
}

Result<std::vector<SqliteQueue::NonceHolder>> SqliteQueue::nonce_holders(const NewPacket& p,
                                                                         std::int64_t seq) {
    auto st = db_.prepare(
        "SELECT seq, id, state FROM packets "
        "WHERE src_chain = ?1 AND dst_chain = ?2 AND nonce = ?3 AND seq != ?4");
    if (!st) return fail_db(st.error(), "preparing an equivocation check");
    st->bind(1, p.route.src).bind(2, p.route.dst).bind(3, p.nonce).bind(4, seq);
    std::vector<NonceHolder> holders;
    auto read = each_row(*st, "checking for equivocation", [&](const Stmt& row) {
        holders.push_back({row.i64(0), row.fixed<32>(1), static_cast<PacketState>(row.i64(2))});
    });
    if (!read) return read.error();
    return holders;
}

Result<void> SqliteQueue::reject_seq(std::int64_t seq, const std::string& why, UnixMillis now) {
    static constexpr auto kSql =
        sql::cat("UPDATE packets SET state = ", sql::kRejected,
                 ", last_error = ?2, next_attempt_at = NULL, updated_at = ?3 WHERE seq = ?1");
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a rejection");
    st->bind(1, seq).bind_text(2, why).bind(3, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "rejecting an equivocation");
    return {};
}

// Walks the watermark up over nonces that are now present, then writes the route's row.
Result<void> SqliteQueue::save_watermark(const Route& route, RouteWatermark& watermark) {
    for (;;) {
        auto st = db_.prepare(
            "SELECT 1 FROM packets WHERE src_chain = ?1 AND dst_chain = ?2 AND nonce = ?3");
        if (!st) return fail_db(st.error(), "preparing a nonce probe");
        st->bind(1, route.src).bind(2, route.dst).bind(3, watermark.contiguous + 1);
        auto row = st->step();
        if (!row) return fail_db(row.error(), "probing nonces");
        if (!*row) break;
        ++watermark.contiguous;
    }
    auto st = db_.prepare(
        "INSERT INTO routes (src_chain, dst_chain, contiguous_nonce, max_nonce, equivocations) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (src_chain, dst_chain) DO UPDATE SET "
        "contiguous_nonce = excluded.contiguous_nonce, max_nonce = excluded.max_nonce, "
        "equivocations = excluded.equivocations");
    if (!st) return fail_db(st.error(), "preparing a route update");
    st->bind(1, route.src)
        .bind(2, route.dst)
        .bind(3, watermark.contiguous)
        .bind(4, watermark.max)
        .bind(5, watermark.equivocations);
    if (auto r = st->run(); !r) return fail_db(r.error(), "updating " + describe(route));
    return {};
}

Result<void> SqliteQueue::save_cursor(const Cursor& cursor, UnixMillis now) {
    auto st = db_.prepare(
        "INSERT INTO cursors (chain, contract, block_number, block_hash, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (chain, contract) DO UPDATE SET "
        "block_number = excluded.block_number, block_hash = excluded.block_hash, "
        "updated_at = excluded.updated_at");
    if (!st) return fail_db(st.error(), "preparing a cursor update");
    st->bind(1, cursor.chain)
        .bind(2, cursor.contract)
        .bind(3, cursor.block_number)
        .bind(4, cursor.block_hash)
        .bind(5, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "advancing the cursor");
    return {};
}

Result<std::optional<Cursor>> SqliteQueue::cursor(ChainId chain, const Address& contract) {
    auto st = db_.prepare(
        "SELECT block_number, block_hash FROM cursors WHERE chain = ?1 AND contract = ?2");
    if (!st) return fail_db(st.error(), "preparing a cursor query");
    st->bind(1, chain).bind(2, contract);
    auto row = st->step();
    if (!row) return fail_db(row.error(), "reading a cursor");
    if (!*row) return std::optional<Cursor>();
    return std::optional<Cursor>(Cursor{chain, contract, st->u64(0), st->fixed<32>(1)});
}

Result<std::optional<Nonce>> SqliteQueue::lowest_nonce_gap(const Route& route) {
    auto st = db_.prepare(
        "SELECT contiguous_nonce, max_nonce FROM routes WHERE src_chain = ?1 AND dst_chain = ?2");
    if (!st) return fail_db(st.error(), "preparing a route query");
    st->bind(1, route.src).bind(2, route.dst);
    auto row = st->step();
    if (!row) return fail_db(row.error(), "reading a route");
    if (!*row || st->u64(1) <= st->u64(0)) return std::optional<Nonce>();
    return std::optional<Nonce>(Nonce{st->u64(0) + 1});
}

// ---- attestor ----

Result<std::size_t> SqliteQueue::store_attestations(std::span<const Attestation> attestations,
                                                    UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    std::size_t stored = 0;
    for (const auto& a : attestations) {
        auto st = db_.prepare(
            "INSERT OR IGNORE INTO attestations (packet_seq, validator, signature, received_at) "
            "SELECT seq, ?2, ?3, ?4 FROM packets WHERE id = ?1");
        if (!st) return fail_db(st.error(), "preparing an attestation insert");
        st->bind(1, a.packet).bind(2, a.validator).bind(3, a.signature).bind(4, now);
        if (auto r = st->run(); !r) return fail_db(r.error(), "storing an attestation");
        if (db_.changes() == 1) {
            ++stored;
            continue;
        }
        auto probe = db_.prepare("SELECT 1 FROM packets WHERE id = ?1");
        if (!probe) return fail_db(probe.error(), "preparing a packet probe");
        probe->bind(1, a.packet);
        auto row = probe->step();
        if (!row) return fail_db(row.error(), "probing a packet");
        if (!*row)
            return fail(Error::not_found,
                        "attestation for packet " + a.packet.hex() + ", which is not in the queue");
    }
    if (auto r = commit(*tx); !r) return r.error();
    return stored;
}

Result<std::vector<Attestation>> SqliteQueue::attestations(const PacketId& packet) {
    auto st = db_.prepare(
        "SELECT validator, signature FROM attestations "
        "WHERE packet_seq = (SELECT seq FROM packets WHERE id = ?1) ORDER BY validator");
    if (!st) return fail_db(st.error(), "preparing an attestation query");
    st->bind(1, packet);
    std::vector<Attestation> out;
    auto read = each_row(*st, "reading attestations", [&](const Stmt& row) {
        out.push_back({packet, row.fixed<20>(0), row.fixed<65>(1)});
    });
    if (!read) return read.error();
    return out;
}

Result<void> SqliteQueue::mark_attested(std::span<const PacketId> ids, UnixMillis now) {
    static constexpr auto kSql =
        sql::cat("UPDATE packets SET state = ", sql::kAttested,
                 ", updated_at = ?2 WHERE id = ?1 AND state = ", sql::kObserved);
    return transition(ids, kSql, PacketState::attested, {}, now);
}

Result<void> SqliteQueue::reject(std::span<const PacketId> ids, std::string_view reason,
                                 UnixMillis now) {
    if (reason.empty()) return fail(Error::invalid_argument, "a rejection needs a reason");
    static constexpr auto kSql =
        sql::cat("UPDATE packets SET state = ", sql::kRejected,
                 ", last_error = ?3, updated_at = ?2 WHERE id = ?1 AND state = ", sql::kObserved);
    return transition(ids, kSql, PacketState::rejected, reason, now);
}

Result<std::size_t> SqliteQueue::expire_due(UnixMillis now) {
    // Expired once the expiry second has fully passed: expiry · 1000 < now.
    const std::int64_t now_ceil_s = now <= 0 ? 0 : (now + 999) / 1000;
    auto tx = begin();
    if (!tx) return tx.error();
    // The WHERE clause repeats the partial index's, so that SQLite can use it.
    static constexpr auto kSql =
        sql::cat("UPDATE packets INDEXED BY packets_expiry SET state = ", sql::kExpired,
                 ", last_error = 'expired', updated_at = ?2 WHERE state IN (", sql::kObserved, ", ",
                 sql::kAttested, ") AND expiry != 0 AND expiry < ?1");
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing expiry");
    st->bind(1, now_ceil_s).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "expiring packets");
    const auto n = static_cast<std::size_t>(db_.changes());
    if (auto r = commit(*tx); !r) return r.error();
    return n;
}

// ---- submitter ----

Result<void> SqliteQueue::fail_packets(std::span<const PacketId> ids, std::string_view error,
                                       FailureKind kind, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    for (const auto& id : ids) {
        auto st = db_.prepare("SELECT seq, attempts, state FROM packets WHERE id = ?1");
        if (!st) return fail_db(st.error(), "preparing a packet probe");
        st->bind(1, id);
        auto row = st->step();
        if (!row) return fail_db(row.error(), "probing a packet");
        if (!*row) return fail(Error::not_found, "packet " + id.hex() + " is not in the queue");
        if (st->i64(2) != sql_int(PacketState::submitted))
            return explain_refusal(id, PacketState::failed);
        const std::int64_t seq = st->i64(0);
        const auto attempts = static_cast<std::uint32_t>(st->u64(1));
        if (auto f = fail_one(seq, id, attempts, error, kind, now); !f) return f.error();
    }
    return commit(*tx);
}

Result<void> SqliteQueue::requeue(std::span<const PacketId> ids, UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "UPDATE packets SET state = ", sql::kAttested,
        ", next_attempt_at = NULL, updated_at = ?2 WHERE id = ?1 AND state = ", sql::kFailed);
    return transition(ids, kSql, PacketState::attested, {}, now);
}

Result<void> SqliteQueue::mark_delivered_elsewhere(std::span<const PacketId> ids, UnixMillis now) {
    static constexpr auto kSql =
        sql::cat("UPDATE packets SET state = ", sql::kDelivered,
                 ", delivered_success = NULL, delivery_id = NULL, last_error = ?3, updated_at = ?2 "
                 "WHERE id = ?1 AND state = ",
                 sql::kAttested);
    return transition(ids, kSql, PacketState::delivered, "delivered by another transaction", now);
}

// ---- operator ----

Result<void> SqliteQueue::retry_packet(const PacketId& id, UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "UPDATE packets SET state = ", sql::kAttested,
        ", attempts = 0, next_attempt_at = NULL, updated_at = ?2 WHERE id = ?1 AND state IN (",
        sql::kFailed, ", ", sql::kDead, ")");
    return transition(std::span<const PacketId>(&id, 1), kSql, PacketState::attested, {}, now);
}

Result<std::size_t> SqliteQueue::retry_dead(const Route& route, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    static constexpr auto kSql = sql::cat(
        "UPDATE packets INDEXED BY packets_state SET state = ", sql::kAttested,
        ", attempts = 0, next_attempt_at = NULL, updated_at = ?3 WHERE state = ", sql::kDead,
        " AND src_chain = ?1 AND dst_chain = ?2");
    auto st = db_.prepare(kSql);
    if (!st) return fail_db(st.error(), "preparing a retry");
    st->bind(1, route.src).bind(2, route.dst).bind(3, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "retrying dead packets");
    const auto n = static_cast<std::size_t>(db_.changes());
    if (auto r = commit(*tx); !r) return r.error();
    return n;
}

}  // namespace ferry::storage

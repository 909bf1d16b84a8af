#include "storage/sqlite_queue.hpp"

#include "crypto/hex.hpp"
#include "storage/schema.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

namespace ferry::storage {
namespace {

constexpr std::int64_t kMinKey = std::numeric_limits<std::int64_t>::min();

std::int64_t sql_int(std::uint64_t v) noexcept { return static_cast<std::int64_t>(v); }
std::int64_t sql_int(PacketState s) noexcept { return static_cast<std::int64_t>(s); }
std::int64_t sql_int(DeliveryState s) noexcept { return static_cast<std::int64_t>(s); }
std::int64_t sql_limit(std::size_t n) noexcept {
    return n > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(n);
}

std::string describe(const Route& r) { return "route " + route_name(r); }

// Columns of a PacketRecord, in the order read_record() reads them.
constexpr std::string_view kPacketColumns =
    "SELECT p.seq, p.id, p.src_chain, p.dst_chain, p.nonce, p.sender, p.recipient, p.expiry, "
    "p.source_block, p.state, p.attempts, p.next_attempt_at, p.last_error, "
    "p.delivered_success, p.pruned, p.created_at, p.updated_at, d.tx_hash, pd.encoded "
    "FROM packets p ";
constexpr std::string_view kPacketJoins =
    "LEFT JOIN packet_data pd ON pd.seq = p.seq LEFT JOIN deliveries d ON d.id = p.delivery_id ";

std::string packet_query(std::string_view indexed_by, std::string_view rest) {
    std::string sql(kPacketColumns);
    sql += indexed_by;
    sql += ' ';
    sql += kPacketJoins;
    sql += rest;
    return sql;
}

bool read_record(const Stmt& st, PacketRecord& r) {
    const std::int64_t state = st.i64(9);
    if (state < 0 || state >= static_cast<std::int64_t>(kPacketStateCount)) return false;
    r.seq = st.u64(0);
    r.id = st.fixed<32>(1);
    r.route = {ChainId{st.u64(2)}, ChainId{st.u64(3)}};
    r.nonce = Nonce{st.u64(4)};
    r.sender = st.fixed<32>(5);
    r.recipient = st.fixed<32>(6);
    r.expiry = st.u64(7);
    r.source_block = st.u64(8);
    r.state = static_cast<PacketState>(state);
    r.attempts = static_cast<std::uint32_t>(st.u64(10));
    if (!st.is_null(11)) r.next_attempt_at = st.i64(11);
    r.last_error = st.text(12);
    if (!st.is_null(13)) r.delivered_success = st.i64(13) != 0;
    r.pruned = st.i64(14) != 0;
    r.created_at = st.i64(15);
    r.updated_at = st.i64(16);
    if (!st.is_null(17)) r.delivery_tx = st.fixed<32>(17);
    const auto bytes = st.blob(18);
    r.encoded.assign(bytes.begin(), bytes.end());
    return true;
}

// Delivery columns, in the order read_delivery() reads them.
constexpr std::string_view kDeliveryColumns =
    "SELECT id, chain, tx_hash, account, account_nonce, max_fee_per_gas, "
    "max_priority_fee_per_gas, gas_limit, state, created_at FROM deliveries ";

void read_delivery(const Stmt& st, Delivery& d) {
    d.chain = ChainId{st.u64(1)};
    d.tx_hash = st.fixed<32>(2);
    d.account = st.fixed<20>(3);
    d.account_nonce = st.u64(4);
    d.max_fee_per_gas = st.u64(5);
    d.max_priority_fee_per_gas = st.u64(6);
    d.gas_limit = st.u64(7);
    d.state = static_cast<DeliveryState>(std::clamp<std::int64_t>(st.i64(8), 0, 4));
    d.created_at = st.i64(9);
}

// Looked-up facts about one delivery row.
struct DeliveryRow {
    std::int64_t id = 0;
    ChainId chain{};
    Address account;
    std::uint64_t account_nonce = 0;
    DeliveryState state = DeliveryState::live;
    bool has_receipt = false;
};

std::string_view delivery_state_name(DeliveryState s) {
    switch (s) {
        case DeliveryState::live:
            return "live";
        case DeliveryState::mined:
            return "mined";
        case DeliveryState::replaced:
            return "replaced";
        case DeliveryState::dropped:
            return "dropped";
        case DeliveryState::failed:
            return "failed";
    }
    return "unknown";
}

// Restores synchronous = NORMAL after a commit that had to reach the disk.
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

}  // namespace

// ---- plumbing ----

Result<std::unique_ptr<SqliteQueue>> SqliteQueue::open(const std::string& path,
                                                       const SqliteQueueOptions& options,
                                                       std::string* detail) {
    if (!is_valid(options.backoff) || options.retention_ms < 0 || options.cache_kib <= 0 ||
        options.busy_timeout_ms < 0) {
        if (detail != nullptr)
            *detail = "queue options out of range (backoff policy, retention, cache or timeout)";
        return Error::invalid_argument;
    }
    Database::Options db_options;
    db_options.cache_kib = options.cache_kib;
    db_options.busy_timeout_ms = options.busy_timeout_ms;
    db_options.sync = options.sync;
    auto db = Database::open(path, db_options, detail);
    if (!db) return db.error();
    if (auto m = migrate(*db, detail); !m) return m.error();
    return std::unique_ptr<SqliteQueue>(new SqliteQueue(std::move(*db), options));
}

Error SqliteQueue::fail(Error e, std::string message) {
    last_error_ = std::move(message);
    return e;
}

boost::system::error_code SqliteQueue::fail_db(boost::system::error_code e,
                                               std::string_view context) {
    last_error_.assign(context);
    last_error_ += ": ";
    last_error_ += db_.last_error();
    return e;
}

Result<Transaction> SqliteQueue::begin() {
    auto tx = Transaction::begin(db_);
    if (!tx) return fail_db(tx.error(), "cannot start a write transaction");
    return tx;
}

Result<void> SqliteQueue::commit(Transaction& tx) {
    if (auto r = tx.commit(); !r) return fail_db(r.error(), "commit failed");
    return {};
}

boost::system::error_code SqliteQueue::explain_refusal(const PacketId& id, PacketState to) {
    auto st = db_.prepare("SELECT state FROM packets WHERE id = ?1");
    if (!st) return fail_db(st.error(), "looking up a packet");
    st->bind(1, id);
    auto row = st->step();
    if (!row) return fail_db(row.error(), "looking up a packet");
    if (!*row) return fail(Error::not_found, "packet " + id.hex() + " is not in the queue");
    const auto from = static_cast<PacketState>(st->i64(0));
    std::string message = "packet " + id.hex() + ": illegal transition " +
                          std::string(to_string(from)) + " -> " + std::string(to_string(to));
    if (is_legal_transition(from, to)) message += " (not through this operation)";
    return fail(Error::illegal_transition, std::move(message));
}

// Runs `sql` once per id with ?1 = id, ?2 = now and, when `extra_text` is non-empty, ?3 = it.
// The statement must change exactly one row when the packet is in a state it may leave.
Result<void> SqliteQueue::transition(std::span<const PacketId> ids, std::string_view sql,
                                     PacketState to, std::string_view extra_text, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    for (const auto& id : ids) {
        auto st = db_.prepare(sql);
        if (!st) return fail_db(st.error(), "preparing a transition");
        st->bind(1, id).bind(2, now);
        if (!extra_text.empty()) st->bind_text(3, extra_text);
        if (auto r = st->run(); !r) return fail_db(r.error(), "updating packet " + id.hex());
        if (db_.changes() != 1) return explain_refusal(id, to);
    }
    return commit(*tx);
}

// submitted → failed, or → dead when permanent or out of attempts. Returns true when dead.
Result<bool> SqliteQueue::fail_one(std::int64_t seq, const PacketId& id, std::uint32_t attempts,
                                   std::string_view error, FailureKind kind, UnixMillis now) {
    const std::uint32_t n = attempts + 1;
    const bool dead = kind == FailureKind::permanent || n >= options_.backoff.max_attempts;
    auto st = db_.prepare(
        "UPDATE packets SET state = ?2, attempts = ?3, next_attempt_at = ?4, last_error = ?5, "
        "delivery_id = NULL, updated_at = ?6 WHERE seq = ?1 AND state = 2");
    if (!st) return {boost::system::in_place_error, fail_db(st.error(), "preparing a failure")};
    st->bind(1, seq)
        .bind(2, sql_int(dead ? PacketState::dead : PacketState::failed))
        .bind(3, static_cast<std::int64_t>(n))
        .bind_text(5, error)
        .bind(6, now);
    if (dead)
        st->bind_null(4);
    else
        st->bind(4, now + backoff_delay(options_.backoff, n, id));
    if (auto r = st->run(); !r)
        return {boost::system::in_place_error,
                fail_db(r.error(), "recording a failure of " + id.hex())};
    if (db_.changes() != 1)
        return {boost::system::in_place_error, explain_refusal(id, PacketState::failed)};
    return dead;
}

Result<std::vector<PacketRecord>> SqliteQueue::read_packets(
    std::string_view sql, const std::function<void(Stmt&)>& bind) {
    auto st = db_.prepare(sql);
    if (!st) return fail_db(st.error(), "preparing a packet query");
    bind(*st);
    std::vector<PacketRecord> out;
    for (;;) {
        auto row = st->step();
        if (!row) return fail_db(row.error(), "reading packets");
        if (!*row) break;
        PacketRecord r;
        if (!read_record(*st, r)) return fail(Error::corrupt, "a packet row has an invalid state");
        out.push_back(std::move(r));
    }
    return out;
}

Result<std::vector<PacketId>> SqliteQueue::delivery_packets(std::int64_t delivery_id) {
    auto st = db_.prepare(
        "SELECT id FROM packets WHERE delivery_id = ?1 AND state = 2 ORDER BY nonce, seq");
    if (!st) return fail_db(st.error(), "preparing a delivery query");
    st->bind(1, delivery_id);
    std::vector<PacketId> ids;
    for (;;) {
        auto row = st->step();
        if (!row) return fail_db(row.error(), "reading a delivery's packets");
        if (!*row) break;
        ids.push_back(st->fixed<32>(0));
    }
    return ids;
}

// ---- watcher ----

Result<InsertOutcome> SqliteQueue::insert_packets(std::span<const NewPacket> packets,
                                                  const Cursor& cursor, UnixMillis now) {
    for (const auto& p : packets)
        if (p.route.src != cursor.chain)
            return fail(Error::invalid_argument, "packet " + p.id.hex() + " comes from chain " +
                                                     std::to_string(crypto::to_u64(p.route.src)) +
                                                     " but the cursor is of chain " +
                                                     std::to_string(crypto::to_u64(cursor.chain)));
    auto tx = begin();
    if (!tx) return tx.error();

    struct RouteState {
        std::uint64_t contiguous = 0;
        std::uint64_t max = 0;
        std::uint64_t equivocations = 0;
    };
    std::map<Route, RouteState> touched;
    InsertOutcome out;

    for (const auto& p : packets) {
        auto [it, fresh] = touched.try_emplace(p.route);
        RouteState& rs = it->second;
        if (fresh) {
            auto st = db_.prepare(
                "SELECT contiguous_nonce, max_nonce, equivocations FROM routes "
                "WHERE src_chain = ?1 AND dst_chain = ?2");
            if (!st) return fail_db(st.error(), "reading a route");
            st->bind(1, p.route.src).bind(2, p.route.dst);
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading a route");
            if (*row) rs = {st->u64(0), st->u64(1), st->u64(2)};
        }

        std::int64_t seq = 0;
        {
            auto st = db_.prepare(
                "INSERT INTO packets (id, src_chain, dst_chain, nonce, sender, recipient, expiry, "
                "source_block, state, created_at, updated_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9) ON CONFLICT (id) DO NOTHING");
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
            if (db_.changes() == 0) {
                ++out.duplicates;
                continue;
            }
            seq = db_.last_insert_rowid();
        }
        {
            auto st = db_.prepare("INSERT INTO packet_data (seq, encoded) VALUES (?1, ?2)");
            if (!st) return fail_db(st.error(), "preparing a packet insert");
            st->bind(1, seq).bind(2, crypto::ByteView(p.encoded));
            if (auto r = st->run(); !r) return fail_db(r.error(), "storing packet bytes");
        }
        ++out.inserted;

        const std::uint64_t nonce = crypto::to_u64(p.nonce);
        if (nonce > rs.max) {
            rs.max = nonce;  // above everything seen: no other packet can hold this nonce
            continue;
        }
        // A late packet fills a gap, or another id already holds this nonce: equivocation.
        struct Other {
            std::int64_t seq;
            PacketId id;
            PacketState state;
        };
        std::vector<Other> others;
        {
            auto st = db_.prepare(
                "SELECT seq, id, state FROM packets "
                "WHERE src_chain = ?1 AND dst_chain = ?2 AND nonce = ?3 AND seq != ?4");
            if (!st) return fail_db(st.error(), "preparing an equivocation check");
            st->bind(1, p.route.src).bind(2, p.route.dst).bind(3, p.nonce).bind(4, seq);
            for (;;) {
                auto row = st->step();
                if (!row) return fail_db(row.error(), "checking for equivocation");
                if (!*row) break;
                others.push_back(
                    {st->i64(0), st->fixed<32>(1), static_cast<PacketState>(st->i64(2))});
            }
        }
        if (others.empty()) continue;
        ++out.equivocations;
        ++rs.equivocations;
        const std::string where = describe(p.route) + " nonce " + std::to_string(nonce);
        auto reject_seq = [&](std::int64_t target, const std::string& why) -> Result<void> {
            auto st = db_.prepare(
                "UPDATE packets SET state = 6, last_error = ?2, next_attempt_at = NULL, "
                "updated_at = ?3 WHERE seq = ?1");
            if (!st) return fail_db(st.error(), "preparing a rejection");
            st->bind(1, target).bind_text(2, why).bind(3, now);
            if (auto r = st->run(); !r) return fail_db(r.error(), "rejecting an equivocation");
            return {};
        };
        for (const auto& o : others) {
            // A packet already handed to the destination chain cannot be called back.
            const bool can_reject = o.state == PacketState::observed ||
                                    o.state == PacketState::attested ||
                                    o.state == PacketState::failed || o.state == PacketState::dead;
            if (can_reject) {
                if (auto r = reject_seq(
                        o.seq, "equivocation: " + where + " is also claimed by " + p.id.hex());
                    !r)
                    return r.error();
            }
        }
        if (auto r = reject_seq(
                seq, "equivocation: " + where + " is already held by " + others.front().id.hex());
            !r)
            return r.error();
    }

    for (auto& [route, rs] : touched) {
        // Walk the watermark up over nonces that are now present.
        for (;;) {
            auto st = db_.prepare(
                "SELECT 1 FROM packets WHERE src_chain = ?1 AND dst_chain = ?2 AND nonce = ?3");
            if (!st) return fail_db(st.error(), "preparing a nonce probe");
            st->bind(1, route.src).bind(2, route.dst).bind(3, rs.contiguous + 1);
            auto row = st->step();
            if (!row) return fail_db(row.error(), "probing nonces");
            if (!*row) break;
            ++rs.contiguous;
        }
        auto st = db_.prepare(
            "INSERT INTO routes (src_chain, dst_chain, contiguous_nonce, max_nonce, equivocations) "
            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (src_chain, dst_chain) DO UPDATE SET "
            "contiguous_nonce = excluded.contiguous_nonce, max_nonce = excluded.max_nonce, "
            "equivocations = excluded.equivocations");
        if (!st) return fail_db(st.error(), "preparing a route update");
        st->bind(1, route.src)
            .bind(2, route.dst)
            .bind(3, rs.contiguous)
            .bind(4, rs.max)
            .bind(5, rs.equivocations);
        if (auto r = st->run(); !r) return fail_db(r.error(), "updating " + describe(route));
    }

    {
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
    }
    if (auto r = commit(*tx); !r) return r.error();
    return out;
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
    for (;;) {
        auto row = st->step();
        if (!row) return fail_db(row.error(), "reading attestations");
        if (!*row) break;
        out.push_back({packet, st->fixed<20>(0), st->fixed<65>(1)});
    }
    return out;
}

Result<void> SqliteQueue::mark_attested(std::span<const PacketId> ids, UnixMillis now) {
    return transition(ids,
                      "UPDATE packets SET state = 1, updated_at = ?2 WHERE id = ?1 AND state = 0",
                      PacketState::attested, {}, now);
}

Result<void> SqliteQueue::reject(std::span<const PacketId> ids, std::string_view reason,
                                 UnixMillis now) {
    if (reason.empty()) return fail(Error::invalid_argument, "a rejection needs a reason");
    return transition(ids,
                      "UPDATE packets SET state = 6, last_error = ?3, updated_at = ?2 "
                      "WHERE id = ?1 AND state = 0",
                      PacketState::rejected, reason, now);
}

Result<std::size_t> SqliteQueue::expire_due(UnixMillis now) {
    // Expired once the expiry second has fully passed: expiry · 1000 < now.
    const std::int64_t now_ceil_s = now <= 0 ? 0 : (now + 999) / 1000;
    auto tx = begin();
    if (!tx) return tx.error();
    auto st = db_.prepare(
        "UPDATE packets INDEXED BY packets_expiry SET state = 7, last_error = 'expired', "
        "updated_at = ?2 WHERE state IN (0, 1) AND expiry != 0 AND expiry < ?1");
    if (!st) return fail_db(st.error(), "preparing expiry");
    st->bind(1, now_ceil_s).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "expiring packets");
    const auto n = static_cast<std::size_t>(db_.changes());
    if (auto r = commit(*tx); !r) return r.error();
    return n;
}

// ---- submitter ----

Result<std::vector<PacketRecord>> SqliteQueue::next_attested(const Route& route,
                                                             std::size_t limit) {
    static const std::string sql =
        packet_query("INDEXED BY packets_state",
                     "WHERE p.state = 1 AND p.src_chain = ?1 AND p.dst_chain = ?2 "
                     "ORDER BY p.nonce, p.seq LIMIT ?3");
    return read_packets(
        sql, [&](Stmt& st) { st.bind(1, route.src).bind(2, route.dst).bind(3, sql_limit(limit)); });
}

namespace {

Result<std::optional<DeliveryRow>> find_delivery(Database& db, const Hash32& tx) {
    auto st = db.prepare(
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
    d.state = static_cast<DeliveryState>(std::clamp<std::int64_t>(st->i64(4), 0, 4));
    d.has_receipt = st->i64(5) != 0;
    return std::optional<DeliveryRow>(d);
}

Result<std::int64_t> insert_delivery(Database& db, const Delivery& d, UnixMillis now) {
    auto st = db.prepare(
        "INSERT INTO deliveries (chain, tx_hash, account, account_nonce, max_fee_per_gas, "
        "max_priority_fee_per_gas, gas_limit, state, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)");
    if (!st) return st.error();
    st->bind(1, d.chain)
        .bind(2, d.tx_hash)
        .bind(3, d.account)
        .bind(4, d.account_nonce)
        .bind(5, d.max_fee_per_gas)
        .bind(6, d.max_priority_fee_per_gas)
        .bind(7, d.gas_limit)
        .bind(8, now);
    if (auto r = st->run(); !r) return r.error();
    return db.last_insert_rowid();
}

Result<void> set_delivery_state(Database& db, std::int64_t id, DeliveryState state,
                                UnixMillis now) {
    auto st = db.prepare("UPDATE deliveries SET state = ?2, updated_at = ?3 WHERE id = ?1");
    if (!st) return st.error();
    st->bind(1, id).bind(2, sql_int(state)).bind(3, now);
    return st->run();
}

}  // namespace

Result<void> SqliteQueue::record_delivery(const Delivery& delivery, UnixMillis now) {
    if (delivery.packets.empty())
        return fail(Error::invalid_argument, "a delivery must carry at least one packet");
    SyncScope sync(db_, options_.sync);
    if (auto r = sync.enter(); !r) return fail_db(r.error(), "setting synchronous");
    auto tx = begin();
    if (!tx) return tx.error();

    auto existing = find_delivery(db_, delivery.tx_hash);
    if (!existing) return fail_db(existing.error(), "looking up a delivery");
    if (*existing)
        return fail(Error::duplicate_delivery,
                    "tx " + delivery.tx_hash.hex() + " is already recorded as a delivery");
    {
        auto st = db_.prepare(
            "SELECT tx_hash FROM deliveries INDEXED BY deliveries_account_nonce "
            "WHERE chain = ?1 AND account = ?2 AND account_nonce = ?3 AND state = 0");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, delivery.chain).bind(2, delivery.account).bind(3, delivery.account_nonce);
        auto row = st->step();
        if (!row) return fail_db(row.error(), "looking up live deliveries");
        if (*row)
            return fail(Error::invalid_argument,
                        "account " + delivery.account.hex() + " nonce " +
                            std::to_string(delivery.account_nonce) + " already has the live tx " +
                            st->fixed<32>(0).hex() + "; replace it instead");
    }
    auto id = insert_delivery(db_, delivery, now);
    if (!id) return fail_db(id.error(), "writing delivery " + delivery.tx_hash.hex());

    for (const auto& pid : delivery.packets) {
        auto st = db_.prepare(
            "UPDATE packets SET state = 2, delivery_id = ?3, updated_at = ?2 "
            "WHERE id = ?1 AND state = 1 AND dst_chain = ?4");
        if (!st) return fail_db(st.error(), "preparing a submission");
        st->bind(1, pid).bind(2, now).bind(3, *id).bind(4, delivery.chain);
        if (auto r = st->run(); !r) return fail_db(r.error(), "submitting packet " + pid.hex());
        if (db_.changes() == 1) continue;
        auto probe = db_.prepare("SELECT state, dst_chain FROM packets WHERE id = ?1");
        if (!probe) return fail_db(probe.error(), "preparing a packet probe");
        probe->bind(1, pid);
        auto row = probe->step();
        if (!row) return fail_db(row.error(), "probing a packet");
        if (*row && probe->i64(0) == sql_int(PacketState::attested))
            return fail(Error::invalid_argument,
                        "packet " + pid.hex() + " goes to chain " + std::to_string(probe->u64(1)) +
                            ", not to chain " + std::to_string(crypto::to_u64(delivery.chain)));
        return explain_refusal(pid, PacketState::submitted);
    }
    {
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
    }
    return commit(*tx);
}

Result<void> SqliteQueue::replace_delivery(const Hash32& old_tx, const Delivery& replacement,
                                           UnixMillis now) {
    SyncScope sync(db_, options_.sync);
    if (auto r = sync.enter(); !r) return fail_db(r.error(), "setting synchronous");
    auto tx = begin();
    if (!tx) return tx.error();
    auto old = find_delivery(db_, old_tx);
    if (!old) return fail_db(old.error(), "looking up a delivery");
    if (!*old) return fail(Error::not_found, "no delivery with tx " + old_tx.hex());
    if ((*old)->state != DeliveryState::live)
        return fail(Error::delivery_not_live, "delivery " + old_tx.hex() + " is " +
                                                  std::string(delivery_state_name((*old)->state)) +
                                                  ", not live");
    if (replacement.chain != (*old)->chain || replacement.account != (*old)->account ||
        replacement.account_nonce != (*old)->account_nonce)
        return fail(Error::account_nonce_mismatch,
                    "replacement " + replacement.tx_hash.hex() + " must use chain " +
                        std::to_string(crypto::to_u64((*old)->chain)) + ", account " +
                        (*old)->account.hex() + " and nonce " +
                        std::to_string((*old)->account_nonce));
    auto dup = find_delivery(db_, replacement.tx_hash);
    if (!dup) return fail_db(dup.error(), "looking up a delivery");
    if (*dup)
        return fail(Error::duplicate_delivery,
                    "tx " + replacement.tx_hash.hex() + " is already recorded as a delivery");
    auto id = insert_delivery(db_, replacement, now);
    if (!id) return fail_db(id.error(), "writing delivery " + replacement.tx_hash.hex());
    if (auto r = set_delivery_state(db_, (*old)->id, DeliveryState::replaced, now); !r)
        return fail_db(r.error(), "marking a delivery replaced");
    auto st = db_.prepare(
        "UPDATE packets SET delivery_id = ?2, updated_at = ?3 WHERE delivery_id = ?1 AND state = "
        "2");
    if (!st) return fail_db(st.error(), "preparing a relink");
    st->bind(1, (*old)->id).bind(2, *id).bind(3, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "moving packets to the replacement");
    return commit(*tx);
}

Result<std::size_t> SqliteQueue::drop_delivery(const Hash32& tx_hash, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto d = find_delivery(db_, tx_hash);
    if (!d) return fail_db(d.error(), "looking up a delivery");
    if (!*d) return fail(Error::not_found, "no delivery with tx " + tx_hash.hex());
    if ((*d)->state != DeliveryState::live)
        return fail(Error::delivery_not_live, "delivery " + tx_hash.hex() + " is " +
                                                  std::string(delivery_state_name((*d)->state)) +
                                                  ", not live");
    auto st = db_.prepare(
        "UPDATE packets SET state = 1, delivery_id = NULL, updated_at = ?2 "
        "WHERE delivery_id = ?1 AND state = 2");
    if (!st) return fail_db(st.error(), "preparing a drop");
    st->bind(1, (*d)->id).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "returning packets to attested");
    const auto moved = static_cast<std::size_t>(db_.changes());
    if (auto r = set_delivery_state(db_, (*d)->id, DeliveryState::dropped, now); !r)
        return fail_db(r.error(), "marking a delivery dropped");
    if (auto r = commit(*tx); !r) return r.error();
    return moved;
}

Result<std::size_t> SqliteQueue::fail_delivery(const Hash32& tx_hash, std::string_view error,
                                               FailureKind kind, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto d = find_delivery(db_, tx_hash);
    if (!d) return fail_db(d.error(), "looking up a delivery");
    if (!*d) return fail(Error::not_found, "no delivery with tx " + tx_hash.hex());
    if ((*d)->state != DeliveryState::live)
        return fail(Error::delivery_not_live, "delivery " + tx_hash.hex() + " is " +
                                                  std::string(delivery_state_name((*d)->state)) +
                                                  ", not live");
    struct Row {
        std::int64_t seq;
        PacketId id;
        std::uint32_t attempts;
    };
    std::vector<Row> rows;
    {
        auto st = db_.prepare(
            "SELECT seq, id, attempts FROM packets WHERE delivery_id = ?1 AND state = 2");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, (*d)->id);
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading a delivery's packets");
            if (!*row) break;
            rows.push_back({st->i64(0), st->fixed<32>(1), static_cast<std::uint32_t>(st->u64(2))});
        }
    }
    for (const auto& r : rows)
        if (auto f = fail_one(r.seq, r.id, r.attempts, error, kind, now); !f) return f.error();
    if (auto r = set_delivery_state(db_, (*d)->id, DeliveryState::failed, now); !r)
        return fail_db(r.error(), "marking a delivery failed");
    if (auto r = commit(*tx); !r) return r.error();
    return rows.size();
}

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

Result<std::vector<PacketRecord>> SqliteQueue::due_retries(UnixMillis now, std::size_t limit) {
    static const std::string sql = packet_query("INDEXED BY packets_retry",
                                                "WHERE p.state = 4 AND p.next_attempt_at <= ?1 "
                                                "ORDER BY p.next_attempt_at, p.seq LIMIT ?2");
    return read_packets(sql, [&](Stmt& st) { st.bind(1, now).bind(2, sql_limit(limit)); });
}

Result<void> SqliteQueue::requeue(std::span<const PacketId> ids, UnixMillis now) {
    return transition(ids,
                      "UPDATE packets SET state = 1, next_attempt_at = NULL, updated_at = ?2 "
                      "WHERE id = ?1 AND state = 4",
                      PacketState::attested, {}, now);
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

// ---- receipt tracker ----

Result<std::vector<Delivery>> SqliteQueue::pending_deliveries(ChainId chain, std::size_t limit) {
    auto tx = Transaction::begin(db_, Transaction::Mode::read);
    if (!tx) return fail_db(tx.error(), "starting a read");
    std::vector<std::pair<std::int64_t, Delivery>> found;
    {
        static const std::string sql = std::string(kDeliveryColumns) +
                                       "INDEXED BY deliveries_live WHERE chain = ?1 AND state = 0 "
                                       "ORDER BY id LIMIT ?2";
        auto st = db_.prepare(sql);
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, chain).bind(2, sql_limit(limit));
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading deliveries");
            if (!*row) break;
            Delivery d;
            read_delivery(*st, d);
            found.emplace_back(st->i64(0), std::move(d));
        }
    }
    std::vector<Delivery> out;
    out.reserve(found.size());
    for (auto& [id, d] : found) {
        auto ids = delivery_packets(id);
        if (!ids) return ids.error();
        d.packets = std::move(*ids);
        auto st = db_.prepare(
            "SELECT tx_hash FROM deliveries INDEXED BY deliveries_account_nonce "
            "WHERE chain = ?1 AND account = ?2 AND account_nonce = ?3 AND state = 2 ORDER BY id");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, d.chain).bind(2, d.account).bind(3, d.account_nonce);
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading replaced deliveries");
            if (!*row) break;
            d.replaced.push_back(st->fixed<32>(0));
        }
        out.push_back(std::move(d));
    }
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

Result<ReceiptOutcome> SqliteQueue::record_receipt(const Receipt& receipt, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto found = find_delivery(db_, receipt.tx_hash);
    if (!found) return fail_db(found.error(), "looking up a delivery");
    if (!*found) return fail(Error::not_found, "no delivery with tx " + receipt.tx_hash.hex());
    const DeliveryRow mined = **found;
    if (mined.has_receipt)
        return fail(Error::receipt_exists,
                    "the receipt of tx " + receipt.tx_hash.hex() + " is already recorded");

    // The packets sit with the live tx of this account nonce: this one, or its replacement.
    std::int64_t holder = mined.id;
    if (mined.state == DeliveryState::replaced) {
        auto st = db_.prepare(
            "SELECT id FROM deliveries INDEXED BY deliveries_account_nonce "
            "WHERE chain = ?1 AND account = ?2 AND account_nonce = ?3 AND state = 0");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, mined.chain).bind(2, mined.account).bind(3, mined.account_nonce);
        auto row = st->step();
        if (!row) return fail_db(row.error(), "looking up the live replacement");
        if (!*row)
            return fail(Error::delivery_not_live,
                        "tx " + receipt.tx_hash.hex() +
                            " was replaced and no live tx of its nonce remains");
        holder = st->i64(0);
    } else if (mined.state != DeliveryState::live) {
        return fail(Error::delivery_not_live, "delivery " + receipt.tx_hash.hex() + " is " +
                                                  std::string(delivery_state_name(mined.state)) +
                                                  ", not live");
    }
    {
        auto st = db_.prepare(
            "UPDATE deliveries SET state = 1, receipt_block = ?2, receipt_block_hash = ?3, "
            "receipt_status = ?4, gas_used = ?5, effective_gas_price = ?6, updated_at = ?7 "
            "WHERE id = ?1");
        if (!st) return fail_db(st.error(), "preparing a receipt update");
        st->bind(1, mined.id)
            .bind(2, receipt.block_number)
            .bind(3, receipt.block_hash)
            .bind(4, std::int64_t{receipt.status ? 1 : 0})
            .bind(5, receipt.gas_used)
            .bind(6, receipt.effective_gas_price)
            .bind(7, now);
        if (auto r = st->run(); !r) return fail_db(r.error(), "recording a receipt");
    }
    if (holder != mined.id) {
        if (auto r = set_delivery_state(db_, holder, DeliveryState::replaced, now); !r)
            return fail_db(r.error(), "retiring the replacement");
    }

    std::unordered_map<PacketId, bool> logs;
    for (const auto& p : receipt.delivered) logs.emplace(p.id, p.success);

    struct Row {
        std::int64_t seq;
        PacketId id;
        std::uint32_t attempts;
    };
    std::vector<Row> rows;
    {
        auto st = db_.prepare(
            "SELECT seq, id, attempts FROM packets WHERE delivery_id = ?1 AND state = 2");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, holder);
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading a delivery's packets");
            if (!*row) break;
            rows.push_back({st->i64(0), st->fixed<32>(1), static_cast<std::uint32_t>(st->u64(2))});
        }
    }
    ReceiptOutcome out;
    const std::string missing =
        receipt.status
            ? "tx " + receipt.tx_hash.hex() + " was mined without a PacketDelivered for this packet"
            : "tx " + receipt.tx_hash.hex() + " reverted";
    for (const auto& r : rows) {
        const auto log = logs.find(r.id);
        if (log == logs.end()) {
            auto dead = fail_one(r.seq, r.id, r.attempts, missing, FailureKind::transient, now);
            if (!dead) return dead.error();
            ++(*dead ? out.dead : out.failed);
            continue;
        }
        auto st = db_.prepare(
            "UPDATE packets SET state = 3, delivered_success = ?2, delivery_id = ?3, "
            "next_attempt_at = NULL, updated_at = ?4 WHERE seq = ?1 AND state = 2");
        if (!st) return fail_db(st.error(), "preparing a delivery update");
        st->bind(1, r.seq)
            .bind(2, std::int64_t{log->second ? 1 : 0})
            .bind(3, mined.id)
            .bind(4, now);
        if (auto u = st->run(); !u)
            return fail_db(u.error(), "marking " + r.id.hex() + " delivered");
        ++out.delivered;
        logs.erase(log);
    }
    out.unexpected = logs.size();
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

Result<void> SqliteQueue::mark_delivered_elsewhere(std::span<const PacketId> ids, UnixMillis now) {
    return transition(ids,
                      "UPDATE packets SET state = 3, delivered_success = NULL, delivery_id = NULL, "
                      "last_error = ?3, updated_at = ?2 WHERE id = ?1 AND state = 1",
                      PacketState::delivered, "delivered by another transaction", now);
}

Result<std::vector<MinedDelivery>> SqliteQueue::unconfirmed_deliveries(ChainId chain,
                                                                       std::uint64_t up_to_block,
                                                                       std::size_t limit) {
    auto tx = Transaction::begin(db_, Transaction::Mode::read);
    if (!tx) return fail_db(tx.error(), "starting a read");
    std::vector<std::pair<std::int64_t, MinedDelivery>> found;
    {
        auto st = db_.prepare(
            "SELECT id, tx_hash, receipt_block, receipt_block_hash FROM deliveries "
            "INDEXED BY deliveries_unconfirmed WHERE chain = ?1 AND state = 1 AND confirmed = 0 "
            "AND receipt_block <= ?2 ORDER BY receipt_block, id LIMIT ?3");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, chain).bind(2, up_to_block).bind(3, sql_limit(limit));
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading mined deliveries");
            if (!*row) break;
            MinedDelivery d;
            d.tx_hash = st->fixed<32>(1);
            d.block_number = st->u64(2);
            d.block_hash = st->fixed<32>(3);
            found.emplace_back(st->i64(0), std::move(d));
        }
    }
    std::vector<MinedDelivery> out;
    out.reserve(found.size());
    for (auto& [id, d] : found) {
        auto st = db_.prepare(
            "SELECT id FROM packets WHERE delivery_id = ?1 AND state = 3 ORDER BY nonce, seq");
        if (!st) return fail_db(st.error(), "preparing a delivery query");
        st->bind(1, id);
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "reading a delivery's packets");
            if (!*row) break;
            d.packets.push_back(st->fixed<32>(0));
        }
        out.push_back(std::move(d));
    }
    if (auto r = commit(*tx); !r) return r.error();
    return out;
}

Result<void> SqliteQueue::confirm_delivery(const Hash32& tx_hash, UnixMillis now) {
    auto st = db_.prepare(
        "UPDATE deliveries SET confirmed = 1, updated_at = ?2 WHERE tx_hash = ?1 AND state = 1");
    if (!st) return fail_db(st.error(), "preparing a confirmation");
    st->bind(1, tx_hash).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "confirming a delivery");
    if (db_.changes() != 1)
        return fail(Error::delivery_not_live, "tx " + tx_hash.hex() + " is not a mined delivery");
    return {};
}

Result<std::size_t> SqliteQueue::revert_delivery(const Hash32& tx_hash, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto d = find_delivery(db_, tx_hash);
    if (!d) return fail_db(d.error(), "looking up a delivery");
    if (!*d) return fail(Error::not_found, "no delivery with tx " + tx_hash.hex());
    if ((*d)->state != DeliveryState::mined)
        return fail(Error::delivery_not_live, "delivery " + tx_hash.hex() + " is " +
                                                  std::string(delivery_state_name((*d)->state)) +
                                                  ", not mined");
    auto st = db_.prepare(
        "UPDATE packets SET state = 1, delivery_id = NULL, delivered_success = NULL, "
        "last_error = 'delivery reorged out', updated_at = ?2 WHERE delivery_id = ?1 AND state = "
        "3");
    if (!st) return fail_db(st.error(), "preparing a revert");
    st->bind(1, (*d)->id).bind(2, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "returning packets to attested");
    const auto moved = static_cast<std::size_t>(db_.changes());
    if (auto r = set_delivery_state(db_, (*d)->id, DeliveryState::dropped, now); !r)
        return fail_db(r.error(), "marking a delivery dropped");
    if (auto r = commit(*tx); !r) return r.error();
    return moved;
}

// ---- operator ----

Result<void> SqliteQueue::retry_packet(const PacketId& id, UnixMillis now) {
    return transition(std::span<const PacketId>(&id, 1),
                      "UPDATE packets SET state = 1, attempts = 0, next_attempt_at = NULL, "
                      "updated_at = ?2 WHERE id = ?1 AND state IN (4, 5)",
                      PacketState::attested, {}, now);
}

Result<std::size_t> SqliteQueue::retry_dead(const Route& route, UnixMillis now) {
    auto tx = begin();
    if (!tx) return tx.error();
    auto st = db_.prepare(
        "UPDATE packets INDEXED BY packets_state SET state = 1, attempts = 0, "
        "next_attempt_at = NULL, updated_at = ?3 WHERE state = 5 AND src_chain = ?1 AND "
        "dst_chain = ?2");
    if (!st) return fail_db(st.error(), "preparing a retry");
    st->bind(1, route.src).bind(2, route.dst).bind(3, now);
    if (auto r = st->run(); !r) return fail_db(r.error(), "retrying dead packets");
    const auto n = static_cast<std::size_t>(db_.changes());
    if (auto r = commit(*tx); !r) return r.error();
    return n;
}

Result<std::size_t> SqliteQueue::prune_delivered(UnixMillis now, std::size_t limit) {
    const UnixMillis cutoff = now - options_.retention_ms;
    auto tx = begin();
    if (!tx) return tx.error();
    std::vector<std::int64_t> seqs;
    std::vector<std::int64_t> deliveries;
    {
        auto st = db_.prepare(
            "SELECT seq, delivery_id FROM packets INDEXED BY packets_prunable "
            "WHERE state = 3 AND pruned = 0 AND updated_at <= ?1 ORDER BY updated_at LIMIT ?2");
        if (!st) return fail_db(st.error(), "preparing a prune");
        st->bind(1, cutoff).bind(2, sql_limit(limit));
        for (;;) {
            auto row = st->step();
            if (!row) return fail_db(row.error(), "finding prunable packets");
            if (!*row) break;
            seqs.push_back(st->i64(0));
            if (!st->is_null(1)) deliveries.push_back(st->i64(1));
        }
    }
    constexpr std::string_view kPrune[] = {
        "DELETE FROM packet_data WHERE seq = ?1",
        "DELETE FROM attestations WHERE packet_seq = ?1",
        "UPDATE packets SET pruned = 1, delivery_id = NULL WHERE seq = ?1",
    };
    for (const auto seq : seqs) {
        for (const auto sql : kPrune) {
            auto st = db_.prepare(sql);
            if (!st) return fail_db(st.error(), "preparing a prune");
            st->bind(1, seq);
            if (auto r = st->run(); !r) return fail_db(r.error(), "pruning a packet");
        }
    }
    std::sort(deliveries.begin(), deliveries.end());
    deliveries.erase(std::unique(deliveries.begin(), deliveries.end()), deliveries.end());
    for (const auto id : deliveries) {
        // The mined tx and the txs it replaced go once no unpruned packet points at them.
        auto st = db_.prepare(
            "DELETE FROM deliveries WHERE state != 0 AND (chain, account, account_nonce) = "
            "(SELECT chain, account, account_nonce FROM deliveries WHERE id = ?1) "
            "AND NOT EXISTS (SELECT 1 FROM packets WHERE delivery_id = ?1)");
        if (!st) return fail_db(st.error(), "preparing a delivery prune");
        st->bind(1, id);
        if (auto r = st->run(); !r) return fail_db(r.error(), "pruning deliveries");
    }
    {
        // Dropped and failed txs carry no packet any more; they go with the same retention.
        auto st = db_.prepare(
            "DELETE FROM deliveries INDEXED BY deliveries_finished WHERE state IN (3, 4) AND "
            "updated_at <= ?1 AND NOT EXISTS "
            "(SELECT 1 FROM packets WHERE delivery_id = deliveries.id)");
        if (!st) return fail_db(st.error(), "preparing a delivery prune");
        st->bind(1, cutoff);
        if (auto r = st->run(); !r) return fail_db(r.error(), "pruning deliveries");
    }
    if (auto r = commit(*tx); !r) return r.error();
    return seqs.size();
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
    for (;;) {
        auto row = st->step();
        if (!row) return fail_db(row.error(), "reading counts");
        if (!*row) break;
        const std::int64_t state = st->i64(2);
        if (state < 0 || state >= static_cast<std::int64_t>(kPacketStateCount))
            return fail(Error::corrupt, "a count row has an invalid state");
        out.push_back({{ChainId{st->u64(0)}, ChainId{st->u64(1)}},
                       static_cast<PacketState>(state),
                       st->u64(3)});
    }
    return out;
}

Result<std::vector<RouteInfo>> SqliteQueue::routes() {
    auto st = db_.prepare(
        "SELECT src_chain, dst_chain, contiguous_nonce, max_nonce, equivocations FROM routes "
        "ORDER BY src_chain, dst_chain");
    if (!st) return fail_db(st.error(), "preparing a route query");
    std::vector<RouteInfo> out;
    for (;;) {
        auto row = st->step();
        if (!row) return fail_db(row.error(), "reading routes");
        if (!*row) break;
        out.push_back({{ChainId{st->u64(0)}, ChainId{st->u64(1)}},
                       Nonce{st->u64(2)},
                       Nonce{st->u64(3)},
                       st->u64(4)});
    }
    return out;
}

Result<std::vector<RoutePendingAge>> SqliteQueue::oldest_pending() {
    auto tx = Transaction::begin(db_, Transaction::Mode::read);
    if (!tx) return fail_db(tx.error(), "starting a read");
    auto all = routes();
    if (!all) return all.error();
    std::vector<RoutePendingAge> out;
    for (const auto& info : *all) {
        auto st = db_.prepare(
            "SELECT created_at FROM packets INDEXED BY packets_pending_age "
            "WHERE src_chain = ?1 AND dst_chain = ?2 AND state IN (0, 1, 2, 4) "
            "ORDER BY created_at LIMIT 1");
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

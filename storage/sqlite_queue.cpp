// SqliteQueue: opening, error reporting, transactions, and the packet moves and reads that the
// other sqlite_queue_*.cpp files share.
#include "storage/sqlite_queue.hpp"

#include "crypto/hex.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_queue_detail.hpp"

#include <algorithm>
#include <utility>

namespace ferry::storage {
namespace detail {

std::int64_t sql_limit(std::size_t n) noexcept {
    return n > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(n);
}

std::string describe(const Route& r) { return "route " + route_name(r); }

namespace {

// Columns of a PacketRecord, in the order read_record() reads them.
constexpr std::string_view kPacketColumns =
    "SELECT p.seq, p.id, p.src_chain, p.dst_chain, p.nonce, p.sender, p.recipient, p.expiry, "
    "p.source_block, p.state, p.attempts, p.next_attempt_at, p.last_error, "
    "p.delivered_success, p.pruned, p.created_at, p.updated_at, d.tx_hash, pd.encoded "
    "FROM packets p ";
constexpr std::string_view kPacketJoins =
    "LEFT JOIN packet_data pd ON pd.seq = p.seq LEFT JOIN deliveries d ON d.id = p.delivery_id ";

}  // namespace

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

void read_delivery(const Stmt& st, Delivery& d) {
    d.chain = ChainId{st.u64(1)};
    d.tx_hash = st.fixed<32>(2);
    d.account = st.fixed<20>(3);
    d.account_nonce = st.u64(4);
    d.max_fee_per_gas = st.u64(5);
    d.max_priority_fee_per_gas = st.u64(6);
    d.gas_limit = st.u64(7);
    d.state = delivery_state(st.i64(8));
    d.created_at = st.i64(9);
}

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

Result<std::int64_t> insert_delivery(Database& db, const Delivery& d, UnixMillis now) {
    static constexpr auto kSql = sql::cat(
        "INSERT INTO deliveries (chain, tx_hash, account, account_nonce, max_fee_per_gas, "
        "max_priority_fee_per_gas, gas_limit, state, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ",
        sql::kLive, ", ?8, ?8)");
    auto st = db.prepare(kSql);
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

}  // namespace detail

using detail::read_record;
using detail::sql_int;

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
    static constexpr auto kSql = sql::cat(
        "UPDATE packets SET state = ?2, attempts = ?3, next_attempt_at = ?4, last_error = ?5, "
        "delivery_id = NULL, updated_at = ?6 WHERE seq = ?1 AND state = ",
        sql::kSubmitted);
    auto st = db_.prepare(kSql);
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

Result<void> SqliteQueue::each_row(Stmt& st, std::string_view context,
                                   const std::function<void(const Stmt&)>& on_row) {
    for (;;) {
        auto row = st.step();
        if (!row) return fail_db(row.error(), context);
        if (!*row) return {};
        on_row(st);
    }
}

Result<std::vector<PacketRecord>> SqliteQueue::read_packets(
    std::string_view sql, const std::function<void(Stmt&)>& bind) {
    auto st = db_.prepare(sql);
    if (!st) return fail_db(st.error(), "preparing a packet query");
    bind(*st);
    std::vector<PacketRecord> out;
    bool corrupt = false;
    auto read = each_row(*st, "reading packets", [&](const Stmt& row) {
        PacketRecord r;
        corrupt = corrupt || !read_record(row, r);
        out.push_back(std::move(r));
    });
    if (!read) return read.error();
    if (corrupt) return fail(Error::corrupt, "a packet row has an invalid state");
    return out;
}

// The ids of the delivery's packets that are in `state`, in nonce order.
Result<std::vector<PacketId>> SqliteQueue::delivery_packets(std::int64_t delivery_id,
                                                            PacketState state) {
    auto st = db_.prepare(
        "SELECT id FROM packets WHERE delivery_id = ?1 AND state = ?2 ORDER BY nonce, seq");
    if (!st) return fail_db(st.error(), "preparing a delivery query");
    st->bind(1, delivery_id).bind(2, sql_int(state));
    std::vector<PacketId> ids;
    auto read = each_row(*st, "reading a delivery's packets",
                         [&](const Stmt& row) { ids.push_back(row.fixed<32>(0)); });
    if (!read) return read.error();
    return ids;
}

}  // namespace ferry::storage

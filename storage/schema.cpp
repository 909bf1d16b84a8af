#include "storage/schema.hpp"

#include <array>
#include <string_view>

namespace ferry::storage {
namespace {

// States in SQL are PacketState's numbers: observed 0, attested 1, submitted 2, delivered 3,
// failed 4, dead 5, rejected 6, expired 7. Deliveries: live 0, mined 1, replaced 2, dropped 3,
// failed 4.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE schema_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);

-- One row per packet id, never deleted (pruning only drops its bytes), so ids stay unique.
-- (src_chain, dst_chain, nonce) is unique except among packets rejected for equivocation.
CREATE TABLE packets (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),
    src_chain INTEGER NOT NULL,
    dst_chain INTEGER NOT NULL,
    nonce INTEGER NOT NULL,
    sender BLOB NOT NULL,
    recipient BLOB NOT NULL,
    expiry INTEGER NOT NULL,
    source_block INTEGER NOT NULL,
    state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 7),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    delivery_id INTEGER,
    delivered_success INTEGER,
    pruned INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX packets_route_nonce ON packets (src_chain, dst_chain, nonce);
CREATE INDEX packets_state ON packets (state, src_chain, dst_chain, nonce);
CREATE INDEX packets_retry ON packets (next_attempt_at) WHERE state = 4;
CREATE INDEX packets_delivery ON packets (delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX packets_pending_age ON packets (src_chain, dst_chain, created_at)
    WHERE state IN (0, 1, 2, 4);
CREATE INDEX packets_expiry ON packets (expiry) WHERE state IN (0, 1) AND expiry != 0;
CREATE INDEX packets_prunable ON packets (updated_at) WHERE state = 3 AND pruned = 0;

-- The packed bytes live apart so that state changes do not rewrite them.
CREATE TABLE packet_data (
    seq INTEGER PRIMARY KEY,
    encoded BLOB NOT NULL
);

CREATE TABLE attestations (
    packet_seq INTEGER NOT NULL,
    validator BLOB NOT NULL,
    signature BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (packet_seq, validator)
) WITHOUT ROWID;

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    chain INTEGER NOT NULL,
    tx_hash BLOB NOT NULL UNIQUE,
    account BLOB NOT NULL,
    account_nonce INTEGER NOT NULL,
    max_fee_per_gas INTEGER NOT NULL,
    max_priority_fee_per_gas INTEGER NOT NULL,
    gas_limit INTEGER NOT NULL,
    state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    receipt_block INTEGER,
    receipt_block_hash BLOB,
    receipt_status INTEGER,
    gas_used INTEGER,
    effective_gas_price INTEGER
);
CREATE INDEX deliveries_live ON deliveries (chain, id) WHERE state = 0;
CREATE INDEX deliveries_account_nonce ON deliveries (chain, account, account_nonce);
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE state IN (3, 4);

CREATE TABLE cursors (
    chain INTEGER NOT NULL,
    contract BLOB NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (chain, contract)
) WITHOUT ROWID;

CREATE TABLE accounts (
    chain INTEGER NOT NULL,
    address BLOB NOT NULL,
    next_nonce INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (chain, address)
) WITHOUT ROWID;

-- Per route: every nonce 1..contiguous_nonce is present; max_nonce is the highest seen.
CREATE TABLE routes (
    src_chain INTEGER NOT NULL,
    dst_chain INTEGER NOT NULL,
    contiguous_nonce INTEGER NOT NULL DEFAULT 0,
    max_nonce INTEGER NOT NULL DEFAULT 0,
    equivocations INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (src_chain, dst_chain)
) WITHOUT ROWID;

-- Packet counts per route and state, kept exact by triggers so status never scans packets.
CREATE TABLE route_counts (
    src_chain INTEGER NOT NULL,
    dst_chain INTEGER NOT NULL,
    state INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (src_chain, dst_chain, state)
) WITHOUT ROWID;

CREATE TRIGGER packets_count_insert AFTER INSERT ON packets BEGIN
    INSERT INTO route_counts (src_chain, dst_chain, state, count)
        VALUES (NEW.src_chain, NEW.dst_chain, NEW.state, 1)
        ON CONFLICT (src_chain, dst_chain, state) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER packets_count_update AFTER UPDATE OF state ON packets
WHEN OLD.state != NEW.state BEGIN
    UPDATE route_counts SET count = count - 1
        WHERE src_chain = OLD.src_chain AND dst_chain = OLD.dst_chain AND state = OLD.state;
    INSERT INTO route_counts (src_chain, dst_chain, state, count)
        VALUES (NEW.src_chain, NEW.dst_chain, NEW.state, 1)
        ON CONFLICT (src_chain, dst_chain, state) DO UPDATE SET count = count + 1;
END;
)sql";

// Version 2: mined deliveries are re-checked at dst confirmations; `confirmed` marks the done.
constexpr std::string_view kMigration2 = R"sql(
ALTER TABLE deliveries ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_unconfirmed ON deliveries (chain, receipt_block)
    WHERE state = 1 AND confirmed = 0;
)sql";

constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {kMigration1, kMigration2};

bool has_table(Database& db, std::string_view name, boost::system::error_code& error) {
    auto st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    if (!st) {
        error = st.error();
        return false;
    }
    st->bind_text(1, name);
    auto row = st->step();
    if (!row) {
        error = row.error();
        return false;
    }
    return *row;
}

Result<std::int64_t> read_pragma(Database& db, std::string_view sql) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return *row ? st->i64(0) : 0;
}

}  // namespace

Result<std::int64_t> schema_version(Database& db, std::string* detail) {
    auto app = read_pragma(db, "PRAGMA application_id");
    if (!app) {
        if (detail != nullptr) *detail = db.last_error();
        return app.error();
    }
    boost::system::error_code error;
    const bool versioned = has_table(db, "schema_version", error);
    if (error) {
        if (detail != nullptr) *detail = db.last_error();
        return error;
    }
    if (*app != kApplicationId) {
        // A file of ours always has the id; an empty new file has neither id nor tables.
        auto tables = read_pragma(db, "SELECT count(*) FROM sqlite_master");
        if (!tables) return tables.error();
        if (*app != 0 || *tables != 0) {
            if (detail != nullptr)
                *detail = "database has application_id " + std::to_string(*app) + " and " +
                          std::to_string(*tables) + " schema objects; not a Ferry queue";
            return Error::foreign_database;
        }
        return 0;
    }
    if (!versioned) return 0;
    auto version = read_pragma(db, "SELECT version FROM schema_version WHERE id = 1");
    if (!version) {
        if (detail != nullptr) *detail = db.last_error();
        return version.error();
    }
    return *version;
}

Result<std::int64_t> migrate(Database& db, std::string* detail) {
    auto found = schema_version(db, detail);
    if (!found) return found;
    if (*found > kSchemaVersion) {
        if (detail != nullptr)
            *detail = "database schema version " + std::to_string(*found) +
                      " is newer than the newest this build knows (" +
                      std::to_string(kSchemaVersion) + ")";
        return Error::schema_too_new;
    }
    for (std::int64_t v = *found; v < kSchemaVersion; ++v) {
        auto tx = Transaction::begin(db);
        if (!tx) {
            if (detail != nullptr) *detail = db.last_error();
            return tx.error();
        }
        // Re-read under the write lock: another process may have migrated meanwhile.
        auto now = schema_version(db, detail);
        if (!now) return now;
        if (*now != v) {
            if (*now > kSchemaVersion) return Error::schema_too_new;
            v = *now - 1;
            continue;
        }
        const std::string sql = std::string(kMigrations[static_cast<std::size_t>(v)]) +
                                "\nPRAGMA application_id = " + std::to_string(kApplicationId) +
                                ";" + "\nINSERT INTO schema_version (id, version) VALUES (1, " +
                                std::to_string(v + 1) +
                                ") ON CONFLICT (id) DO UPDATE SET version = excluded.version;";
        if (auto r = db.exec(sql); !r) {
            if (detail != nullptr)
                *detail = "migration to schema version " + std::to_string(v + 1) +
                          " failed: " + db.last_error();
            return r.error();
        }
        if (auto r = tx->commit(); !r) {
            if (detail != nullptr) *detail = db.last_error();
            return r.error();
        }
    }
    return *found;
}

}  // namespace ferry::storage

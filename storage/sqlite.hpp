// Thin RAII layer over the SQLite C API: Database (one connection, owns its cached prepared
// statements), Stmt (a cached statement in use; reset when it goes out of scope) and Transaction
// (rolls back unless committed). Errors are Result codes and the connection's last_error() has
// SQLite's text; nothing throws except std::bad_alloc.
#pragma once

#include "crypto/bytes.hpp"
#include "crypto/types.hpp"
#include "storage/error.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::storage {

/// Maps an SQLite result code to the storage error closest to it.
Error error_from_sqlite(int rc) noexcept;

/// A prepared statement borrowed from Database::prepare(). Binding and stepping are checked; the
/// statement is reset and its bindings cleared when the Stmt is destroyed, so a half-read SELECT
/// never keeps a read snapshot open. Not thread-safe; must not outlive its Database.
class Stmt {
public:
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt(Stmt&& other) noexcept;
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt();

    /// Binds parameter `index` (1-based). A failed bind is reported by the next step()/run().
    Stmt& bind(int index, std::int64_t value) noexcept;
    /// Stores the value's two's-complement bits (SQLite integers are signed 64-bit).
    Stmt& bind(int index, std::uint64_t value) noexcept;
    Stmt& bind(int index, crypto::ChainId value) noexcept;
    Stmt& bind(int index, crypto::Nonce value) noexcept;
    /// Binds a blob; SQLite copies the bytes, so `value` may die after the call.
    Stmt& bind(int index, crypto::ByteView value) noexcept;
    template <std::size_t N>
    Stmt& bind(int index, const crypto::FixedBytes<N>& value) noexcept {
        return bind(index, value.view());
    }
    /// Binds text; SQLite copies it.
    Stmt& bind_text(int index, std::string_view value) noexcept;
    Stmt& bind_null(int index) noexcept;

    /// Advances one row: true when a row is ready, false when the statement is done.
    Result<bool> step() noexcept;
    /// Steps to completion, ignoring rows (for INSERT/UPDATE/DELETE).
    Result<void> run() noexcept;

    /// Column readers for the current row (0-based). NULL reads as 0 / empty.
    std::int64_t i64(int col) const noexcept;
    std::uint64_t u64(int col) const noexcept;
    bool is_null(int col) const noexcept;
    /// Valid until the next step() or until the Stmt is destroyed.
    crypto::ByteView blob(int col) const noexcept;
    std::string_view text(int col) const noexcept;
    /// The blob when it has exactly N bytes; zeros otherwise (the caller checks what it needs).
    template <std::size_t N>
    crypto::FixedBytes<N> fixed(int col) const noexcept {
        crypto::FixedBytes<N> out;
        const auto b = blob(col);
        if (b.size() == N) std::copy(b.begin(), b.end(), out.bytes.begin());
        return out;
    }

private:
    friend class Database;
    Stmt(class Database& db, sqlite3_stmt* stmt) noexcept : db_(&db), stmt_(stmt) {}
    void check(int rc) noexcept;

    class Database* db_;
    sqlite3_stmt* stmt_;
    int bind_rc_ = 0;
};

/// How hard a commit tries to reach the disk (PRAGMA synchronous in WAL mode).
enum class Sync {
    normal,  ///< durable across a process crash; power loss may roll back the last commits
    full,    ///< each commit is fsynced before it returns
};

/// One SQLite connection in WAL mode. Move-only; not thread-safe (use one per thread, and one
/// writer per file). Prepared statements are cached by their SQL text for the connection's life.
class Database {
public:
    struct Options {
        /// Page cache size in KiB (PRAGMA cache_size = -kib).
        std::int64_t cache_kib = 8 * 1024;
        /// How long a statement waits for another connection's lock before Error::busy.
        int busy_timeout_ms = 5000;
        Sync sync = Sync::normal;
        /// Open read-only (no WAL switch, no writes).
        bool read_only = false;
    };

    /// Opens or creates `path` (":memory:" for a private in-memory database) and applies the
    /// pragmas: WAL journal, `options.sync`, cache size, busy timeout. On failure returns
    /// open_failed / not_a_database / … and, when `detail` is given, SQLite's message in it.
    static Result<Database> open(const std::string& path, const Options& options,
                                 std::string* detail = nullptr);

    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs one or more statements without caching them (schema, pragmas).
    Result<void> exec(std::string_view sql) noexcept;

    /// Returns the cached prepared statement for `sql` (compiling it on first use), ready to
    /// bind. Requires: exactly one SQL statement. A statement still being stepped by a live Stmt
    /// of the same text is not handed out twice (Error::sqlite).
    Result<Stmt> prepare(std::string_view sql);

    /// Sets PRAGMA synchronous for the following commits of this connection.
    Result<void> set_sync(Sync sync) noexcept;

    std::int64_t last_insert_rowid() const noexcept;
    /// Rows changed by the last INSERT/UPDATE/DELETE.
    std::int64_t changes() const noexcept;
    /// True while a transaction is open.
    bool in_transaction() const noexcept;
    /// SQLite's message for the last failed call on this connection.
    const std::string& last_error() const noexcept { return last_error_; }

    sqlite3* raw() const noexcept { return db_.get(); }

private:
    friend class Stmt;
    struct Closer {
        void operator()(sqlite3* db) const noexcept;
    };
    struct Finalizer {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    struct SqlHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    explicit Database(sqlite3* db) noexcept : db_(db) {}
    Error fail(int rc) noexcept;

    std::unique_ptr<sqlite3, Closer> db_;
    // Declared after db_ so the statements are finalized before the connection closes.
    std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalizer>, SqlHash,
                       std::equal_to<>>
        statements_;
    std::string last_error_;
};

/// BEGIN … COMMIT, rolled back in the destructor unless commit() succeeded. A write transaction
/// (BEGIN IMMEDIATE) takes the write lock at once, so a busy database fails early and not at the
/// first write; a read transaction (BEGIN DEFERRED) gives several SELECTs one snapshot.
class Transaction {
public:
    enum class Mode { write, read };

    /// Starts a transaction. Requires: no transaction open on `db`.
    static Result<Transaction> begin(Database& db, Mode mode = Mode::write);

    Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    /// Commits. On failure the transaction is rolled back and the error returned.
    Result<void> commit();

private:
    explicit Transaction(Database& db) noexcept : db_(&db) {}
    Database* db_;
};

/// Bytes SQLite holds on the heap in this process (page caches, statements, schemas), and the
/// most it has held since the process started.
std::int64_t sqlite_memory_used() noexcept;
std::int64_t sqlite_memory_highwater() noexcept;

}  // namespace ferry::storage

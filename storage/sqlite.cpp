#include "storage/sqlite.hpp"

#include <sqlite3.h>

#include <string>
#include <utility>

namespace ferry::storage {

Error error_from_sqlite(int rc) noexcept {
    switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
            return Error::ok;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return Error::busy;
        case SQLITE_CORRUPT:
            return Error::corrupt;
        case SQLITE_NOTADB:
            return Error::not_a_database;
        case SQLITE_FULL:
            return Error::disk_full;
        case SQLITE_IOERR:
            return Error::io;
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_READONLY:
            return Error::open_failed;
        default:
            return Error::sqlite;
    }
}

// ---- Stmt ----

Stmt::Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
}

Stmt::~Stmt() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

void Stmt::check(int rc) noexcept {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Stmt& Stmt::bind(int index, std::int64_t value) noexcept {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Stmt& Stmt::bind(int index, std::uint64_t value) noexcept {
    return bind(index, static_cast<std::int64_t>(value));
}

Stmt& Stmt::bind(int index, crypto::ChainId value) noexcept {
    return bind(index, crypto::to_u64(value));
}

Stmt& Stmt::bind(int index, crypto::Nonce value) noexcept {
    return bind(index, crypto::to_u64(value));
}

Stmt& Stmt::bind(int index, crypto::ByteView value) noexcept {
    // A zero-length blob must still be a blob, not NULL: give SQLite a non-null pointer.
    static const std::uint8_t kEmpty = 0;
    const void* data = value.empty() ? &kEmpty : value.data();
    check(sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT));
    return *this;
}

Stmt& Stmt::bind_text(int index, std::string_view value) noexcept {
    check(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8));
    return *this;
}

Stmt& Stmt::bind_null(int index) noexcept {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
}

Result<bool> Stmt::step() noexcept {
    if (bind_rc_ != SQLITE_OK) return db_->fail(bind_rc_);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_->fail(rc);
}

Result<void> Stmt::run() noexcept {
    for (;;) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) return {};
    }
}

std::int64_t Stmt::i64(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }

std::uint64_t Stmt::u64(int col) const noexcept {
    return static_cast<std::uint64_t>(sqlite3_column_int64(stmt_, col));
}

bool Stmt::is_null(int col) const noexcept {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

crypto::ByteView Stmt::blob(int col) const noexcept {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    if (p == nullptr || n <= 0) return {};
    return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

std::string_view Stmt::text(int col) const noexcept {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    if (p == nullptr || n <= 0) return {};
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

// ---- Database ----

void Database::Closer::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

void Database::Finalizer::operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }

Result<Database> Database::open(const std::string& path, const Options& options,
                                std::string* detail) {
    sqlite3* raw = nullptr;
    const int flags =
        (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
        SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Database db(raw);  // owns the handle even when opening failed
    if (rc != SQLITE_OK) {
        if (detail != nullptr)
            *detail = "cannot open " + path + ": " +
                      (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
        const Error e = error_from_sqlite(rc);
        return e == Error::sqlite ? Error::open_failed : e;
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, options.busy_timeout_ms);

    std::string pragmas = "PRAGMA cache_size = -" + std::to_string(options.cache_kib) + ";";
    pragmas += "PRAGMA temp_store = MEMORY;";
    // The first statement that reads the file: a file that is not SQLite fails here.
    if (!options.read_only) {
        pragmas += "PRAGMA journal_mode = WAL;";
        pragmas += "PRAGMA journal_size_limit = 67108864;";
    }
    pragmas +=
        options.sync == Sync::full ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;";
    if (auto r = db.exec(pragmas); !r) {
        if (detail != nullptr) *detail = "cannot open " + path + ": " + db.last_error();
        return r.error();
    }
    return db;
}

Database::Database(Database&& other) noexcept
    : db_(std::move(other.db_)),
      statements_(std::move(other.statements_)),
      last_error_(std::move(other.last_error_)) {}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        statements_.clear();
        db_ = std::move(other.db_);
        statements_ = std::move(other.statements_);
        last_error_ = std::move(other.last_error_);
    }
    return *this;
}

Database::~Database() { statements_.clear(); }

Error Database::fail(int rc) noexcept {
    try {
        last_error_ = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
    } catch (...) {
        // Out of memory while copying the message: keep the code, lose the text.
    }
    return error_from_sqlite(rc);
}

Result<void> Database::exec(std::string_view sql) noexcept {
    std::string copy;
    try {
        copy.assign(sql);
    } catch (...) {
        return Error::sqlite;
    }
    char* message = nullptr;
    const int rc = sqlite3_exec(db_.get(), copy.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        const Error e = fail(rc);
        if (message != nullptr) {
            try {
                last_error_ = message;
            } catch (...) {
            }
        }
        sqlite3_free(message);
        return e;
    }
    return {};
}

Result<Stmt> Database::prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        sqlite3_stmt* raw = nullptr;
        const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
        if (rc != SQLITE_OK || raw == nullptr) {
            sqlite3_finalize(raw);
            const Error e = rc != SQLITE_OK ? fail(rc) : Error::sqlite;
            last_error_ += " in: " + std::string(sql);
            return e;
        }
        it = statements_.emplace(std::string(sql), raw).first;
    } else if (sqlite3_stmt_busy(it->second.get()) != 0) {
        last_error_ = "statement already in use: " + std::string(sql);
        return Error::sqlite;
    }
    return Stmt(*this, it->second.get());
}

Result<void> Database::set_sync(Sync sync) noexcept {
    return exec(sync == Sync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

std::int64_t Database::last_insert_rowid() const noexcept {
    return sqlite3_last_insert_rowid(db_.get());
}

std::int64_t Database::changes() const noexcept { return sqlite3_changes64(db_.get()); }

bool Database::in_transaction() const noexcept { return sqlite3_get_autocommit(db_.get()) == 0; }

// ---- Transaction ----

Result<Transaction> Transaction::begin(Database& db, Mode mode) {
    auto st = db.prepare(mode == Mode::write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
    if (!st) return st.error();
    if (auto r = st->run(); !r) return r.error();
    return Transaction(db);
}

Transaction::~Transaction() {
    if (db_ == nullptr || !db_->in_transaction()) return;
    // ROLLBACK can only fail when no transaction is open; nothing else to do here.
    (void)db_->exec("ROLLBACK");
}

Result<void> Transaction::commit() {
    if (db_ == nullptr) return Error::invalid_argument;
    Database* db = db_;
    auto st = db->prepare("COMMIT");
    if (!st) return st.error();
    if (auto r = st->run(); !r) return r.error();  // destructor rolls back
    db_ = nullptr;
    return {};
}

std::int64_t sqlite_memory_used() noexcept { return sqlite3_memory_used(); }

std::int64_t sqlite_memory_highwater() noexcept { return sqlite3_memory_highwater(0); }

}  // namespace ferry::storage

// Proves the SQLite layer: WAL files, statement cache and reset, rollback unless committed,
// versioned schema (newer refused, foreign and non-SQLite files refused) and the error category.
#include "storage/sqlite.hpp"
#include "storage/error.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_queue.hpp"
#include "tests/storage/helpers.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <set>

using namespace ferry::storage;
using namespace ferry::test;

namespace {

int live_statements(Database& db) {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db.raw(), nullptr); s != nullptr;
         s = sqlite3_next_stmt(db.raw(), s))
        ++n;
    return n;
}

int busy_statements(Database& db) {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db.raw(), nullptr); s != nullptr;
         s = sqlite3_next_stmt(db.raw(), s))
        n += sqlite3_stmt_busy(s) != 0 ? 1 : 0;
    return n;
}

std::int64_t scalar(Database& db, std::string_view sql) {
    auto st = db.prepare(sql);
    EXPECT_TRUE(st) << db.last_error();
    if (!st) return -1;
    auto row = st->step();
    EXPECT_TRUE(row && *row) << db.last_error();
    return row && *row ? st->i64(0) : -1;
}

std::string text_scalar(Database& db, std::string_view sql) {
    auto st = db.prepare(sql);
    if (!st) return {};
    auto row = st->step();
    return row && *row ? std::string(st->text(0)) : std::string();
}

TEST(sqlite, file_database_runs_in_wal_mode) {
    TempDir dir;
    auto db = Database::open(dir.file("wal.sqlite"), {});
    ASSERT_TRUE(db);
    EXPECT_EQ(text_scalar(*db, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(scalar(*db, "PRAGMA synchronous"), 1);  // NORMAL
    ASSERT_TRUE(db->set_sync(Sync::full));
    EXPECT_EQ(scalar(*db, "PRAGMA synchronous"), 2);  // FULL
}

TEST(sqlite, transaction_rolls_back_unless_committed) {
    auto db = Database::open(":memory:", {});
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)"));
    {
        auto tx = Transaction::begin(*db);
        ASSERT_TRUE(tx);
        EXPECT_TRUE(db->in_transaction());
        ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
    }
    EXPECT_FALSE(db->in_transaction());
    EXPECT_EQ(scalar(*db, "SELECT count(*) FROM t"), 0);
    {
        auto tx = Transaction::begin(*db);
        ASSERT_TRUE(tx);
        ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)"));
        ASSERT_TRUE(tx->commit());
    }
    EXPECT_EQ(scalar(*db, "SELECT count(*) FROM t"), 1);
}

TEST(sqlite, prepared_statements_are_compiled_once_and_reset_after_use) {
    auto db = Database::open(":memory:", {});
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)"));
    const int before = live_statements(*db);
    for (int i = 0; i < 5; ++i) {
        auto st = db->prepare("SELECT x FROM t ORDER BY x");
        ASSERT_TRUE(st);
        auto row = st->step();  // leave the SELECT half-read
        ASSERT_TRUE(row && *row);
        EXPECT_EQ(st->i64(0), 1);
        EXPECT_EQ(busy_statements(*db), 1);
    }
    EXPECT_EQ(live_statements(*db), before + 1);
    EXPECT_EQ(busy_statements(*db), 0);
}

TEST(sqlite, a_bad_bind_or_bad_sql_is_an_error_not_a_crash) {
    auto db = Database::open(":memory:", {});
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)"));
    auto st = db->prepare("INSERT INTO t VALUES (?1)");
    ASSERT_TRUE(st);
    st->bind(7, std::int64_t{1});
    auto r = st->run();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::sqlite);

    auto bad = db->prepare("SELEC nonsense");
    ASSERT_FALSE(bad);
    EXPECT_NE(db->last_error().find("syntax error"), std::string::npos);
}

TEST(schema, a_new_database_gets_the_current_version_and_ferry_application_id) {
    TempDir dir;
    const auto path = dir.file("new.sqlite");
    ASSERT_TRUE(SqliteQueue::open(path));
    auto db = Database::open(path, {});
    ASSERT_TRUE(db);
    EXPECT_EQ(scalar(*db, "SELECT version FROM schema_version"), kSchemaVersion);
    EXPECT_EQ(scalar(*db, "PRAGMA application_id"), 0x46525259);  // "FRRY"
    auto v = schema_version(*db);
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, kSchemaVersion);
    // Reopening migrates nothing and keeps the version.
    auto again = migrate(*db);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, kSchemaVersion);
}

TEST(schema, a_database_from_a_newer_version_is_refused_untouched) {
    TempDir dir;
    const auto path = dir.file("newer.sqlite");
    {
        auto q = SqliteQueue::open(path);
        ASSERT_TRUE(q);
        ASSERT_TRUE((*q)->database().exec("UPDATE schema_version SET version = 99"));
    }
    std::string detail;
    auto q = SqliteQueue::open(path, {}, &detail);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), Error::schema_too_new);
    EXPECT_NE(detail.find("99"), std::string::npos) << detail;
    auto db = Database::open(path, {});
    ASSERT_TRUE(db);
    EXPECT_EQ(scalar(*db, "SELECT version FROM schema_version"), 99);
}

TEST(schema, another_applications_sqlite_file_is_refused) {
    TempDir dir;
    const auto path = dir.file("foreign.sqlite");
    {
        auto db = Database::open(path, {});
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("CREATE TABLE wallet (key BLOB, value BLOB)"));
    }
    std::string detail;
    auto q = SqliteQueue::open(path, {}, &detail);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), Error::foreign_database);
    EXPECT_FALSE(detail.empty());
}

TEST(schema, a_file_that_is_not_sqlite_is_refused) {
    TempDir dir;
    const auto path = dir.file("garbage.sqlite");
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < 4096; ++i) out.put('x');
    }
    std::string detail;
    auto q = SqliteQueue::open(path, {}, &detail);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), Error::not_a_database);
    EXPECT_FALSE(detail.empty());
}

TEST(schema, a_path_that_cannot_be_created_is_open_failed) {
    TempDir dir;
    std::string detail;
    auto q = SqliteQueue::open(dir.file("no/such/dir/q.sqlite"), {}, &detail);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), Error::open_failed);
    EXPECT_NE(detail.find("no/such/dir"), std::string::npos) << detail;
}

TEST(storage_error, category_is_named_and_every_code_has_its_own_message) {
    EXPECT_STREQ(error_category().name(), "ferry.storage");
    const boost::system::error_code ec = Error::illegal_transition;
    EXPECT_EQ(ec.category(), error_category());
    EXPECT_EQ(ec, Error::illegal_transition);
    std::set<std::string> messages;
    for (int e = static_cast<int>(Error::open_failed); e <= static_cast<int>(Error::receipt_exists);
         ++e) {
        const auto m = error_category().message(e);
        EXPECT_EQ(m.find("unknown"), std::string::npos) << e;
        messages.insert(m);
    }
    EXPECT_EQ(messages.size(), static_cast<std::size_t>(static_cast<int>(Error::receipt_exists)));
}

TEST(storage_error, sqlite_codes_map_to_storage_errors) {
    EXPECT_EQ(error_from_sqlite(SQLITE_BUSY), Error::busy);
    EXPECT_EQ(error_from_sqlite(SQLITE_BUSY_SNAPSHOT), Error::busy);
    EXPECT_EQ(error_from_sqlite(SQLITE_CORRUPT), Error::corrupt);
    EXPECT_EQ(error_from_sqlite(SQLITE_NOTADB), Error::not_a_database);
    EXPECT_EQ(error_from_sqlite(SQLITE_FULL), Error::disk_full);
    EXPECT_EQ(error_from_sqlite(SQLITE_IOERR_FSYNC), Error::io);
    EXPECT_EQ(error_from_sqlite(SQLITE_CONSTRAINT), Error::sqlite);
}

}  // namespace

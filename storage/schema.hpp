// The queue's versioned SQLite schema and its forward-only migrations.
#pragma once

#include "storage/error.hpp"
#include "storage/sqlite.hpp"

#include <cstdint>
#include <string>

namespace ferry::storage {

/// The schema version this build writes. Migration n (1-based) takes a database from version
/// n − 1 to n; version 0 is an empty file.
inline constexpr std::int64_t kSchemaVersion = 2;

/// PRAGMA application_id of a Ferry queue ("FRRY"), so a foreign SQLite file is refused.
inline constexpr std::int64_t kApplicationId = 0x46525259;

/// Reads the schema version of an open database: 0 when it has no Ferry schema yet.
/// Returns foreign_database when the file belongs to another application.
Result<std::int64_t> schema_version(Database& db, std::string* detail = nullptr);

/// Brings `db` to kSchemaVersion, each migration in its own transaction (a crash leaves the
/// database at the previous version). Returns the version found before migrating.
/// Fails with schema_too_new when the file is newer than this build, without touching it.
Result<std::int64_t> migrate(Database& db, std::string* detail = nullptr);

}  // namespace ferry::storage

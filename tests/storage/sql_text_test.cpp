// Proves that the queue's SQL state constants join into exact text and agree with the schema's
// CHECK constraints and partial indexes, which store the same numbers.
#include "storage/sql_text.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

using namespace ferry::storage;

namespace {

// The CREATE statement SQLite keeps for a table or index of a migrated in-memory database.
std::string schema_of(Database& db, std::string_view name) {
    auto st = db.prepare("SELECT sql FROM sqlite_master WHERE name = ?1");
    EXPECT_TRUE(st) << db.last_error();
    if (!st) return {};
    st->bind_text(1, name);
    auto row = st->step();
    EXPECT_TRUE(row && *row) << name;
    return row && *row ? std::string(st->text(0)) : std::string();
}

Database migrated() {
    auto db = Database::open(":memory:", {});
    EXPECT_TRUE(db);
    EXPECT_TRUE(migrate(*db));
    return std::move(*db);
}

}  // namespace

TEST(sql_text, cat_joins_literals_and_state_constants_exactly) {
    constexpr auto text = sql::cat("state IN (", sql::kPending, ") AND state != ", sql::kDead);
    EXPECT_EQ(text.view(), "state IN (0, 1, 2, 4) AND state != 5");
    static_assert(sql::number(sql::kExpired) == 7);
    static_assert(sql::number(sql::Text{"x1"}) == -1);
}

TEST(sql_text, schema_partial_indexes_use_the_same_state_numbers) {
    auto db = migrated();
    const struct {
        std::string_view index;
        std::string where;
    } cases[] = {
        {"packets_retry", std::string(sql::cat("WHERE state = ", sql::kFailed).view())},
        {"packets_pending_age",
         std::string(sql::cat("WHERE state IN (", sql::kPending, ")").view())},
        {"packets_expiry",
         std::string(
             sql::cat("WHERE state IN (", sql::kObserved, ", ", sql::kAttested, ")").view())},
        {"packets_prunable",
         std::string(sql::cat("WHERE state = ", sql::kDelivered, " AND pruned = 0").view())},
        {"deliveries_live", std::string(sql::cat("WHERE state = ", sql::kLive).view())},
        {"deliveries_finished",
         std::string(
             sql::cat("WHERE state IN (", sql::kDropped, ", ", sql::kDeliveryFailed, ")").view())},
        {"deliveries_unconfirmed",
         std::string(sql::cat("WHERE state = ", sql::kMined, " AND confirmed = 0").view())},
    };
    for (const auto& c : cases)
        EXPECT_NE(schema_of(db, c.index).find(c.where), std::string::npos)
            << c.index << " lacks " << c.where;
}

TEST(sql_text, schema_checks_span_every_state) {
    auto db = migrated();
    EXPECT_NE(
        schema_of(db, "packets")
            .find(sql::cat("CHECK (state BETWEEN ", sql::kObserved, " AND ", sql::kExpired, ")")),
        std::string::npos);
    EXPECT_NE(schema_of(db, "deliveries")
                  .find(sql::cat("CHECK (state BETWEEN ", sql::kLive, " AND ", sql::kDeliveryFailed,
                                 ")")),
              std::string::npos);
}

// Cursor-mode incremental sync (`sync --changes` for an entity with `cursor:` and no change
// log) over every engine pair: the first run copies whole; later runs read rows past the
// position in (cursor, key) order; the position stops at the newest cursor minus the lag, so a
// row that commits late with an older cursor is still read; deletes are not seen (a full sync
// finds them); a row-version integer cursor works the same way; a missing cursor column is named.
#include <gtest/gtest.h>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class CursorTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(
        "CREATE TABLE product (id INTEGER PRIMARY KEY, name TEXT, rev INTEGER NOT NULL, "
        "updated_at DATETIME NOT NULL)");
    Source(R"(INSERT INTO product VALUES (1, 'one', 1, '2025-01-01 10:00:01'),
                                         (2, 'two', 1, '2025-01-01 10:00:02'),
                                         (3, 'three', 1, '2025-01-01 10:00:03'))");
  }
  void UseCursor(const std::string& cursor) {
    Configure(
        "entities:\n  product: { table: product, keys: identity, delete: propagate, "
        "cursor: " +
        cursor + " }\n" + Pipeline("product", "    batch_size: 2\n"));
  }
  Result<SyncReport> SyncChanges() {
    SyncRequest req;
    req.mode = SyncMode::kChanges;
    return Sync(req);
  }
  static constexpr char kRows[] = "SELECT id, name, rev, updated_at FROM product ORDER BY id";
};

TEST_P(CursorTest, ReadsWhatMovedPastThePositionAndWhatCommittedLate) {
  UseCursor("{ column: updated_at, lag: 2s }");
  auto first = SyncChanges();
  ASSERT_OK(first);
  EXPECT_EQ(CountsOf(*first, "product"), (RunCounts{.read = 3, .inserted = 3}));
  Source(R"(
    UPDATE product SET name = 'uno', updated_at = '2025-01-01 11:00:00' WHERE id = 1;
    INSERT INTO product VALUES (4, 'four', 1, '2025-01-01 11:00:05');
  )");
  auto second = SyncChanges();
  ASSERT_OK(second);
  // From the first position (10:00:03 - 2 s): 2 and 3 again, then 1 and 4.
  EXPECT_EQ(CountsOf(*second, "product"),
            (RunCounts{.read = 4, .inserted = 1, .updated = 1, .unchanged = 2}));
  EXPECT_EQ(Dst(kRows), Src(kRows));
  // Committed after that run, with a cursor older than the newest one but inside the lag.
  Source("INSERT INTO product VALUES (5, 'five', 1, '2025-01-01 11:00:02')");
  auto late = SyncChanges();
  ASSERT_OK(late);
  EXPECT_EQ(CountsOf(*late, "product"), (RunCounts{.read = 2, .inserted = 1, .unchanged = 1}));
  EXPECT_EQ(Dst(kRows), Src(kRows));
}

TEST_P(CursorTest, DeletesAreNotSeenUntilAFullSync) {
  UseCursor("updated_at");
  ASSERT_OK(SyncChanges());
  Source("DELETE FROM product WHERE id = 2");
  auto incremental = SyncChanges();
  ASSERT_OK(incremental);
  EXPECT_EQ(CountsOf(*incremental, "product").deleted, 0);
  EXPECT_EQ(Dst("SELECT count(*) FROM product"), std::vector<std::string>{"3"});
  auto full = Sync();
  ASSERT_OK(full);
  EXPECT_EQ(CountsOf(*full, "product").deleted, 1);
  EXPECT_EQ(Dst(kRows), Src(kRows));
}

TEST_P(CursorTest, ARowVersionCursorWorksTheSameWay) {
  UseCursor("rev");
  ASSERT_OK(SyncChanges());
  Source("UPDATE product SET name = 'TWO', rev = 2 WHERE id = 2");
  auto report = SyncChanges();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "product").updated, 1);
  EXPECT_EQ(Dst(kRows), Src(kRows));
  auto idle = SyncChanges();
  ASSERT_OK(idle);
  EXPECT_EQ(CountsOf(*idle, "product").updated, 0);
}

TEST_P(CursorTest, AMissingCursorColumnIsNamed) {
  UseCursor("changed_on");
  auto report = SyncChanges();
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(Contains(report.status().message(), "cursor column 'changed_on'"))
      << report.status().ToString();
}

TETHER_ALL_PAIRS(CursorTest);

}  // namespace
}  // namespace tether::testing

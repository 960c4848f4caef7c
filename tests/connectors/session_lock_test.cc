// Connector::TryLock / ReleaseLock and DatabaseMark / SameDatabase, on every engine: what makes
// one run per pipeline, and a pipeline from a database into itself refused.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "connectors/connector.h"
#include "util/test_database.h"
#include "util/test_util.h"

namespace tether {
namespace {

using testing::AllEngines;
using testing::TestDatabase;

// "yes", "no", or the error: what a failed expectation shows.
std::string Says(const Result<bool>& r) {
  if (!r.ok()) return r.status().ToString();
  return *r ? "yes" : "no";
}

class SessionLockTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_TRUE(db_.ok()); }
  std::unique_ptr<Connector> Open() { return db_.Open(); }
  TestDatabase db_{GetParam()};
};

TEST_P(SessionLockTest, ALockIsHeldByOneSessionAtATime) {
  auto a = Open(), b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_EQ(Says(a->TryLock("pipeline:p")), "yes");
  EXPECT_EQ(Says(a->TryLock("pipeline:p")), "yes") << "taking it again is fine";
  EXPECT_EQ(Says(b->TryLock("pipeline:p")), "no");
  EXPECT_EQ(Says(b->TryLock("pipeline:q")), "yes") << "another name is another lock";
  ASSERT_OK(a->ReleaseLock("pipeline:p"));
  EXPECT_EQ(Says(b->TryLock("pipeline:p")), "yes");
  EXPECT_EQ(Says(a->TryLock("pipeline:p")), "no");
}

TEST_P(SessionLockTest, ClosingTheSessionReleasesItsLocks) {
  auto a = Open(), b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_EQ(Says(a->TryLock("pipeline:p")), "yes");
  a.reset();
  // The server ends a closed session on its own time (MariaDB a moment after the client quits).
  std::string got;
  for (int i = 0; i < 100 && (got = Says(b->TryLock("pipeline:p"))) == "no"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(got, "yes");
}

TEST_P(SessionLockTest, LocksOfDifferentDatabasesNeverMeet) {
  TestDatabase other(GetParam());
  ASSERT_TRUE(other.ok());
  auto a = Open(), b = other.Open();
  ASSERT_TRUE(a && b);
  ASSERT_EQ(Says(a->TryLock("pipeline:p")), "yes");
  EXPECT_EQ(Says(b->TryLock("pipeline:p")), "yes");
}

TEST_P(SessionLockTest, ASessionKnowsItsOwnDatabaseAndNoOther) {
  TestDatabase other(GetParam());
  ASSERT_TRUE(other.ok());
  auto a = Open(), b = Open(), c = other.Open();
  ASSERT_TRUE(a && b && c);
  Result<std::string> mark = a->DatabaseMark();
  ASSERT_OK(mark);
  EXPECT_EQ(Says(b->SameDatabase(*mark)), "yes");
  EXPECT_EQ(Says(a->SameDatabase(*mark)), "yes");
  EXPECT_EQ(Says(c->SameDatabase(*mark)), "no");
  // Nor is a database of another engine, nor text that is no mark.
  for (const std::string& engine : AllEngines()) {
    if (engine == GetParam()) continue;
    TestDatabase foreign(engine);
    ASSERT_TRUE(foreign.ok());
    auto f = foreign.Open();
    ASSERT_TRUE(f);
    EXPECT_EQ(Says(f->SameDatabase(*mark)), "no") << engine;
    Result<std::string> foreign_mark = f->DatabaseMark();
    ASSERT_OK(foreign_mark);
    EXPECT_EQ(Says(a->SameDatabase(*foreign_mark)), "no") << engine;
  }
  EXPECT_EQ(Says(a->SameDatabase("not a mark")), "no");
}

INSTANTIATE_TEST_SUITE_P(Engines, SessionLockTest, ::testing::ValuesIn(AllEngines()));

TEST(SqliteSessionLockTest, OneFileThroughAnyPathIsOneDatabase) {
  testing::TempDir dir;
  testing::SqliteExec(dir.File("shop.db"), "CREATE TABLE t (id INTEGER PRIMARY KEY)");
  std::filesystem::create_symlink(dir.File("shop.db"), dir.File("link.db"));
  auto a = OpenConnector("a", "sqlite:" + dir.File("shop.db"));
  auto b = OpenConnector("b", "sqlite:" + dir.path().string() + "/./link.db");
  ASSERT_OK(a);
  ASSERT_OK(b);
  Result<std::string> mark = (*a)->DatabaseMark();
  ASSERT_OK(mark);
  EXPECT_EQ(Says((*b)->SameDatabase(*mark)), "yes");
  ASSERT_EQ(Says((*a)->TryLock("pipeline:p")), "yes");
  EXPECT_EQ(Says((*b)->TryLock("pipeline:p")), "no");
}

TEST(PostgresSessionLockTest, TwoSchemasOfOneDatabaseAreTwoDatabases) {
  TestDatabase db("postgres");
  ASSERT_TRUE(db.ok());
  db.Exec("CREATE SCHEMA a; CREATE SCHEMA b");
  auto a = OpenConnector("a", db.url() + "?schema=a");
  auto b = OpenConnector("b", db.url() + "?schema=b");
  auto a2 = OpenConnector("a2", db.url() + "?schema=a");
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(a2);
  Result<std::string> mark = (*a)->DatabaseMark();
  ASSERT_OK(mark);
  EXPECT_EQ(Says((*b)->SameDatabase(*mark)), "no");
  EXPECT_EQ(Says((*a2)->SameDatabase(*mark)), "yes");
  // Each schema holds its own tether tables, so its own pipeline locks.
  ASSERT_EQ(Says((*a)->TryLock("pipeline:p")), "yes");
  EXPECT_EQ(Says((*b)->TryLock("pipeline:p")), "yes");
  EXPECT_EQ(Says((*a2)->TryLock("pipeline:p")), "no");
}

}  // namespace
}  // namespace tether

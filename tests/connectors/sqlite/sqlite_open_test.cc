#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SqliteOpenTest, MissingFileWithoutCreateIsAConnectionError) {
  testing::TempDir dir;
  const std::string path = dir.File("missing.db");
  auto c = OpenConnector("live", "sqlite:" + path);
  ASSERT_CODE(c, StatusCode::kConnection);
  EXPECT_TRUE(Contains(c.status().message(), "live")) << c.status().message();
  EXPECT_TRUE(Contains(c.status().message(), path)) << c.status().message();
  EXPECT_FALSE(std::filesystem::exists(path)) << "opening must not create the file";
}

TEST(SqliteOpenTest, CreateMakesTheFile) {
  testing::TempDir dir;
  const std::string path = dir.File("new.db");
  auto c = OpenConnector("live", "sqlite:" + path + "?create=1");
  ASSERT_OK(c);
  ASSERT_OK((*c)->Ping());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE((*c)->capabilities().transactions);
  EXPECT_TRUE((*c)->capabilities().generated_keys);
  EXPECT_TRUE((*c)->capabilities().state_store);
}

TEST(SqliteOpenTest, AcceptsDoubleSlashForm) {
  testing::TempDir dir;
  const std::string path = dir.File("slash.db");  // absolute: sqlite:///tmp/...
  ASSERT_OK(OpenConnector("live", "sqlite://" + path + "?create=1&busy_timeout_ms=250"));
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(SqliteOpenTest, NotADatabaseIsAConnectionError) {
  testing::TempDir dir;
  const std::string path = dir.File("notes.txt");
  testing::WriteFile(path, std::string(4096, 'x') + "this is not a database\n");
  auto c = OpenConnector("live", "sqlite:" + path);
  ASSERT_CODE(c, StatusCode::kConnection);
  EXPECT_TRUE(Contains(c.status().message(), path)) << c.status().message();
}

TEST(SqliteOpenTest, UnreadableFileIsReported) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  testing::TempDir dir;
  const std::string path = dir.File("secret.db");
  testing::SqliteExec(path, "CREATE TABLE t(x)");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  auto c = OpenConnector("live", "sqlite:" + path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().code() == StatusCode::kPermissionDenied ||
              c.status().code() == StatusCode::kConnection)
      << c.status().ToString();
  EXPECT_TRUE(Contains(c.status().message(), path)) << c.status().message();
}

TEST(SqliteOpenTest, LockedDatabaseIsBusy) {
  testing::TempDir dir;
  const std::string path = dir.File("locked.db");
  testing::SqliteExec(path, "CREATE TABLE t(x)");
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto c = OpenConnector("live", "sqlite:" + path + "?busy_timeout_ms=100");
  ASSERT_CODE(c, StatusCode::kBusy);
  EXPECT_TRUE(c.status().IsRetryable());

  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  ASSERT_OK(OpenConnector("live", "sqlite:" + path + "?busy_timeout_ms=100"));
}

TEST(SqliteOpenTest, BeginFailsFastWhenAnotherWriterHoldsTheLock) {
  testing::TempDir dir;
  const std::string path = dir.File("writer.db");
  testing::SqliteExec(path, "CREATE TABLE t(x)");
  auto c = OpenConnector("live", "sqlite:" + path + "?busy_timeout_ms=100");
  ASSERT_OK(c);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_CODE((*c)->Begin(), StatusCode::kBusy);
  ASSERT_CODE((*c)->Insert("t", {"x"}, {{Value::Int(1)}}, {}), StatusCode::kBusy);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  ASSERT_OK((*c)->Begin());
  ASSERT_OK((*c)->Commit());
}

TEST(SqliteOpenTest, ReadOnlyModeRefusesWrites) {
  testing::TempDir dir;
  const std::string path = dir.File("ro.db");
  testing::SqliteExec(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  auto c = OpenConnector("live", "sqlite:" + path + "?mode=ro");
  ASSERT_OK(c);
  auto rows = (*c)->Lookup({"t", {"x"}, {"x"}, {{Value::Int(1)}}});
  ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 1u);
  auto inserted = (*c)->Insert("t", {"x"}, {{Value::Int(2)}}, {});
  ASSERT_CODE(inserted, StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(inserted.status().message(), "live")) << inserted.status().message();
  ASSERT_CODE((*c)->ExecuteScript("DELETE FROM t"), StatusCode::kPermissionDenied);
  EXPECT_EQ(testing::SqliteRows(path, "SELECT x FROM t"), std::vector<std::string>{"1"});
}

TEST(SqliteOpenTest, ReadOnlyModeWithCreateIsAConfigError) {
  testing::TempDir dir;
  ASSERT_CODE(OpenConnector("live", "sqlite:" + dir.File("x.db") + "?mode=ro&create=1"),
              StatusCode::kConfig);
}

TEST(SqliteOpenTest, UnknownOrBadOptionIsAConfigError) {
  testing::TempDir dir;
  const std::string path = dir.File("x.db");
  auto c = OpenConnector("live", "sqlite:" + path + "?create=1&journal=wal");
  ASSERT_CODE(c, StatusCode::kConfig);
  EXPECT_TRUE(Contains(c.status().message(), "journal")) << c.status().message();
  EXPECT_TRUE(Contains(c.status().message(), "live")) << c.status().message();
  ASSERT_CODE(OpenConnector("live", "sqlite:" + path + "?busy_timeout_ms=soon"),
              StatusCode::kConfig);
  ASSERT_CODE(OpenConnector("live", "sqlite:" + path + "?mode=rwx"), StatusCode::kConfig);
  ASSERT_CODE(OpenConnector("live", "sqlite:?create=1"), StatusCode::kConfig);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SqliteOpenTest, ForeignKeysAreEnforced) {
  testing::TempDir dir;
  const std::string path = dir.File("fk.db");
  auto c = testing::OpenSqlite(path);
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->ExecuteScript(
      "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
      "CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id));"));
  ASSERT_CODE(c->Insert("child", {"id", "parent_id"}, {{Value::Int(1), Value::Int(99)}}, {}),
              StatusCode::kConstraint);
}

TEST(SqliteOpenTest, LeavesTheJournalModeAlone) {
  testing::TempDir dir;
  const std::string path = dir.File("wal.db");
  testing::SqliteExec(path, "PRAGMA journal_mode=WAL; CREATE TABLE t(x);");
  {
    auto c = testing::OpenSqlite(path);
    ASSERT_NE(c, nullptr);
    ASSERT_OK(c->Insert("t", {"x"}, {{Value::Int(1)}}, {}));
  }
  EXPECT_EQ(testing::SqliteRows(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

}  // namespace
}  // namespace tether

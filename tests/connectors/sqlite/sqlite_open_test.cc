#include <grp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether {
namespace {

using testing::Contains;

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
  EXPECT_FALSE((*c)->capabilities().read_ahead);
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

// Opens `path` through OpenConnector as `nobody` (uid 65534) when running as root, in a forked
// child that drops its privileges and reports the status code as its exit code and the message
// through a pipe; as the current user otherwise.
std::pair<StatusCode, std::string> OpenAsUnprivileged(const std::string& path) {
  constexpr uid_t kNobody = 65534;
  if (geteuid() != 0) {
    auto c = OpenConnector("live", "sqlite:" + path);
    return {c.status().code(), c.status().message()};
  }
  int fds[2];
  if (pipe(fds) != 0) return {StatusCode::kInternal, "pipe failed"};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0 ||
        geteuid() != kNobody) {
      _exit(200);
    }
    auto c = OpenConnector("live", "sqlite:" + path);
    const std::string message = c.status().message();
    if (write(fds[1], message.data(), message.size()) < 0) _exit(201);
    close(fds[1]);
    _exit(static_cast<int>(c.status().code()));
  }
  close(fds[1]);
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) message.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return {StatusCode::kInternal, "child died"};
  if (WEXITSTATUS(status) >= 200) {
    return {StatusCode::kInternal,
            "could not become uid 65534: " + std::to_string(WEXITSTATUS(status))};
  }
  return {static_cast<StatusCode>(WEXITSTATUS(status)), message};
}

TEST(SqliteOpenTest, UnreadableFileIsReported) {
  // As root, the open runs as `nobody` (uid 65534), for whom the file and its folder are closed.
  testing::TempDir dir;
  const std::string path = dir.File("secret.db");
  testing::SqliteExec(path, "CREATE TABLE t(x)");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);

  // The folder can be entered but not listed: the file is found, and cannot be opened.
  ASSERT_EQ(chmod(dir.path().c_str(), 0711), 0);
  auto [code, message] = OpenAsUnprivileged(path);
  EXPECT_TRUE(code == StatusCode::kPermissionDenied || code == StatusCode::kConnection)
      << StatusCodeName(code) << ": " << message;
  EXPECT_TRUE(Contains(message, path)) << message;
  EXPECT_TRUE(Contains(message, "live")) << message;

  // The folder cannot even be entered.
  ASSERT_EQ(chmod(dir.path().c_str(), 0700), 0);
  std::tie(code, message) = OpenAsUnprivileged(path);
  EXPECT_TRUE(code == StatusCode::kPermissionDenied || code == StatusCode::kConnection)
      << StatusCodeName(code) << ": " << message;
  EXPECT_TRUE(Contains(message, path)) << message;
  EXPECT_TRUE(Contains(message, "live")) << message;

  // Neither attempt created or changed anything.
  EXPECT_EQ(testing::SqliteRows(path, "SELECT count(*) FROM sqlite_master"),
            std::vector<std::string>{"1"});
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

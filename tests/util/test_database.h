// Fresh databases for tests on every engine: a SQLite file, or a new database on the throwaway
// PostgreSQL / MariaDB servers that scripts/test-servers.sh starts (scripts/test.sh does so and
// exports TETHER_TEST_PG_URL / TETHER_TEST_MYSQL_URL). A test that needs a server it cannot get
// fails; nothing is skipped. Used from test threads only.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "util/test_util.h"

namespace tether::testing {

// The engines the matrix tests run over.
inline const std::vector<std::string>& AllEngines() {
  static const std::vector<std::string> kEngines = {"sqlite", "postgres", "mysql"};
  return kEngines;
}

// The administrator URL of the test server for "postgres" or "mysql". Adds a test failure and
// returns "" when the variable is not set.
std::string ServerUrl(std::string_view engine);

// `url` with its database (the URL path) replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database);

// A new empty database, dropped when the object dies (PostgreSQL: an emptied database from a
// pool on the server, given back when the object dies; see test_database.cc).
class TestDatabase {
 public:
  explicit TestDatabase(std::string engine);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& engine() const { return engine_; }
  const std::string& name() const { return name_; }
  // What tether.yaml's `url:` takes.
  const std::string& url() const { return url_; }

  // A connector to it (nullptr and a test failure when that fails).
  std::unique_ptr<Connector> Open(const std::string& connection_name = "test") const;
  // Runs trusted SQL; a test failure names the statement when it fails.
  void Exec(const std::string& sql) const;
  // The rows of a query (a test failure names the statement when it fails).
  Result<std::vector<Row>> Query(const std::string& sql, const Row& params = {}) const;
  // The rows of a query, each as its values' text joined by '|' (NULL as "NULL").
  std::vector<std::string> Rows(const std::string& sql, const Row& params = {}) const;

 private:
  void ClaimPooled(const std::string& admin_url);
  // Runs `use` on the connection Exec and Query share. On a server it is opened on first use and
  // kept: a test runs a dozen statements or more, and a new session each time cost the servers
  // most of their CPU in the test run. A statement that fails takes the connection with it (no
  // session state or broken transaction is left for the next one), and one that failed on a
  // kept connection because the server had dropped it (a restart) runs once more on a new one.
  // SQLite opens a connection each time: that costs nothing, and tests replace and lock the file.
  Status WithConnection(const std::function<Status(Connector&)>& use) const;

  std::string engine_;
  std::string name_;
  std::string url_;
  std::unique_ptr<TempDir> dir_;  // SQLite only
  int pool_lock_ = -1;            // PostgreSQL: the descriptor holding the pool slot's lock
  mutable std::mutex mu_;         // guards kept_
  mutable std::unique_ptr<Connector> kept_;  // servers: the connection WithConnection keeps
};

// Test SQL is written in SQLite's dialect; this rewrites the few types that differ, so one DDL
// serves every engine: INTEGER PRIMARY KEY (generated) -> identity / AUTO_INCREMENT; REAL (a
// double) -> DOUBLE PRECISION / DOUBLE; BLOB -> BYTEA / LONGBLOB; DATETIME -> TIMESTAMP;
// TEXT -> VARCHAR(255) and INTEGER -> BIGINT in MySQL (which cannot index TEXT, and whose
// foreign keys need the parent's exact type). On PostgreSQL, statements that
// insert explicit ids are followed by moving the identity sequences past them, as a real
// database's would be.
std::string PortableSql(const std::string& engine, const std::string& sql);

// The rows of a query on any engine as SQLite's shell would print them ('|'-joined, NULL as
// "NULL", booleans 1/0, whole doubles as "10.0", decimals without trailing zeros), so one
// expectation holds for every engine.
std::vector<std::string> PortableRows(const TestDatabase& db, const std::string& sql);

// The tables of a test database, sorted.
std::vector<std::string> TableNames(const TestDatabase& db);
// Every row of every table (sorted within each table), as one string.
std::string Snapshot(const TestDatabase& db);

}  // namespace tether::testing

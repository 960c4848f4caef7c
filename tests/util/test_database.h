// Fresh databases for tests on every engine: a SQLite file, or a new database on the throwaway
// PostgreSQL / MariaDB servers that scripts/test-servers.sh starts (scripts/test.sh does so and
// exports TETHER_TEST_PG_URL / TETHER_TEST_MYSQL_URL). A test that needs a server it cannot get
// fails; nothing is skipped. Used from test threads only.
#pragma once

#include <memory>
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

// A new empty database, dropped when the object dies.
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
  // The rows of a query, each as its values' text joined by '|' (NULL as "NULL").
  std::vector<std::string> Rows(const std::string& sql, const Row& params = {}) const;

 private:
  std::string engine_;
  std::string name_;
  std::string url_;
  std::unique_ptr<TempDir> dir_;  // SQLite only
};

}  // namespace tether::testing

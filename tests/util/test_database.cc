#include "util/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace tether::testing {
namespace {

std::string NewName() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "tt_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 100000);
}

std::unique_ptr<Connector> OpenOrFail(const std::string& name, const std::string& url) {
  auto c = OpenConnector(name, url);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return nullptr;
  return std::move(c).value();
}

}  // namespace

std::string ServerUrl(std::string_view engine) {
  const char* var = engine == "postgres" ? "TETHER_TEST_PG_URL" : "TETHER_TEST_MYSQL_URL";
  const char* url = std::getenv(var);
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << var << " is not set: this test needs a " << engine
                  << " server. Run the tests through scripts/test.sh, or start servers with "
                     "scripts/test-servers.sh start DIR and source DIR/env.";
    return "";
  }
  return url;
}

std::string WithDatabase(const std::string& url, const std::string& database) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string base = url.substr(0, std::min(slash, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + rest;
}

TestDatabase::TestDatabase(std::string engine) : engine_(std::move(engine)), name_(NewName()) {
  if (engine_ == "sqlite") {
    dir_ = std::make_unique<TempDir>();
    url_ = "sqlite:" + dir_->File(name_ + ".db") + "?create=1";
    return;
  }
  std::string admin = ServerUrl(engine_);
  if (admin.empty()) return;
  auto conn = OpenOrFail("test-admin", admin);
  if (!conn) return;
  std::string create = engine_ == "postgres"
                           ? "CREATE DATABASE " + name_ + " ENCODING 'UTF8' TEMPLATE template0"
                           : "CREATE DATABASE " + name_ + " CHARACTER SET utf8mb4";
  Status s = conn->ExecuteScript(create);
  if (!s.ok()) {
    ADD_FAILURE() << "creating test database: " << s.ToString();
    return;
  }
  url_ = WithDatabase(admin, name_);
}

TestDatabase::~TestDatabase() {
  if (engine_ == "sqlite" || url_.empty()) return;
  const char* var = engine_ == "postgres" ? "TETHER_TEST_PG_URL" : "TETHER_TEST_MYSQL_URL";
  auto conn = OpenConnector("test-admin", std::getenv(var));
  if (!conn.ok()) return;
  std::string drop = engine_ == "postgres" ? "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"
                                           : "DROP DATABASE IF EXISTS " + name_;
  (void)(*conn)->ExecuteScript(drop);
}

std::unique_ptr<Connector> TestDatabase::Open(const std::string& connection_name) const {
  if (url_.empty()) {
    ADD_FAILURE() << "no " << engine_ << " test database";
    return nullptr;
  }
  return OpenOrFail(connection_name, url_);
}

void TestDatabase::Exec(const std::string& sql) const {
  auto conn = Open();
  if (!conn) return;
  Status s = conn->ExecuteScript(sql);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\nin: " << sql;
}

std::vector<std::string> TestDatabase::Rows(const std::string& sql, const Row& params) const {
  std::vector<std::string> out;
  auto conn = Open();
  if (!conn) return out;
  auto rows = conn->Query(sql, params);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString() << "\nin: " << sql;
  if (!rows.ok()) return out;
  for (const Row& row : *rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) line += '|';
      line += row[i].ToText();
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace tether::testing

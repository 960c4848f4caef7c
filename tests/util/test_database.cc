#include "util/test_database.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string_view>

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

// PostgreSQL takes a few hundred milliseconds to create a database (it copies template0 through
// its write-ahead log) and most tests want two, so a PostgreSQL test database comes from a pool
// kept on the test server: slot N is database tt_pool_N, claimed by an exclusive lock on a file
// under the system temp dir (one folder per server), so the processes of a parallel test run
// never share one. A crashed process's lock goes with it. A claimed database is emptied first
// (every schema dropped, public made again as a new database has it), which takes a few
// milliseconds.
std::string PoolFolder(const std::string& admin_url) {
  size_t at = admin_url.rfind('@');
  size_t host = at == std::string::npos ? admin_url.find("://") + 3 : at + 1;
  std::string server = admin_url.substr(host, admin_url.find('/', host) - host);
  for (char& c : server) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  std::string dir = "/tmp/tether-test-pool-" + std::to_string(getuid());
  ::mkdir(dir.c_str(), 0700);
  dir += "/" + server;
  ::mkdir(dir.c_str(), 0700);
  return dir;
}

// The lowest free slot of the pool: its number and the descriptor that holds its lock.
std::pair<int, int> ClaimSlot(const std::string& admin_url) {
  std::string dir = PoolFolder(admin_url);
  for (int n = 0; n < 1000; ++n) {
    std::string file = dir + "/slot-" + std::to_string(n) + ".lock";
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) break;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return {n, fd};
    ::close(fd);
  }
  ADD_FAILURE() << "no free PostgreSQL test database slot under " << dir;
  return {-1, -1};
}

constexpr const char* kEmptyPostgresDatabase = R"(
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_backend_pid();
DO $$ DECLARE s name; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             AND nspname !~ '^pg_(toast_)?temp_' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
)";

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
  if (engine_ == "postgres") {
    ClaimPooled(admin);
    return;
  }
  auto conn = OpenOrFail("test-admin", admin);
  if (!conn) return;
  Status s = conn->ExecuteScript("CREATE DATABASE " + name_ + " CHARACTER SET utf8mb4");
  if (!s.ok()) {
    ADD_FAILURE() << "creating test database: " << s.ToString();
    return;
  }
  url_ = WithDatabase(admin, name_);
}

void TestDatabase::ClaimPooled(const std::string& admin) {
  auto [slot, fd] = ClaimSlot(admin);
  if (slot < 0) return;
  pool_lock_ = fd;
  name_ = "tt_pool_" + std::to_string(slot);
  std::string url = WithDatabase(admin, name_);
  auto conn = OpenConnector("test-pool", url);
  if (!conn.ok()) {  // the first claim of this slot on this server: make the database
    auto created = OpenOrFail("test-admin", admin);
    if (!created) return;
    Status s =
        created->ExecuteScript("CREATE DATABASE " + name_ + " ENCODING 'UTF8' TEMPLATE template0");
    if (!s.ok()) {
      ADD_FAILURE() << "creating test database: " << s.ToString();
      return;
    }
    conn = OpenConnector("test-pool", url);
  }
  if (!conn.ok()) {
    ADD_FAILURE() << "opening test database " << name_ << ": " << conn.status().ToString();
    return;
  }
  Status s = (*conn)->ExecuteScript(kEmptyPostgresDatabase);
  if (!s.ok()) {
    ADD_FAILURE() << "emptying test database " << name_ << ": " << s.ToString();
    return;
  }
  url_ = url;
}

TestDatabase::~TestDatabase() {
  kept_.reset();  // before the database is given back or dropped
  if (pool_lock_ >= 0) {
    ::close(pool_lock_);  // the database stays for the next claim, which empties it
    return;
  }
  if (engine_ == "sqlite" || url_.empty()) return;
  auto conn = OpenConnector("test-admin", std::getenv("TETHER_TEST_MYSQL_URL"));
  if (!conn.ok()) return;
  (void)(*conn)->ExecuteScript("DROP DATABASE IF EXISTS " + name_);
}

std::unique_ptr<Connector> TestDatabase::Open(const std::string& connection_name) const {
  if (url_.empty()) {
    ADD_FAILURE() << "no " << engine_ << " test database";
    return nullptr;
  }
  return OpenOrFail(connection_name, url_);
}

Status TestDatabase::WithConnection(const std::function<Status(Connector&)>& use) const {
  if (engine_ == "sqlite") {
    auto conn = Open();
    return conn ? use(*conn) : Status::Connection("no " + engine_ + " test database");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const bool reused = kept_ != nullptr;
  if (!kept_) kept_ = Open();
  if (!kept_) return Status::Connection("no " + engine_ + " test database");
  Status s = use(*kept_);
  if (s.ok()) return s;
  kept_.reset();
  if (!reused || s.code() != StatusCode::kConnection) return s;
  kept_ = Open();
  if (!kept_) return s;
  s = use(*kept_);
  if (!s.ok()) kept_.reset();
  return s;
}

void TestDatabase::Exec(const std::string& sql) const {
  Status s = WithConnection([&sql](Connector& c) { return c.ExecuteScript(sql); });
  EXPECT_TRUE(s.ok()) << s.ToString() << "\nin: " << sql;
}

Result<std::vector<Row>> TestDatabase::Query(const std::string& sql, const Row& params) const {
  std::vector<Row> rows;
  Status s = WithConnection([&](Connector& c) {
    auto got = c.Query(sql, params);
    if (!got.ok()) return got.status();
    rows = std::move(got).value();
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString() << "\nin: " << sql;
  if (!s.ok()) return s;
  return rows;
}

std::vector<std::string> TestDatabase::Rows(const std::string& sql, const Row& params) const {
  std::vector<std::string> out;
  auto rows = Query(sql, params);
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

namespace {

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Where the whole word (or words) `word` next occurs in `text` from `from`, ignoring ASCII case;
// npos when it does not. (Test SQL is rewritten for every statement, some of them 200 kB long:
// std::regex took seconds on those in the unoptimised test code.)
size_t FindWord(const std::string& text, std::string_view word, size_t from = 0) {
  for (size_t i = from; i + word.size() <= text.size(); ++i) {
    if (i > 0 && IsWordChar(text[i - 1])) continue;
    size_t k = 0;
    while (k < word.size() && std::toupper(static_cast<unsigned char>(text[i + k])) == word[k]) ++k;
    if (k == word.size() && (i + k == text.size() || !IsWordChar(text[i + k]))) return i;
  }
  return std::string::npos;
}

// `text` with every whole word `word` (upper case) replaced by `with`, ignoring case.
void ReplaceWord(std::string& text, std::string_view word, std::string_view with) {
  for (size_t at = FindWord(text, word); at != std::string::npos;
       at = FindWord(text, word, at + with.size())) {
    text.replace(at, word.size(), with);
  }
}

}  // namespace

std::string PortableSql(const std::string& engine, const std::string& sql) {
  if (engine == "sqlite") return sql;
  std::string out = sql;
  if (engine == "postgres") {
    ReplaceWord(out, "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    ReplaceWord(out, "REAL", "DOUBLE PRECISION");
    ReplaceWord(out, "BLOB", "BYTEA");
    ReplaceWord(out, "DATETIME", "TIMESTAMP");
    if (FindWord(out, "INSERT") != std::string::npos) {
      // Explicit ids do not move an identity's sequence; a real table's would be past them.
      // (From pg_catalog: information_schema.columns cost ten times as much.)
      out += R"(;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
             AND a.attidentity <> '' AND NOT a.attisdropped LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), '
                   'COALESCE((SELECT max(%I) FROM %I), 0) + 1, false)',
                   quote_ident(r.relname), r.attname, r.attname, r.relname);
  END LOOP;
END $$)";
    }
  } else {
    ReplaceWord(out, "INTEGER PRIMARY KEY", "BIGINT AUTO_INCREMENT PRIMARY KEY");
    // MariaDB enforces inline REFERENCES, and a foreign key's type must match its parent's.
    ReplaceWord(out, "INTEGER", "BIGINT");
    ReplaceWord(out, "REAL", "DOUBLE");
    ReplaceWord(out, "BLOB", "LONGBLOB");
    ReplaceWord(out, "TEXT", "VARCHAR(255)");
    // MySQL checks foreign keys row by row, not at the end of the statement as SQLite and
    // PostgreSQL do: test data that refers forward within one statement is written unchecked.
    // (Checks are turned on again after it: the session is kept for the test's next statement.)
    if (FindWord(out, "INSERT") != std::string::npos ||
        FindWord(out, "DELETE") != std::string::npos ||
        FindWord(out, "UPDATE") != std::string::npos) {
      while (!out.empty() &&
             (out.back() == ';' || std::isspace(static_cast<unsigned char>(out.back())))) {
        out.pop_back();
      }
      out = "SET foreign_key_checks = 0;" + out + ";\nSET foreign_key_checks = 1";
    }
  }
  return out;
}

namespace {

std::string PortableText(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      return "NULL";
    case ValueKind::kBool:
      return v.as_bool() ? "1" : "0";
    case ValueKind::kReal: {
      double d = v.as_real();
      char buf[64];
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.1f", d);
      } else {
        std::snprintf(buf, sizeof buf, "%.15g", d);
      }
      return buf;
    }
    case ValueKind::kDecimal: {
      std::string s = v.as_string();
      if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
      }
      return s;
    }
    case ValueKind::kBlob:
      return v.as_string();
    default:
      return v.ToText();
  }
}

}  // namespace

std::vector<std::string> PortableRows(const TestDatabase& db, const std::string& sql) {
  std::vector<std::string> out;
  auto rows = db.Query(sql);
  if (!rows.ok()) return out;
  for (const Row& row : *rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) line += '|';
      line += PortableText(row[i]);
    }
    out.push_back(std::move(line));
  }
  return out;
}

std::vector<std::string> TableNames(const TestDatabase& db) {
  std::string sql;
  if (db.engine() == "sqlite") {
    sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1";
  } else if (db.engine() == "postgres") {
    sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1";
  } else {
    sql =
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
        "ORDER BY 1";
  }
  return PortableRows(db, sql);
}

std::string Snapshot(const TestDatabase& db) {
  std::string out;
  const char quote = db.engine() == "mysql" ? '`' : '"';
  for (const std::string& table : TableNames(db)) {
    std::vector<std::string> rows =
        PortableRows(db, "SELECT * FROM " + std::string(1, quote) + table + quote);
    std::sort(rows.begin(), rows.end());
    out += "== " + table + "\n";
    for (const std::string& r : rows) out += r + "\n";
  }
  return out;
}

}  // namespace tether::testing

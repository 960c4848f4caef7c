// changes_bench: what change tracking costs the source and how far behind `tether sync --watch`
// keeps the target, per engine — PostgreSQL → PostgreSQL, MariaDB → MariaDB and SQLite → SQLite
// side by side in one run:
//  - trigger overhead: one connection writes single-row transactions (half INSERTs of a new row,
//    half UPDATEs of a random row) into a product table as fast as it can for a fixed time, on
//    a source without change tracking and on its twin with `tether track install` (the real
//    binary), the two taking turns so that the machine's other load falls on both alike;
//  - lag: a writer thread makes the same writes at a steady rate while the real
//    `tether sync --watch` runs as a child process into an empty target table of the same DDL; the
//    main thread reads the target every few milliseconds and notes when each write's row
//    version (`rev`) arrives there. Lag = first seen on the target − the source COMMIT returned.
//    At the end the watcher is stopped with SIGINT and the target compared with the source, row
//    by row and by a checksum.
// Prints figures; asserts no timing. Starts its own throwaway servers (scripts/test-servers.sh)
// unless given URLs; see bench/README.md for how to run it and read the tables.
#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "connectors/connector.h"
#include "core/value.h"

namespace {

using bench::CpuModel;
using bench::Die;
using bench::FirstLine;
using bench::g_run;
using bench::Measure;
using bench::MemTotal;
using bench::PrintTable;
using bench::Thousands;
using bench::Trim;
using bench::Wants;
using Clock = std::chrono::steady_clock;
using tether::Connector;
using tether::Row;
using tether::Value;

namespace fs = std::filesystem;

constexpr char kSourceDb[] = "tether_cbench_src";
constexpr char kPlainDb[] = "tether_cbench_plain";  // the untracked twin of the source
constexpr char kTargetDb[] = "tether_cbench_dst";
constexpr int64_t kPreloadRows = 10000;  // rows in the source before every measurement
constexpr int kPollMs = 15;              // the poller's pause between two reads of the target
constexpr size_t kMaxPolledIds = 500;    // ids per read of the target (the oldest unseen first)
constexpr int kDrainSeconds = 30;        // after the last write: how long unseen writes may take
constexpr int kCopySeconds = 120;        // the watcher's first pass (a whole copy) must end by then
constexpr int kStopSeconds = 30;         // SIGINT → exit of the watcher, else SIGKILL
constexpr uint64_t kSeed = 20240601;     // the same writes, in the same order, every run

// The same table on every engine: a key, a unique natural key, the usual product columns, and
// `rev`, the row's version: 1 when inserted, +1 at every update (what the poller looks for).
constexpr char kPgTable[] = R"sql(
CREATE TABLE product (
  id bigint PRIMARY KEY,
  sku varchar(32) NOT NULL,
  name varchar(100) NOT NULL,
  price numeric(12,2),
  qty integer,
  rev integer NOT NULL,
  updated_at timestamp
);
CREATE UNIQUE INDEX product_sku ON product (sku);
)sql";

constexpr char kMyTable[] = R"sql(
CREATE TABLE product (
  id BIGINT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL,
  name VARCHAR(100) NOT NULL,
  price DECIMAL(12,2),
  qty INT,
  rev INT NOT NULL,
  updated_at DATETIME(6),
  UNIQUE KEY product_sku (sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
)sql";

constexpr char kSqliteTable[] = R"sql(
CREATE TABLE product (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price DECIMAL(12,2),
  qty INTEGER,
  rev INTEGER NOT NULL,
  updated_at DATETIME
);
CREATE UNIQUE INDEX product_sku ON product (sku);
)sql";

constexpr char kColumns[] = "id, sku, name, price, qty, rev, updated_at";

// Besides these: --tether, --pg-url, --mysql-url, --dir, --servers-script (bench::ServerFlags).
struct Options : bench::ServerFlags {
  double seconds = 8;
  double rate = 200;
  std::string interval = "200ms";
  std::vector<std::string> only = {"pg", "mysql", "sqlite"};
};

// The `tether sync --watch` child: killed on every way out, with our servers and the folder.
std::atomic<pid_t>& g_watcher = g_run.child;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

template <typename T>
T Must(tether::Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.status().ToString());
  return std::move(r).value();
}

void Must(const tether::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

// One engine: how to reach it, create the bench databases and write the workload's SQL.
struct Engine {
  std::string key;        // pg | mysql | sqlite
  std::string name;       // PostgreSQL | MariaDB | SQLite
  std::string admin_url;  // servers: an administrator URL
  fs::path dir;           // SQLite: where the database files go

  bool sqlite() const { return key == "sqlite"; }

  // The URL of database `db`: the administrator URL with its database replaced, or a file.
  std::string Url(const std::string& db) const {
    if (sqlite()) return "sqlite:" + (dir / (db + ".db")).string() + "?create=1";
    size_t scheme_end = admin_url.find("://");
    if (scheme_end == std::string::npos) Die("not a server URL: " + tether::RedactUrl(admin_url));
    size_t path = admin_url.find('/', scheme_end + 3);
    size_t query = admin_url.find('?', scheme_end + 3);
    std::string base = admin_url.substr(0, std::min(path, query));
    return base + "/" + db + (query == std::string::npos ? "" : admin_url.substr(query));
  }

  std::unique_ptr<Connector> Open(const std::string& db) const {
    return Must(tether::OpenConnector(db.empty() ? "admin" : db, db.empty() ? admin_url : Url(db)),
                name + ": connecting");
  }

  // A fresh database `db` holding the empty product table (dropped first when it exists).
  void Fresh(const std::string& db) const {
    if (sqlite()) {
      for (const char* suffix : {".db", ".db-wal", ".db-shm", ".db-journal"}) {
        std::error_code ec;
        fs::remove(dir / (db + suffix), ec);
      }
      auto c = Open(db);
      // Readers and a writer at once, as an application would run SQLite: write-ahead log.
      Must(c->ExecuteScript("PRAGMA journal_mode=WAL"), name + ": WAL");
      Must(c->ExecuteScript(kSqliteTable), name + ": creating the table");
      return;
    }
    {
      auto admin = Open("");
      if (key == "pg") {
        Must(admin->ExecuteScript(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)),
             name + ": dropping " + db);
        Must(admin->ExecuteScript("CREATE DATABASE " + db), name + ": creating " + db);
      } else {
        Must(admin->ExecuteScript("DROP DATABASE IF EXISTS " + db), name + ": dropping " + db);
        Must(admin->ExecuteScript("CREATE DATABASE " + db +
                                  " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
             name + ": creating " + db);
      }
    }
    Must(Open(db)->ExecuteScript(key == "pg" ? kPgTable : kMyTable), name + ": creating the table");
  }

  void Drop(const std::string& db) const {
    if (sqlite()) return;  // the folder goes at the end
    auto admin = tether::OpenConnector("admin", admin_url);
    if (!admin.ok()) return;
    (void)(*admin)->ExecuteScript(key == "pg" ? fmt::format("DROP DATABASE {} WITH (FORCE)", db)
                                              : "DROP DATABASE " + db);
  }

  // kPreloadRows rows in database `db`, generated inside it with the same formulas everywhere.
  void Preload(const std::string& db) const {
    auto c = Open(db);
    std::string sql;
    if (key == "pg") {
      sql = fmt::format(
          "INSERT INTO product SELECT i, 'SKU-' || lpad(i::text, 8, '0'), 'Product ' || i, "
          "((i * 7919) % 1000000) / 100.0, (i * 31) % 1000, 1, "
          "timestamp '2024-01-01 00:00:00' + i * interval '1 second' "
          "FROM generate_series(1::bigint, {}) AS i",
          kPreloadRows);
    } else if (key == "mysql") {
      sql = fmt::format(
          "INSERT INTO product SELECT seq, CONCAT('SKU-', LPAD(seq, 8, '0')), "
          "CONCAT('Product ', seq), ((seq * 7919) % 1000000) / 100, (seq * 31) % 1000, 1, "
          "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_{}",
          kPreloadRows);
    } else {
      sql = fmt::format(
          "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {}) "
          "INSERT INTO product SELECT i, 'SKU-' || substr('0000000' || i, -8), 'Product ' || i, "
          "((i * 7919) % 1000000) / 100.0, (i * 31) % 1000, 1, "
          "datetime('2024-01-01 00:00:00', '+' || i || ' seconds') FROM s",
          kPreloadRows);
    }
    Must(c->ExecuteScript(sql), name + ": preloading the source");
    if (key == "pg") Must(c->ExecuteScript("VACUUM ANALYZE product"), name + ": VACUUM");
  }

  // The writer is an application, not tether: its changes must carry no origin.
  void ClearOrigin(Connector* c) const {
    if (key == "pg") Must(c->ExecuteScript("SET tether.origin = ''"), name + ": session");
    if (key == "mysql") Must(c->ExecuteScript("SET @tether_origin = NULL"), name + ": session");
    // SQLite: tether marks its writes only inside its own transactions (tether_session).
  }

  // Before a measurement: PostgreSQL writes out what earlier steps left dirty.
  void Settle() const {
    if (key != "pg") return;
    auto admin = tether::OpenConnector("admin", admin_url);
    if (admin.ok()) (void)(*admin)->ExecuteScript("CHECKPOINT");
  }

  std::string P(int n) const { return key == "pg" ? fmt::format("${}", n) : "?"; }

  std::string Now() const {
    if (key == "pg") return "localtimestamp";  // the session is UTC
    if (key == "mysql") return "UTC_TIMESTAMP(6)";
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')";
  }

  // A line for the header: version and the durability settings that bound a commit's cost.
  std::string Describe() const {
    auto c = Open(sqlite() ? std::string(kSourceDb) : std::string());
    auto one = [&](const std::string& sql) {
      auto r = c->Query(sql);
      return r.ok() && !r->empty() && !r->front().empty() ? r->front()[0].ToText()
                                                          : std::string("?");
    };
    if (key == "pg") {
      return fmt::format("PostgreSQL {} at {} (fsync={}, synchronous_commit={})",
                         one("SHOW server_version"), tether::RedactUrl(admin_url),
                         one("SHOW fsync"), one("SHOW synchronous_commit"));
    }
    if (key == "mysql") {
      return fmt::format("MariaDB {} at {} (innodb_flush_log_at_trx_commit={})",
                         one("SELECT VERSION()"), tether::RedactUrl(admin_url),
                         one("SELECT @@innodb_flush_log_at_trx_commit"));
    }
    return fmt::format(
        "SQLite {} (library linked into tether), files in {} (journal_mode={}, "
        "synchronous={})",
        one("SELECT sqlite_version()"), dir.string(), one("PRAGMA journal_mode"),
        one("PRAGMA synchronous"));
  }
};

// The writes: single-row autocommit transactions, half INSERTs of a new row and half UPDATEs of
// a random existing row (price, qty, updated_at, and rev + 1). One thread, one connection.
class Writer {
 public:
  Writer(const Engine& e, Connector* db) : db_(db), rng_(kSeed) {
    insert_ = fmt::format(
        "INSERT INTO product (id, sku, name, price, qty, rev, updated_at) VALUES ({}, {}, {}, {}, "
        "{}, 1, {})",
        e.P(1), e.P(2), e.P(3), e.P(4), e.P(5), e.Now());
    update_ = fmt::format(
        "UPDATE product SET price = {}, qty = {}, rev = {}, updated_at = {} "
        "WHERE id = {}",
        e.P(1), e.P(2), e.P(3), e.Now(), e.P(4));
    revs_.assign(static_cast<size_t>(kPreloadRows) + 1, 1);
  }

  // One transaction; *id and *rev say which row now has which version.
  tether::Status Step(int64_t* id, int64_t* rev) {
    const int64_t cents = static_cast<int64_t>(rng_() % 1000000);
    const Value price = Value::Decimal(fmt::format("{}.{:02}", cents / 100, cents % 100));
    const Value qty = Value::Int(static_cast<int64_t>(rng_() % 1000));
    if (rng_() % 2 == 0) {
      *id = static_cast<int64_t>(revs_.size());
      *rev = 1;
      auto r = db_->Query(insert_, {Value::Int(*id), Value::Text(fmt::format("SKU-{:08}", *id)),
                                    Value::Text(fmt::format("Product {} (new)", *id)), price, qty});
      if (!r.ok()) return r.status();
      revs_.push_back(1);
    } else {
      *id = 1 + static_cast<int64_t>(rng_() % (revs_.size() - 1));
      *rev = revs_[static_cast<size_t>(*id)] + 1;
      auto r = db_->Query(update_, {price, qty, Value::Int(*rev), Value::Int(*id)});
      if (!r.ok()) return r.status();
      revs_[static_cast<size_t>(*id)] = *rev;
    }
    return tether::Status::OK();
  }

 private:
  Connector* db_;
  std::mt19937_64 rng_;
  std::vector<int64_t> revs_;  // revs_[id]: the row's version now (index 0 unused)
  std::string insert_, update_;
};

std::string YamlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '$') out += '$';  // ${VAR} substitution: $$ is a literal $
    out += c;
  }
  return out + "\"";
}

void WriteConfig(const Engine& e, const fs::path& dir) {
  std::ofstream(dir / "tether.yaml") << bench::ProductConfig(
      YamlQuote(e.Url(kSourceDb)), YamlQuote(e.Url(kTargetDb)), "identity", 0);
}

std::string TrackInstall(const Options& opt, const fs::path& dir) {
  Measure m = bench::RunChild({opt.tether, "-c", "tether.yaml", "track", "install"}, dir);
  if (m.exit_code != 0) {
    return fmt::format("tether track install exited {}: {}", m.exit_code, Trim(m.err + m.out));
  }
  return "";
}

int64_t CountRows(Connector* c, const std::string& table) {
  auto r = c->Query("SELECT count(*) FROM " + table);
  if (!r.ok() || r->empty() || r->front().empty()) return -1;
  return r->front()[0].as_int();
}

// ---- trigger overhead -------------------------------------------------------------------

struct Throughput {
  int64_t ops = 0;
  double seconds = 0;
  int64_t changes = -1;  // rows in tether_changes afterwards (tracked run only)
  std::string error;
  double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// As many writes as one connection makes, in opt.seconds per variant: on a source without
// change tracking and on one with it, both fresh with kPreloadRows. The two take turns in
// kSliceSeconds slices (ABBA order), so that what else the machine does falls on both alike.
constexpr double kSliceSeconds = 0.5;

void MeasureWrites(const Engine& e, const Options& opt, const fs::path& dir, Throughput* without,
                   Throughput* with) {
  e.Fresh(kPlainDb);
  e.Preload(kPlainDb);
  e.Fresh(kSourceDb);
  e.Preload(kSourceDb);
  with->error = TrackInstall(opt, dir);
  if (!with->error.empty()) return;
  e.Settle();
  auto plain = e.Open(kPlainDb);
  auto tracked = e.Open(kSourceDb);
  e.ClearOrigin(plain.get());
  e.ClearOrigin(tracked.get());
  Writer plain_writer(e, plain.get()), tracked_writer(e, tracked.get());
  std::fprintf(stderr, "  %s: writes for 2 × %.0f s, without and with change tracking...\n",
               e.name.c_str(), opt.seconds);
  const int slices = std::max(1, static_cast<int>(std::lround(opt.seconds / kSliceSeconds)));
  const auto slice = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(opt.seconds / slices));
  for (int i = 0; i < 2 * slices; ++i) {
    const bool second = (i % 4 == 1 || i % 4 == 2);  // A B B A A B B A ...
    Throughput* t = second ? with : without;
    Writer& w = second ? tracked_writer : plain_writer;
    if (!t->error.empty()) continue;
    const auto start = Clock::now();
    const auto end = start + slice;
    while (Clock::now() < end) {
      int64_t id = 0, rev = 0;
      tether::Status s = w.Step(&id, &rev);
      if (!s.ok()) {
        t->error = "write failed: " + s.ToString();
        break;
      }
      ++t->ops;
    }
    t->seconds += Since(start);
  }
  with->changes = CountRows(tracked.get(), "tether_changes");
}

// ---- lag ---------------------------------------------------------------------------------

struct Op {
  int64_t id = 0, rev = 0;
  Clock::time_point committed;  // right after the source COMMIT returned
  Clock::time_point seen;       // the first read of the target that had rev (or later) for id
  bool done = false;
};

struct Lag {
  std::string error;  // why the measurement stopped; empty when it ran
  double copy_seconds = 0;
  int64_t ops = 0, seen = 0;
  double write_seconds = 0;
  std::vector<double> lag_ms;  // of the seen ops
  int poll_errors = 0;
  int watcher_exit = -1;  // 128 + signal when killed
  double watcher_cpu = 0;
  long watcher_rss_kb = 0;
  int64_t passes = -1;         // the watcher's passes: rows in the target's tether_runs
  double pass_every_ms = 0;    // from one pass's start to the next (the passes after the first)
  double run_ms = 0;           // median time inside a pass's run record (started_at..finished_at)
  int64_t changes = -1;        // rows in the source's tether_changes after the writes
  int64_t holes = -1;          // seq numbers missing between the first and the last of them
  int64_t canonical_only = 0;  // rows equal only once timestamps are compared by value
  int64_t source_rows = -1, target_rows = -1;
  uint64_t source_sum = 0, target_sum = 0;
  bool equal = false;
  std::string difference;  // the first row that differs
  std::string watcher_err;
};

// The watcher, its stdout and stderr in watch.out and watch.err of `cwd`.
pid_t StartWatcher(const std::vector<std::string>& argv, const fs::path& cwd) {
  std::fflush(nullptr);
  pid_t pid =
      bench::StartChild(argv, cwd, (cwd / "watch.out").string(), (cwd / "watch.err").string());
  if (pid < 0) Die("fork failed");
  return pid;
}

// Whether the watcher has exited on its own; then its status is in *lag.
bool WatcherExited(Lag* lag) {
  pid_t pid = g_watcher.load();
  if (pid <= 0) return true;
  int status = 0;
  struct rusage ru {};
  pid_t r = wait4(pid, &status, WNOHANG, &ru);
  if (r == 0) return false;
  g_watcher = 0;
  if (r == pid) {
    lag->watcher_exit = bench::ExitCode(status);
    lag->watcher_cpu = bench::CpuSeconds(ru);
    lag->watcher_rss_kb = ru.ru_maxrss;
  }
  return true;
}

// SIGINT, as Ctrl-C would; SIGKILL when it has not ended within kStopSeconds.
void StopWatcher(Lag* lag) {
  pid_t pid = g_watcher.load();
  if (pid <= 0) return;
  kill(pid, SIGINT);
  const auto start = Clock::now();
  while (!WatcherExited(lag)) {
    if (Since(start) > kStopSeconds) {
      kill(pid, SIGKILL);
      if (lag->error.empty()) lag->error = "the watcher did not stop on SIGINT (killed)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Every row of the product table in key order.
std::vector<Row> ReadAll(Connector* c, const std::string& what) {
  tether::ScanRequest req;
  req.table = "product";
  req.columns = {"id", "sku", "name", "price", "qty", "rev", "updated_at"};
  req.key_columns = {"id"};
  auto stream = Must(c->Scan(req), "reading " + what);
  std::vector<Row> rows;
  Row row;
  while (Must(stream->Next(&row), "reading " + what)) rows.push_back(row);
  return rows;
}

// The sum of a 64-bit hash of every row (tether::HashRow: kind-tagged, every column).
uint64_t Checksum(const std::vector<Row>& rows) {
  uint64_t sum = 0;
  for (const Row& r : rows) sum += std::stoull(tether::HashRow(r), nullptr, 16);
  return sum;
}

std::string RowText(const Row& r) {
  std::string s;
  for (const Value& v : r) s += (s.empty() ? "" : ", ") + v.ToText();
  return "(" + s + ")";
}

// "2024-01-01 12:00:01.250" -> "2024-01-01 12:00:01.25"; "…:01.000" -> "…:01".
std::string CanonicalFraction(std::string t) {
  size_t dot = t.rfind('.');
  if (dot == std::string::npos || t.find(':') == std::string::npos || dot < t.rfind(':')) return t;
  if (t.find_first_not_of("0123456789", dot + 1) != std::string::npos) return t;
  while (t.size() > dot + 1 && t.back() == '0') t.pop_back();
  if (t.size() == dot + 1) t.pop_back();
  return t;
}

std::vector<Row> Canonical(std::vector<Row> rows) {
  for (Row& r : rows) {
    if (!r[6].is_null()) r[6] = Value::Text(CanonicalFraction(r[6].ToText()));
  }
  return rows;
}

// Milliseconds since the epoch of a run record's time ("2024-06-01T12:00:00.123Z"); -1 if not.
double RunTimeMs(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) * 1000.0 + ms;
}

// The watcher's passes, from the run records it left in the target: how many, how often one
// started (after the first, which copied the table whole), and how long each spent in its run.
void PassTimes(Connector* target, Lag* lag) {
  auto rows = target->Query("SELECT started_at, finished_at FROM tether_runs ORDER BY started_at");
  if (!rows.ok()) return;
  lag->passes = static_cast<int64_t>(rows->size());
  std::vector<double> starts, runs;
  for (size_t i = 1; i < rows->size(); ++i) {
    double a = RunTimeMs((*rows)[i][0].ToText()), b = RunTimeMs((*rows)[i][1].ToText());
    if (a < 0) continue;
    starts.push_back(a);
    if (b >= a) runs.push_back(b - a);
  }
  if (starts.size() > 1) {
    lag->pass_every_ms = (starts.back() - starts.front()) / static_cast<double>(starts.size() - 1);
  }
  std::sort(runs.begin(), runs.end());
  if (!runs.empty()) lag->run_ms = runs[runs.size() / 2];
}

// Reads the target's (id, rev) of the oldest unseen ops and marks those that have arrived.
// Returns false when the read failed.
bool Poll(Connector* target, std::vector<Op>& ops, size_t published, size_t* first_unseen) {
  std::vector<int64_t> ids;
  for (size_t i = *first_unseen; i < published && ids.size() < kMaxPolledIds; ++i) {
    if (!ops[i].done && std::find(ids.begin(), ids.end(), ops[i].id) == ids.end()) {
      ids.push_back(ops[i].id);
    }
  }
  if (ids.empty()) return true;
  std::string list;
  for (int64_t id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
  auto rows = target->Query("SELECT id, rev FROM product WHERE id IN (" + list + ")");
  const auto now = Clock::now();
  if (!rows.ok()) return false;
  std::map<int64_t, int64_t> revs;
  for (const Row& r : *rows) revs[r[0].as_int()] = r[1].as_int();
  for (size_t i = *first_unseen; i < published; ++i) {
    Op& op = ops[i];
    if (op.done) continue;
    auto it = revs.find(op.id);
    if (it != revs.end() && it->second >= op.rev) {
      op.done = true;
      op.seen = now;
    }
  }
  while (*first_unseen < published && ops[*first_unseen].done) ++*first_unseen;
  return true;
}

Lag MeasureLag(const Engine& e, const Options& opt, const fs::path& dir) {
  Lag lag;
  e.Fresh(kSourceDb);
  e.Preload(kSourceDb);
  e.Fresh(kTargetDb);
  lag.error = TrackInstall(opt, dir);
  if (!lag.error.empty()) return lag;
  e.Settle();
  auto target = e.Open(kTargetDb);

  std::fprintf(stderr, "  %s: tether sync --watch --interval %s, writes at %.0f/s for %.0f s...\n",
               e.name.c_str(), opt.interval.c_str(), opt.rate, opt.seconds);
  const auto watch_start = Clock::now();
  g_watcher = StartWatcher(
      {opt.tether, "-c", "tether.yaml", "sync", "--watch", "--interval", opt.interval}, dir);

  // The first pass copies the preloaded rows whole; the writes start after it.
  for (;;) {
    if (CountRows(target.get(), "product") == kPreloadRows) break;
    if (WatcherExited(&lag)) {
      lag.error = fmt::format("the watcher exited {} before its first copy", lag.watcher_exit);
      break;
    }
    if (Since(watch_start) > kCopySeconds) {
      lag.error = fmt::format("the watcher's first copy took more than {} s", kCopySeconds);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  lag.copy_seconds = Since(watch_start);

  std::vector<Op> ops(static_cast<size_t>(std::ceil(opt.rate * opt.seconds)) + 16);
  std::atomic<size_t> published{0};
  std::atomic<bool> writer_done{false};
  std::string writer_error;
  std::thread writer;
  Clock::time_point writes_end{};
  if (lag.error.empty()) {
    writer = std::thread([&] {
      auto db = tether::OpenConnector("src", e.Url(kSourceDb));
      if (!db.ok()) {
        writer_error = db.status().ToString();
        writer_done = true;
        return;
      }
      e.ClearOrigin(db->get());
      Writer w(e, db->get());
      const auto start = Clock::now();
      for (size_t i = 0; i < ops.size(); ++i) {
        const double at = static_cast<double>(i) / opt.rate;
        if (at >= opt.seconds) break;
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at)));
        Op& op = ops[i];
        tether::Status s = w.Step(&op.id, &op.rev);
        op.committed = Clock::now();
        if (!s.ok()) {
          writer_error = s.ToString();
          break;
        }
        published.store(i + 1, std::memory_order_release);
      }
      lag.write_seconds = Since(start);
      writer_done = true;
    });

    size_t first_unseen = 0;
    for (;;) {
      const bool done = writer_done.load();  // read before published: no write is missed
      const size_t n = published.load(std::memory_order_acquire);
      if (done && writes_end == Clock::time_point{}) writes_end = Clock::now();
      if (!Poll(target.get(), ops, n, &first_unseen)) ++lag.poll_errors;
      if (done && first_unseen == n) break;
      if (done && Since(writes_end) > kDrainSeconds) break;
      if (lag.poll_errors > 100) {
        lag.error = "the target cannot be read";
        break;
      }
      if (WatcherExited(&lag)) {
        lag.error = fmt::format("the watcher exited {} during the writes", lag.watcher_exit);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    }
    writer.join();
    if (!writer_error.empty() && lag.error.empty()) lag.error = "write failed: " + writer_error;
  }

  StopWatcher(&lag);
  lag.watcher_err = Trim(bench::Slurp((dir / "watch.err").string()));
  if (lag.watcher_exit != 0 && lag.watcher_exit != 130 && lag.error.empty()) {
    lag.error = fmt::format("the watcher exited {}", lag.watcher_exit);
  }

  lag.ops = static_cast<int64_t>(published.load());
  for (int64_t i = 0; i < lag.ops; ++i) {
    const Op& op = ops[static_cast<size_t>(i)];
    if (!op.done) continue;
    ++lag.seen;
    lag.lag_ms.push_back(std::chrono::duration<double, std::milli>(op.seen - op.committed).count());
  }
  std::sort(lag.lag_ms.begin(), lag.lag_ms.end());
  PassTimes(target.get(), &lag);

  // The target must now hold exactly the source's rows.
  auto source = e.Open(kSourceDb);
  // A hole in the change sequence holds the watcher's checkpoint back for 10 s (README, Change
  // tracking): were there any?
  if (auto r = source->Query("SELECT count(*), min(seq), max(seq) FROM tether_changes");
      r.ok() && !r->empty() && r->front().size() == 3 && !r->front()[1].is_null()) {
    const Row& c = r->front();
    lag.changes = c[0].as_int();
    lag.holes = c[2].as_int() - c[1].as_int() + 1 - c[0].as_int();
  }
  std::vector<Row> want = ReadAll(source.get(), "the source");
  std::vector<Row> got = ReadAll(target.get(), "the target");
  if (e.sqlite()) {
    // SQLite keeps a timestamp as the text it was given; tether writes the canonical form
    // (docs/TYPES.md: no trailing zeros in the fraction), so 12:00:01.250 arrives as
    // 12:00:01.25. Compared by value, as tether compares; the rows whose text differs are counted.
    for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
      lag.canonical_only += want[i] != got[i];
    }
    want = Canonical(std::move(want));
    got = Canonical(std::move(got));
  }
  lag.source_rows = static_cast<int64_t>(want.size());
  lag.target_rows = static_cast<int64_t>(got.size());
  lag.source_sum = Checksum(want);
  lag.target_sum = Checksum(got);
  lag.equal = want == got;
  if (!lag.equal) {
    for (size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
      if (i < want.size() && i < got.size() && want[i] == got[i]) continue;
      lag.difference = fmt::format("row {}: source {} / target {}", i + 1,
                                   i < want.size() ? RowText(want[i]) : "none",
                                   i < got.size() ? RowText(got[i]) : "none");
      break;
    }
  }
  return lag;
}

// ---- output ------------------------------------------------------------------------------

std::string Ms(double ms) { return fmt::format("{:.1f}", ms); }

// Nearest rank: the smallest value with at least p of the values at or below it.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

void Usage() {
  std::printf(
      "usage: changes_bench [--seconds S] [--rate N] [--interval D] [--only pg,mysql,sqlite]\n"
      "                     [--tether PATH] [--pg-url URL] [--mysql-url URL] [--dir DIR]\n"
      "                     [--servers-script PATH]\n"
      "  --seconds         how long each measurement writes (default 8)\n"
      "  --rate            writes per second during the lag measurement (default 200)\n"
      "  --interval        the watcher's --interval (default 200ms)\n"
      "  --only            engines to measure: pg (PostgreSQL → PostgreSQL), mysql (MariaDB →\n"
      "                    MariaDB), sqlite (SQLite → SQLite); default all three\n"
      "  --tether          the tether binary (default $TETHER_BINARY, else ./tether beside this\n"
      "                    program)\n"
      "  --pg-url          an administrator URL of a PostgreSQL server to use (default\n"
      "                    $TETHER_TEST_PG_URL, else a throwaway server started for the run)\n"
      "  --mysql-url       the same for MySQL/MariaDB ($TETHER_TEST_MYSQL_URL)\n"
      "  --dir             where to put the temporary folder (default: the system temp dir)\n"
      "  --servers-script  scripts/test-servers.sh (default: found from the source tree)\n");
}

double PositiveNumber(const std::string& flag, const std::string& text, double max) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || !end || *end || !(v > 0) || v > max) {
    Die(fmt::format("{}: expected a number above 0 and at most {}: {}", flag, max, text));
  }
  return v;
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  bench::ParseFlags(argc, argv, Usage, Die, [&](const std::string& a, auto& value) {
    if (opt.ParseServerFlag(a, value)) return true;
    if (a == "--seconds") {
      opt.seconds = PositiveNumber(a, value(), 3600);
    } else if (a == "--rate") {
      opt.rate = PositiveNumber(a, value(), 100000);
    } else if (a == "--interval") {
      opt.interval = value();
    } else if (a == "--only") {
      opt.only = bench::ParseOnly(value(), {"pg", "mysql", "sqlite"});
      if (opt.only.empty()) Die("--only: pg, mysql or sqlite");
    } else {
      return false;
    }
    return true;
  });
  if (opt.rate * opt.seconds > 10000000) Die("--rate × --seconds: at most 10M writes");
  if (std::string error = opt.FindPrograms(argv[0]); !error.empty()) Die(error);
  return opt;
}

struct EngineResult {
  const Engine* engine;
  Throughput without, with;
  Lag lag;
};

}  // namespace

int main(int argc, char** argv) {
  g_run.program = "changes_bench";
  Options opt = ParseArgs(argc, argv);
  const std::string load = LoadAverage();
  if (std::string error = g_run.Create(opt.dir, "tether-changes-bench-"); !error.empty()) {
    Die(error);
  }
  const fs::path dir = g_run.dir;

  const bool need_pg = Wants(opt.only, "pg");
  const bool need_my = Wants(opt.only, "mysql");
  if (std::string error = g_run.StartServersIfNeeded(opt.script, need_pg ? &opt.pg_url : nullptr,
                                                     need_my ? &opt.mysql_url : nullptr);
      !error.empty()) {
    Die(error);
  }

  std::vector<Engine> engines;
  if (need_pg) engines.push_back({"pg", "PostgreSQL", opt.pg_url, dir});
  if (need_my) engines.push_back({"mysql", "MariaDB", opt.mysql_url, dir});
  if (Wants(opt.only, "sqlite")) engines.push_back({"sqlite", "SQLite", "", dir});

  std::vector<EngineResult> results;
  std::vector<std::string> described;
  for (const Engine& e : engines) {
    fs::path work = dir / e.key;
    fs::create_directories(work);
    Engine here = e;
    here.dir = work;  // SQLite files beside the engine's tether.yaml
    EngineResult r{&e, {}, {}, {}};
    here.Fresh(kTargetDb);
    WriteConfig(here, work);
    MeasureWrites(here, opt, work, &r.without, &r.with);
    r.lag = MeasureLag(here, opt, work);
    described.push_back(here.Describe());
    here.Drop(kPlainDb);
    here.Drop(kSourceDb);
    here.Drop(kTargetDb);
    results.push_back(std::move(r));
  }

  Measure version = bench::RunChild({opt.tether, "--version"}, dir);
  std::printf("machine: %ld CPUs (nproc), %s, %s RAM; load average %s at the start\n",
              sysconf(_SC_NPROCESSORS_ONLN), CpuModel().c_str(), MemTotal().c_str(), load.c_str());
  for (const std::string& d : described) {
    std::printf("%s%s\n", d.c_str(),
                g_run.servers_started && d.rfind("SQLite", 0) != 0
                    ? " (throwaway, started for this run)"
                    : "");
  }
  std::printf("tether: %s (%s)\n", opt.tether.c_str(), FirstLine(Trim(version.out)).c_str());
  std::printf(
      "workload: product (id, sku, name, price numeric(12,2), qty, rev, updated_at), %s rows "
      "preloaded; single-row autocommit transactions from one connection, 50%% INSERT of a new "
      "row / 50%% UPDATE of a random row (price, qty, rev + 1, updated_at)\n\n",
      Thousands(kPreloadRows).c_str());

  std::printf(
      "trigger overhead: writes as fast as one connection goes, %.0f s on a source without and "
      "%.0f s on its twin with `tether track install`, taking turns every %.2f s\n",
      opt.seconds, opt.seconds,
      opt.seconds / std::max(1.0, std::round(opt.seconds / kSliceSeconds)));
  std::vector<std::vector<std::string>> t1 = {
      {"source", "without: ops/s", "ops", "with: ops/s", "ops", "changes logged", "with/without"}};
  for (const EngineResult& r : results) {
    std::vector<std::string> row = {r.engine->name};
    for (const Throughput* t : {&r.without, &r.with}) {
      if (!t->error.empty()) {
        row.insert(row.end(), {"FAILED", "-"});
      } else {
        row.insert(row.end(), {Thousands(static_cast<int64_t>(t->rate())), Thousands(t->ops)});
      }
    }
    row.push_back(r.with.changes >= 0 ? Thousands(r.with.changes) : "-");
    row.push_back(r.without.error.empty() && r.with.error.empty() && r.without.rate() > 0
                      ? fmt::format("{:.2f}", r.with.rate() / r.without.rate())
                      : "-");
    t1.push_back(row);
  }
  PrintTable(t1, {1, 3, 6}, {0});

  std::printf(
      "\nlag: writes at %.0f/s for %.0f s while `tether sync --watch --interval %s` runs; "
      "the target is read every %d ms\n",
      opt.rate, opt.seconds, opt.interval.c_str(), kPollMs);
  std::vector<std::vector<std::string>> t2 = {
      {"sync", "writes", "writes/s", "seen", "never", "median ms", "p99 ms", "max ms"}};
  std::vector<std::vector<std::string>> t3 = {{"sync", "first copy s", "passes", "pass every ms",
                                               "in run ms", "CPU s", "exit", "changes", "seq holes",
                                               "source rows", "target rows", "checksum"}};
  for (const EngineResult& r : results) {
    const Lag& l = r.lag;
    const std::string path = r.engine->name + " → " + r.engine->name;
    std::vector<std::string> row = {
        path, Thousands(l.ops),
        l.write_seconds > 0 ? fmt::format("{:.1f}", static_cast<double>(l.ops) / l.write_seconds)
                            : "-",
        Thousands(l.seen), Thousands(l.ops - l.seen)};
    if (l.lag_ms.empty()) {
      row.insert(row.end(), {"-", "-", "-"});
    } else {
      row.insert(row.end(), {Ms(Percentile(l.lag_ms, 0.5)), Ms(Percentile(l.lag_ms, 0.99)),
                             Ms(l.lag_ms.back())});
    }
    t2.push_back(row);
    t3.push_back(
        {path, fmt::format("{:.2f}", l.copy_seconds), l.passes >= 0 ? Thousands(l.passes) : "-",
         l.pass_every_ms > 0 ? fmt::format("{:.0f}", l.pass_every_ms) : "-",
         l.run_ms > 0 ? fmt::format("{:.0f}", l.run_ms) : "-", fmt::format("{:.2f}", l.watcher_cpu),
         l.watcher_exit >= 0 ? std::to_string(l.watcher_exit) : "-",
         l.changes >= 0 ? Thousands(l.changes) : "-", l.holes >= 0 ? Thousands(l.holes) : "-",
         Thousands(l.source_rows), Thousands(l.target_rows), l.equal ? "equal" : "DIFFERENT"});
  }
  PrintTable(t2, {1, 5}, {0});
  std::printf(
      "\nthe watcher (its run records in the target, its rusage) and the target after SIGINT\n");
  PrintTable(t3, {1, 7, 9}, {0, 11});

  std::printf("\n");
  bool failed = false;
  for (const EngineResult& r : results) {
    const Lag& l = r.lag;
    std::printf("%s: source %s rows, checksum %016llx; target %s rows, checksum %016llx%s\n",
                r.engine->name.c_str(), Thousands(l.source_rows).c_str(),
                static_cast<unsigned long long>(l.source_sum), Thousands(l.target_rows).c_str(),
                static_cast<unsigned long long>(l.target_sum), l.equal ? "" : " — DIFFERENT");
    if (!l.difference.empty()) std::printf("  first difference: %s\n", l.difference.c_str());
    if (l.canonical_only > 0) {
      std::printf(
          "  %s rows equal by value but not as text: the source's updated_at has trailing "
          "zeros in its fraction, tether wrote the canonical form (docs/TYPES.md)\n",
          Thousands(l.canonical_only).c_str());
    }
    for (const auto& [what, t] :
         {std::pair{"without tracking", &r.without}, std::pair{"with tracking", &r.with}}) {
      if (!t->error.empty()) std::printf("  writes %s: FAILED: %s\n", what, t->error.c_str());
    }
    if (r.with.error.empty() && r.with.changes != r.with.ops) {
      std::printf("  note: %s writes logged %s changes\n", Thousands(r.with.ops).c_str(),
                  Thousands(r.with.changes).c_str());
    }
    if (!l.error.empty()) std::printf("  lag: FAILED: %s\n", l.error.c_str());
    if (l.poll_errors > 0) std::printf("  lag: %d reads of the target failed\n", l.poll_errors);
    if (!l.error.empty() || (l.watcher_exit != 0 && l.watcher_exit != 130)) {
      std::printf("  watcher stderr: %s\n", FirstLine(l.watcher_err).c_str());
    }
    failed =
        failed || !r.without.error.empty() || !r.with.error.empty() || !l.error.empty() || !l.equal;
  }
  g_run.Cleanup();
  return failed ? 1 : 0;
}
